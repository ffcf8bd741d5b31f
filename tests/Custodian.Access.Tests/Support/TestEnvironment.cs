using Custodian.Access.Certificates;
using Custodian.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Custodian.Access.Tests.Support;

/// <summary>A temporary directory with a migrated SQLite database, a fake clock and a device CA; deleted on dispose.</summary>
internal sealed class TestEnvironment : IDisposable
{
    public static readonly DateTimeOffset Start = new(2025, 3, 3, 9, 0, 0, TimeSpan.Zero);

    private readonly Lazy<CertificateAuthority> _ca;

    private TestEnvironment()
    {
        Directory = Path.Combine(Path.GetTempPath(), "custodian-access-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        Db = new CustodianDatabase(Path.Combine(Directory, "custodian.db"));
        _ca = new Lazy<CertificateAuthority>(() => CertificateAuthority.LoadOrCreate(Path.Combine(Directory, "ca"), Time));
    }

    public string Directory { get; }

    public FakeTimeProvider Time { get; } = new(Start);

    public CustodianDatabase Db { get; }

    public CertificateAuthority Ca => _ca.Value;

    public static async Task<TestEnvironment> CreateAsync()
    {
        var env = new TestEnvironment();
        await env.Db.MigrateAsync(new AccessMigrations().Migrations, env.Time);
        return env;
    }

    public void Dispose()
    {
        if (_ca.IsValueCreated)
        {
            _ca.Value.Dispose();
        }

        SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}
