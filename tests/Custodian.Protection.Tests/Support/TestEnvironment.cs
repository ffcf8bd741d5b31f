using Custodian.Protection.Keys;
using Custodian.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Custodian.Protection.Tests.Support;

/// <summary>A temp directory with a keyring (fixed master key), a migrated database and a fake clock.</summary>
internal sealed class TestEnvironment : IDisposable
{
    public static readonly byte[] MasterKey = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();

    /// <summary>2026-03-01T00:00:00Z (09:00 in Korea).</summary>
    public static readonly DateTimeOffset Start = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private TestEnvironment(TempDirectory directory, FakeTimeProvider time, ProtectionKeyring keys, CustodianDatabase database)
    {
        Directory = directory;
        Time = time;
        Keys = keys;
        Database = database;
    }

    public TempDirectory Directory { get; }

    public FakeTimeProvider Time { get; }

    public ProtectionKeyring Keys { get; }

    public CustodianDatabase Database { get; }

    public static DateOnly Today => DateOnly.FromDateTime(Start.UtcDateTime);

    public static async Task<TestEnvironment> CreateAsync()
    {
        var directory = new TempDirectory();
        var time = new FakeTimeProvider(Start);
        var keys = ProtectionKeyring.LoadOrCreate(directory.Combine("keys"), time, MasterKey);
        var database = new CustodianDatabase(directory.Combine("custodian.db"));
        await database.MigrateAsync(new ProtectionMigrations().Migrations, time);
        return new TestEnvironment(directory, time, keys, database);
    }

    public void Dispose() => Directory.Dispose();
}
