namespace Custodian.Protection.Keys;

/// <summary>
/// A column outside the <c>subscribers</c> table that holds <see cref="FieldCipher"/> ciphertexts under the keyring's data
/// keys, so that key rotation (<c>KeyRotation</c>) re-encrypts its rows under the current data key and never retires a
/// data key one of its rows still uses. Registered in the service container; every registered column must exist in the
/// database the rotation runs on.
/// </summary>
/// <param name="Table">The table, e.g. <c>sms_outbox</c> (an SQL identifier, written into the rotation's queries as is).</param>
/// <param name="KeyColumn">The row's primary-key column (text), e.g. <c>id</c>.</param>
/// <param name="SubscriberColumn">The column with the subscriber id bound into each ciphertext's associated data.</param>
/// <param name="CiphertextColumn">The ciphertext column (<c>BLOB</c>, never null).</param>
/// <param name="FieldName">The field name bound into a row's ciphertext, given the row's key (1–64 ASCII characters).</param>
public sealed record SealedColumn(string Table, string KeyColumn, string SubscriberColumn, string CiphertextColumn, Func<string, string> FieldName);
