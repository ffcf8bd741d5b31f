namespace Custodian.Protection.Subscribers;

/// <summary>
/// Names of the encrypted subscriber fields. Each is bound into its ciphertext's associated data
/// (see <see cref="Keys.FieldCipher"/>) and names the field in validation errors and import reports.
/// Values never change: changing one would make stored ciphertexts undecryptable.
/// </summary>
public static class SubscriberFields
{
    /// <summary>Full name (column <c>name_ct</c>).</summary>
    public const string Name = "name";

    /// <summary>Resident registration number (column <c>rrn_ct</c>, index <c>rrn_index</c>).</summary>
    public const string Rrn = "rrn";

    /// <summary>Phone number, E.164 (column <c>phone_ct</c>, index <c>phone_index</c>).</summary>
    public const string Phone = "phone";

    /// <summary>Postal address (column <c>address_ct</c>).</summary>
    public const string Address = "address";
}
