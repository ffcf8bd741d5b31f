namespace Custodian.Storage;

/// <summary>
/// A feature that works on the embedded SQLite file only (ledger retention, ledger verification, snapshot backup and the
/// storage audit read or write the file directly) was asked for on PostgreSQL. One-line message; the CLI exits with
/// code 2. docs/storage.md lists these features.
/// </summary>
public sealed class StorageFeatureUnavailableException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line.</param>
    public StorageFeatureUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public StorageFeatureUnavailableException()
        : base("This feature needs the embedded SQLite storage.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line.</param>
    /// <param name="innerException">The cause.</param>
    public StorageFeatureUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The exception for <paramref name="feature"/>.</summary>
    /// <param name="feature">What was asked for, e.g. <c>ledger verification</c>.</param>
    /// <returns>The exception.</returns>
    public static StorageFeatureUnavailableException For(string feature) =>
        new($"{feature} needs the embedded SQLite storage; it is not available on PostgreSQL yet (docs/storage.md).");

    /// <summary>Throws <see cref="For"/> unless <paramref name="db"/> is the SQLite file.</summary>
    /// <param name="db">The database.</param>
    /// <param name="feature">What was asked for.</param>
    /// <exception cref="StorageFeatureUnavailableException">On PostgreSQL.</exception>
    public static void ThrowUnlessSqlite(CustodianDatabase db, string feature)
    {
        ArgumentNullException.ThrowIfNull(db);
        if (!db.IsSqlite)
        {
            throw For(feature);
        }
    }
}
