using System.Buffers;
using Custodian.Identity;

namespace Custodian.Protection.Keys;

/// <summary>
/// Encryption at rest of the bodies of the embedded SMS outbox (table <c>sms_outbox</c>, column <c>body_ct</c>), which
/// hold one-time consent and portal sign-in codes. The same mechanism as the personal fields: <see cref="FieldCipher"/>
/// (AES-256-GCM under the keyring's current data key, format 1, 33 bytes of overhead), with the recipient's subscriber id
/// and the field name <c>sms_outbox.body:</c> followed by the message id as associated data, so a body copied into
/// another outbox row (another id or another recipient) fails to decrypt. Key rotation re-encrypts the bodies and keeps
/// their keys (<see cref="Column"/>). Thread-safe.
/// </summary>
public sealed class SmsBodyCipher
{
    /// <summary>The field-name prefix bound into every body's associated data; the message id follows it.</summary>
    public const string FieldPrefix = "sms_outbox.body:";

    /// <summary>Longest message id, in ASCII characters (a field name is at most <see cref="FieldCipher.MaxFieldNameLength"/>).</summary>
    public const int MaxMessageIdLength = FieldCipher.MaxFieldNameLength - 16;

    private static readonly SearchValues<char> IdCharacters = SearchValues.Create("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_");

    private readonly FieldCipher _cipher;

    /// <summary>Creates the cipher over <paramref name="keys"/>.</summary>
    /// <param name="keys">The deployment's protection keyring.</param>
    public SmsBodyCipher(ProtectionKeyring keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _cipher = new FieldCipher(keys);
    }

    /// <summary>The outbox's ciphertext column, for key rotation.</summary>
    public static SealedColumn Column { get; } = new("sms_outbox", "id", "subscriber_id", "body_ct", FieldName);

    /// <summary>The field name bound into the body of message <paramref name="messageId"/>.</summary>
    /// <param name="messageId">The outbox row's id: 1–48 characters of <c>[0-9A-Za-z_-]</c>.</param>
    /// <returns><see cref="FieldPrefix"/> followed by the id.</returns>
    /// <exception cref="ArgumentException">When the id is empty, too long or has another character.</exception>
    public static string FieldName(string messageId)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        if (messageId.Length > MaxMessageIdLength || messageId.AsSpan().ContainsAnyExcept(IdCharacters))
        {
            throw new ArgumentException($"An outbox message id is 1-{MaxMessageIdLength} characters of [0-9A-Za-z_-].", nameof(messageId));
        }

        return FieldPrefix + messageId;
    }

    /// <summary>Encrypts the body of one outbox message under the current data key.</summary>
    /// <param name="recipient">The subscriber the message is for (bound as associated data).</param>
    /// <param name="messageId">The outbox row's id (bound as associated data; see <see cref="FieldName"/>).</param>
    /// <param name="body">The text (UTF-8 inside the ciphertext).</param>
    /// <returns>The ciphertext, its UTF-8 length plus <see cref="FieldCipher.Overhead"/> bytes.</returns>
    /// <exception cref="ArgumentException">When <paramref name="messageId"/> is not a valid id.</exception>
    public byte[] Seal(SubscriberId recipient, string messageId, string body) => _cipher.EncryptString(recipient, FieldName(messageId), body);

    /// <summary>Decrypts the body of one outbox message. Only the outbox reader calls this.</summary>
    /// <param name="recipient">The subscriber the row names.</param>
    /// <param name="messageId">The row's id.</param>
    /// <param name="ciphertext">The row's <c>body_ct</c>.</param>
    /// <returns>The text.</returns>
    /// <exception cref="System.Security.Cryptography.CryptographicException">When the ciphertext was altered, belongs to another row
    /// (another id or recipient), or names a data key the keyring does not hold.</exception>
    public string Open(SubscriberId recipient, string messageId, ReadOnlySpan<byte> ciphertext) => _cipher.DecryptString(recipient, FieldName(messageId), ciphertext);
}
