namespace Custodian.Storage;

/// <summary>
/// A feature that works on the embedded SQLite file only (<c>backup</c> and <c>restore</c>, which copy the file; the SQLite
/// ledger writer itself) was asked for on PostgreSQL. One-line message; the CLI exits with code 2. docs/storage.md lists
/// these features and says what to use instead.
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
        new($"{feature} needs the embedded SQLite storage; it is not available on PostgreSQL (docs/storage.md).");

    /// <summary>
    /// The refusal of <c>backup</c> and <c>restore</c> on PostgreSQL, naming what to use instead: the database is backed up
    /// and restored with PostgreSQL's own tools (continuous archiving and point-in-time recovery with
    /// <c>pg_basebackup</c>, PostgreSQL documentation §25.3; or <c>pg_dump</c>/<c>pg_restore</c>), the data directory's
    /// keys, CA and signing key with a file backup.
    /// </summary>
    /// <param name="verb">The verb refused: <c>backup</c> or <c>restore</c>.</param>
    /// <returns>The exception.</returns>
    public static StorageFeatureUnavailableException BackupOnPostgres(string verb) =>
        new($"{verb} copies the embedded SQLite database; on PostgreSQL back up and restore the database with PostgreSQL's tools (pg_basebackup with WAL archiving, or pg_dump) and the data directory (keys, CA, signing key) with a file backup (docs/storage.md).");
}
