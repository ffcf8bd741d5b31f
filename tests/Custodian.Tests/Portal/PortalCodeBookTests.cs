using System.Collections.Concurrent;
using Custodian.Access.Staff;
using Custodian.Portal;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;
using Custodian.Transparency;
using Microsoft.Extensions.Time.Testing;

namespace Custodian.Tests.Portal;

/// <summary>
/// The database-held state behind portal sign-in (<see cref="PortalCodeBook"/>): the sweep of idle numbers and addresses,
/// the miss cap under concurrency from two code books ("nodes") on one database, address keys. Both backends.
/// </summary>
public sealed class PortalCodeBookTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task Numbers_and_addresses_idle_for_an_hour_are_swept_with_their_rows(TestBackend backend)
    {
        await using var store = await Store.CreateAsync(backend);
        var book = store.Book();
        foreach (var number in new[] { "+821000000001", "+821000000002", "+821000000003" })
        {
            Assert.NotNull((await book.RequestAsync(number, "192.0.2.1", CancellationToken.None)).Issued); // sweeps first time: nothing to sweep
        }

        Assert.NotNull((await book.RequestAsync("+821000000004", "192.0.2.2", CancellationToken.None)).Issued);
        Assert.False((await book.VerifyAsync("+821000000004", "192.0.2.3", "000000x", CancellationToken.None)).Matched); // a miss from a third address
        Assert.Equal((4L, 3L, 5L, 4L), await store.CountsAsync());

        store.Time.Advance(TimeSpan.FromMinutes(30));
        Assert.NotNull((await book.RequestAsync("+821000000005", "192.0.2.1", CancellationToken.None)).Issued); // sweeps: nothing idle for an hour yet
        Assert.Equal((5L, 3L, 6L, 5L), await store.CountsAsync());

        store.Time.Advance(TimeSpan.FromMinutes(30)); // the first requests and the miss leave the hour; their codes expired long ago
        Assert.Equal(6, await book.SweepAsync()); // numbers 1–4, addresses .2 and .3
        Assert.Equal((1L, 1L, 1L, 1L), await store.CountsAsync()); // +821000000005 (30 minutes old) from .1: its row, its request, its (expired) code

        store.Time.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal(2, await store.Book().SweepAsync()); // another node's book sweeps the same tables
        Assert.Equal((0L, 0L, 0L, 0L), await store.CountsAsync());
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task Concurrent_wrong_checks_from_many_addresses_on_two_nodes_never_exceed_the_per_number_cap(TestBackend backend)
    {
        await using var store = await Store.CreateAsync(backend);
        var nodes = new[] { store.Book(), store.Book(await store.NewNodeAsync()) };
        Assert.NotNull((await nodes[0].RequestAsync("+821099990000", "192.0.2.1", CancellationToken.None)).Issued);
        var outcomes = new ConcurrentBag<TimeSpan>();
        await Parallel.ForAsync(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, cancellationToken) =>
        {
            // 80 addresses × 5 checks: four times as many misses as the number allows, all at once, on both nodes.
            var (matched, retry) = await nodes[i % 2].VerifyAsync("+821099990000", $"198.51.100.{i % 80}", "not-a-code", cancellationToken);
            Assert.False(matched);
            outcomes.Add(retry);
        });

        Assert.Equal(PortalSignIn.FailedChecksPerNumberPerHour, outcomes.Count(r => r == TimeSpan.Zero)); // compared and counted
        Assert.Equal(400 - PortalSignIn.FailedChecksPerNumberPerHour, outcomes.Count(r => r == TimeSpan.FromHours(1))); // refused before comparing
        Assert.Equal(PortalSignIn.FailedChecksPerNumberPerHour, await store.ScalarAsync("SELECT COUNT(*) FROM portal_signin_events WHERE kind = 2"));
    }

    [Theory]
    [InlineData("192.0.2.7", "192.0.2.7")]
    [InlineData("::ffff:192.0.2.7", "192.0.2.7")]
    [InlineData("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:3::1", "2001:db8:1:3::/64")]
    [InlineData(null, "?")]
    [InlineData("not an address", "?")]
    public void Source_addresses_are_counted_as_ipv4_or_ipv6_slash_64(string? remote, string key) =>
        Assert.Equal(key, PortalSignIn.AddressKey(remote));

    /// <summary>A migrated database (SQLite file or PostgreSQL schema) with an access-secret key, and its nodes' connections.</summary>
    private sealed class Store : IAsyncDisposable
    {
        private readonly DirectoryInfo _directory;
        private readonly PostgresSchema? _schema;
        private readonly List<CustodianDatabase> _nodes = [];

        private Store(DirectoryInfo directory, PostgresSchema? schema)
        {
            _directory = directory;
            _schema = schema;
        }

        public FakeTimeProvider Time { get; } = new(Start) { AutoAdvanceAmount = TimeSpan.Zero };

        public static async Task<Store> CreateAsync(TestBackend backend)
        {
            var store = new Store(Directory.CreateTempSubdirectory("custodian-portal-codes-"), backend == TestBackend.Postgres ? await TestStorage.CreateSchemaAsync() : null);
            await (await store.NewNodeAsync()).MigrateAsync(new PortalMigrations().Migrations, store.Time);
            return store;
        }

        public Task<CustodianDatabase> NewNodeAsync()
        {
            var db = _schema is null ? new CustodianDatabase(Path.Combine(_directory.FullName, "custodian.db")) : CustodianDatabase.ForPostgres(_schema.Settings);
            _nodes.Add(db);
            return Task.FromResult(db);
        }

        public PortalCodeBook Book(CustodianDatabase? node = null) =>
            new(node ?? _nodes[0], SecretProtector.LoadOrCreate(Path.Combine(_directory.FullName, "access", "secrets.key")), Time);

        /// <summary>Rows of (numbers, addresses, events, codes).</summary>
        public async Task<(long, long, long, long)> CountsAsync() =>
            (await ScalarAsync("SELECT COUNT(*) FROM portal_signin_numbers"), await ScalarAsync("SELECT COUNT(*) FROM portal_signin_addresses"),
                await ScalarAsync("SELECT COUNT(*) FROM portal_signin_events"), await ScalarAsync("SELECT COUNT(*) FROM portal_signin_codes"));

        public async Task<long> ScalarAsync(string sql)
        {
            await using var connection = await _nodes[0].OpenAsync();
            await using var command = connection.Command(sql);
            return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var node in _nodes)
            {
                await node.DisposeAsync();
            }

            if (_schema is not null)
            {
                await _schema.DisposeAsync();
            }

            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            _directory.Delete(recursive: true);
        }
    }
}
