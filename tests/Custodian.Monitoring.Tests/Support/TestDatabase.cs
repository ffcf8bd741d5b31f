using Custodian.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Custodian.Monitoring.Tests.Support;

/// <summary>A real SQLite database file in a fresh temp directory, migrated, deleted on dispose.</summary>
internal sealed class TestDatabase : IDisposable
{
    private readonly string _directory;

    private TestDatabase(string directory, CustodianDatabase db)
    {
        _directory = directory;
        Db = db;
    }

    public CustodianDatabase Db { get; }

    public static async Task<TestDatabase> CreateAsync()
    {
        var directory = Path.Combine(Path.GetTempPath(), "custodian-monitoring-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var db = new CustodianDatabase(Path.Combine(directory, "custodian.db"));
        await db.MigrateAsync(new MonitoringMigrations().Migrations, new FakeTimeProvider());
        return new TestDatabase(directory, db);
    }

    public void Dispose()
    {
        // A background suspension refresh may still hold a connection for a moment: retry briefly.
        for (var attempt = 1; ; attempt++)
        {
            SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(_directory, recursive: true);
                return;
            }
            catch (IOException) when (attempt < 50)
            {
                Thread.Sleep(20);
            }
        }
    }
}
