using Custodian.Problems;
using Npgsql;

namespace Custodian.Storage;

/// <summary>
/// The storage backend chosen by the one configuration value <c>Custodian:Storage</c> (environment
/// <c>Custodian__Storage</c>, or the file named by <c>Custodian__StorageFile</c>, or <c>custodian serve --storage</c>;
/// docs/storage.md):
/// <list type="bullet">
/// <item><c>sqlite</c> (the default, also when empty): the embedded SQLite file <c>custodian.db</c> in the data directory;</item>
/// <item>a URL <c>postgres://user:password@host:port/database?sslmode=require</c> (or <c>postgresql://</c>; port 5432 by
/// default; percent-encoded user and password; query keys are Npgsql connection-string keywords);</item>
/// <item>an Npgsql connection string, e.g. <c>Host=db1;Port=5432;Username=custodian;Password=…;Database=custodian</c>.</item>
/// </list>
/// Immutable. The connection string may hold a password: <see cref="ToString"/> and <see cref="Describe"/> never show it.
/// </summary>
public sealed class StorageSettings
{
    /// <summary>Error code when <c>Custodian:Storage</c> cannot be parsed.</summary>
    public const string InvalidSetting = "storage-setting-invalid";

    private StorageSettings(StorageDialect dialect, string? connectionString)
    {
        Dialect = dialect;
        ConnectionString = connectionString;
    }

    /// <summary>The embedded default (SQLite in the data directory).</summary>
    public static StorageSettings Sqlite { get; } = new(StorageDialect.Sqlite, null);

    /// <summary>The backend's dialect.</summary>
    public StorageDialect Dialect { get; }

    /// <summary>True for the embedded SQLite default.</summary>
    public bool IsSqlite => ReferenceEquals(Dialect, StorageDialect.Sqlite);

    /// <summary>The Npgsql connection string (PostgreSQL only; null for SQLite). Holds the password: never log it.</summary>
    public string? ConnectionString { get; }

    /// <summary>
    /// Parses the configuration value.
    /// </summary>
    /// <param name="value">The value; null, empty or <c>sqlite</c> (any case) selects the embedded default.</param>
    /// <returns>The settings, or <see cref="InvalidSetting"/> naming the rule broken (the value itself is never echoed: it may hold a password).</returns>
    public static Result<StorageSettings> Parse(string? value)
    {
        var text = value?.Trim();
        if (string.IsNullOrEmpty(text) || string.Equals(text, "sqlite", StringComparison.OrdinalIgnoreCase))
        {
            return Sqlite;
        }

        if (text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            return FromUrl(text);
        }

        if (!text.Contains('=', StringComparison.Ordinal))
        {
            return Invalid("Custodian:Storage must be 'sqlite', a postgres:// URL or an Npgsql connection string (Host=…;Database=…).");
        }

        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(text);
        }
        catch (ArgumentException)
        {
            return Invalid("Custodian:Storage is not a valid Npgsql connection string (an unknown keyword or a malformed value).");
        }

        return Complete(builder);
    }

    /// <summary>The backend and where it is, without credentials: <c>sqlite</c> or <c>postgres host:port/database as user</c>.</summary>
    public string Describe()
    {
        if (ConnectionString is null)
        {
            return Dialect.Backend;
        }

        var b = new NpgsqlConnectionStringBuilder(ConnectionString);
        return $"{Dialect.Backend} {b.Host}:{b.Port}/{b.Database} as {b.Username}";
    }

    /// <inheritdoc />
    public override string ToString() => Describe();

    private static Result<StorageSettings> FromUrl(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            return Invalid("Custodian:Storage is not a valid postgres:// URL (postgres://user:password@host:port/database).");
        }

        var builder = new NpgsqlConnectionStringBuilder { Host = uri.Host, Port = uri.IsDefaultPort || uri.Port < 0 ? 5432 : uri.Port };
        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length > 0)
        {
            builder.Database = database;
        }

        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            }
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                return Invalid("Custodian:Storage has a URL query part that is not key=value.");
            }

            try
            {
                builder[Uri.UnescapeDataString(pair[..eq])] = Uri.UnescapeDataString(pair[(eq + 1)..]);
            }
            catch (ArgumentException)
            {
                return Invalid("Custodian:Storage has a URL query key that is not an Npgsql connection-string keyword, or a bad value for one.");
            }
        }

        return Complete(builder);
    }

    private static Result<StorageSettings> Complete(NpgsqlConnectionStringBuilder builder)
    {
        if (string.IsNullOrEmpty(builder.Host))
        {
            return Invalid("Custodian:Storage names no PostgreSQL host.");
        }

        if (string.IsNullOrEmpty(builder.Database))
        {
            return Invalid("Custodian:Storage names no PostgreSQL database.");
        }

        // Custodian's own name in pg_stat_activity, unless the operator chose one.
        if (string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = "custodian";
        }

        return new StorageSettings(StorageDialect.Postgres, builder.ConnectionString);
    }

    private static CustodianError Invalid(string message) => new(InvalidSetting, 400, message);
}
