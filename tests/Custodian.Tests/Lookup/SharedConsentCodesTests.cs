using System.Security.Cryptography;
using System.Text;
using Custodian.Access.Staff;
using Custodian.Identity;
using Custodian.Lookup;
using Custodian.Messaging;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Custodian.Tests.Lookup;

/// <summary>
/// Consent codes and the consent wrong-attempt budget in the deployment's database (issue 8; docs/web.md, "Consent-code
/// budget"): two "nodes" are two instances, each with its own connection pool and its own copy of the data directory's
/// access-secret key, on one SQLite file or one PostgreSQL schema; a third instance stands for a restarted node.
/// </summary>
public sealed class SharedConsentCodesTests
{
    private const string Key = "C0001|7|identity-verification";
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly SubscriberId Subject = new(7);

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task A_code_issued_on_one_node_is_accepted_once_on_another_and_is_stored_only_as_a_keyed_hash(TestBackend backend)
    {
        await using var d = await Deployment.CreateAsync(backend);
        var a = d.Codes(d.NodeA);
        var b = d.Codes(d.NodeB);

        var (code, expires) = await a.IssueAsync(Key);
        Assert.Equal(Start + TimeSpan.FromMinutes(5), expires);
        Assert.Equal(CodeCheck.Invalid, await b.VerifyAsync(Key, WrongCodes.Next(code)));
        Assert.Equal(CodeCheck.Valid, await b.VerifyAsync(Key, code));
        Assert.Equal(CodeCheck.Invalid, await a.VerifyAsync(Key, code)); // used on B: not again on A
        Assert.Equal(CodeCheck.Invalid, await b.VerifyAsync(Key, code));

        // The row: a 32-byte HMAC that is not the code's plain SHA-256, nothing else that contains the code.
        var row = await d.RowAsync(Key);
        Assert.Equal((LookupGuardScope, Key, 1L, 1L, expires.ToUnixTimeMilliseconds()), (row.Scope, row.Key, row.Attempts, row.Used, row.ExpiresMs));
        Assert.Equal(32, row.Hmac.Length);
        Assert.NotEqual(SHA256.HashData(Encoding.UTF8.GetBytes(code)), row.Hmac);
        Assert.DoesNotContain(code, row.Issue, StringComparison.Ordinal);

        // A node with another deployment's key material does not accept a right code: the hash is keyed.
        var (code2, _) = await a.IssueAsync(Key);
        var stranger = d.Codes(d.NodeB, SecretProtector.LoadOrCreate(Path.Combine(d.Directory.FullName, "other", "secrets.key")));
        Assert.Equal(CodeCheck.Invalid, await stranger.VerifyAsync(Key, code2));
        Assert.Equal(CodeCheck.Valid, await b.VerifyAsync(Key, code2));
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task A_new_code_on_one_node_voids_the_earlier_one_and_attempts_and_expiry_are_shared(TestBackend backend)
    {
        await using var d = await Deployment.CreateAsync(backend);
        var a = d.Codes(d.NodeA);
        var b = d.Codes(d.NodeB);

        var (first, _) = await a.IssueAsync(Key);
        var second = first;
        while (second == first)
        {
            (second, _) = await b.IssueAsync(Key);
        }

        Assert.Equal(CodeCheck.Invalid, await a.VerifyAsync(Key, first));
        Assert.Equal(CodeCheck.Invalid, await b.VerifyAsync(Key, WrongCodes.Next(second)));
        Assert.Equal(CodeCheck.TooManyAttempts, await a.VerifyAsync(Key, WrongCodes.Next(second))); // 3rd wrong try (the voided code was the 1st), counted across nodes
        Assert.Equal(CodeCheck.TooManyAttempts, await b.VerifyAsync(Key, second)); // void now, even when right
        Assert.Equal(3L, (await d.RowAsync(Key)).Attempts);

        var (third, expires) = await a.IssueAsync(Key);
        Assert.Equal(0L, (await d.RowAsync(Key)).Attempts); // a new code starts its own three tries
        d.Time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(expires, d.Time.GetUtcNow());
        Assert.Equal(CodeCheck.Invalid, await b.VerifyAsync(Key, WrongCodes.Next(third))); // still valid at its expiry instant
        d.Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(CodeCheck.Expired, await b.VerifyAsync(Key, third));
        Assert.Equal(CodeCheck.Invalid, await a.VerifyAsync(Key, third)); // the expired row was removed
        Assert.Equal(0L, await d.ScalarAsync("SELECT COUNT(*) FROM one_time_codes"));
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task Concurrent_checks_on_two_nodes_accept_a_code_exactly_once_and_count_wrong_tries_exactly(TestBackend backend)
    {
        await using var d = await Deployment.CreateAsync(backend);
        var nodes = new[] { d.Codes(d.NodeA), d.Codes(d.NodeB) };
        for (var round = 0; round < 10; round++)
        {
            var key = $"C0001|{round}|identity-verification";
            var (code, _) = await nodes[round % 2].IssueAsync(key);
            using var go = new ManualResetEventSlim();
            var checks = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
            {
                go.Wait();
                return await nodes[i % 2].VerifyAsync(key, code);
            })).ToList();
            go.Set();
            var results = await Task.WhenAll(checks);
            Assert.Equal(1, results.Count(r => r == CodeCheck.Valid));
            Assert.Equal(7, results.Count(r => r == CodeCheck.Invalid));

            var (fresh, _) = await nodes[round % 2].IssueAsync(key);
            using var go2 = new ManualResetEventSlim();
            var guesses = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
            {
                go2.Wait();
                return await nodes[i % 2].VerifyAsync(key, WrongCodes.Next(fresh));
            })).ToList();
            go2.Set();
            var outcomes = await Task.WhenAll(guesses);
            Assert.Equal(2, outcomes.Count(r => r == CodeCheck.Invalid)); // tries 1 and 2
            Assert.Equal(6, outcomes.Count(r => r == CodeCheck.TooManyAttempts)); // try 3, then void
            Assert.Equal(3L, (await d.RowAsync(key)).Attempts);
            Assert.Equal(CodeCheck.TooManyAttempts, await nodes[0].VerifyAsync(key, fresh));
        }
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task Codes_expired_for_more_than_a_lifetime_are_swept_when_codes_are_issued(TestBackend backend)
    {
        await using var d = await Deployment.CreateAsync(backend);
        var a = d.Codes(d.NodeA);
        await a.IssueAsync("k1");
        await a.IssueAsync("k2");
        d.Time.Advance(TimeSpan.FromMinutes(10)); // both expired exactly one lifetime ago: kept (they still say "expired")
        Assert.Equal(0, await a.SweepAsync());
        d.Time.Advance(TimeSpan.FromMilliseconds(1));
        await a.IssueAsync("k3"); // more than a minute since this instance's last sweep: sweeps k1 and k2
        Assert.Equal(1L, await d.ScalarAsync("SELECT COUNT(*) FROM one_time_codes"));
        d.Time.Advance(TimeSpan.FromMinutes(11));
        Assert.Equal(1, await d.Codes(d.NodeB).SweepAsync());
        Assert.Equal(0L, await d.ScalarAsync("SELECT COUNT(*) FROM one_time_codes"));
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task The_wrong_attempt_budget_is_shared_by_two_nodes_and_survives_a_restart(TestBackend backend)
    {
        await using var d = await Deployment.CreateAsync(backend);
        var a = new ConsentAttemptBudget(d.NodeA, d.Time);
        var b = new ConsentAttemptBudget(d.NodeB, d.Time);

        // 10 wrong codes one minute apart, alternating nodes: 5 on each; neither node alone has 10.
        for (var i = 0; i < ConsentAttemptBudget.DefaultMaxWrongAttempts; i++)
        {
            Assert.Null(await (i % 2 == 0 ? b : a).RetryAfterAsync("C0001", Subject));
            await (i % 2 == 0 ? a : b).RecordWrongAsync("C0001", Subject);
            if (i < ConsentAttemptBudget.DefaultMaxWrongAttempts - 1)
            {
                d.Time.Advance(TimeSpan.FromMinutes(1));
            }
        }

        Assert.Equal(TimeSpan.FromSeconds(85_860), await a.RetryAfterAsync("C0001", Subject)); // 24 h less the 9 minutes since the first
        Assert.Equal(TimeSpan.FromSeconds(85_860), await b.RetryAfterAsync("C0001", Subject));
        Assert.Null(await a.RetryAfterAsync("C0002", Subject)); // another clerk
        Assert.Null(await a.RetryAfterAsync("C0001", new SubscriberId(8))); // another subscriber

        // A restarted node (a new instance on the same database) sees the same budget.
        var restarted = new ConsentAttemptBudget(await d.NewNodeAsync(), d.Time);
        d.Time.Advance(TimeSpan.FromSeconds(85_859));
        Assert.Equal(TimeSpan.FromSeconds(1), await restarted.RetryAfterAsync("C0001", Subject));
        d.Time.Advance(TimeSpan.FromSeconds(1)); // the first attempt is 24 hours old: 9 remain
        Assert.Null(await restarted.RetryAfterAsync("C0001", Subject));
        Assert.Equal(10L, await d.ScalarAsync("SELECT COUNT(*) FROM consent_wrong_attempts"));

        // One more wrong code exhausts it again until the second attempt (a minute younger) leaves; it prunes the first.
        await restarted.RecordWrongAsync("C0001", Subject);
        Assert.Equal(TimeSpan.FromMinutes(1), await a.RetryAfterAsync("C0001", Subject));
        Assert.Equal(10L, await d.ScalarAsync("SELECT COUNT(*) FROM consent_wrong_attempts"));

        // Other keys' old rows go with the hourly sweep.
        await b.RecordWrongAsync("C0002", new SubscriberId(9));
        d.Time.Advance(TimeSpan.FromHours(24));
        Assert.Equal(11, await a.SweepAsync());
        Assert.Equal(0L, await d.ScalarAsync("SELECT COUNT(*) FROM consent_wrong_attempts"));
    }

    private const string LookupGuardScope = LookupGuard.ConsentCodeScope;

    /// <summary>One deployment's database and key material, and the nodes on it.</summary>
    private sealed class Deployment : IAsyncDisposable
    {
        private readonly PostgresSchema? _schema;
        private readonly List<CustodianDatabase> _nodes = [];

        private Deployment(DirectoryInfo directory, PostgresSchema? schema)
        {
            Directory = directory;
            _schema = schema;
        }

        public DirectoryInfo Directory { get; }

        public FakeTimeProvider Time { get; } = new(Start) { AutoAdvanceAmount = TimeSpan.Zero };

        public CustodianDatabase NodeA => _nodes[0];

        public CustodianDatabase NodeB => _nodes[1];

        public static async Task<Deployment> CreateAsync(TestBackend backend)
        {
            var directory = System.IO.Directory.CreateTempSubdirectory("custodian-codes-");
            var d = new Deployment(directory, backend == TestBackend.Postgres ? await TestStorage.CreateSchemaAsync() : null);

            // Node A's data directory has the access-secret key; node B's is a copy of it (docs/events.md, "Several API nodes").
            SecretProtector.LoadOrCreate(d.KeyFile("a"));
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(d.KeyFile("b"))!);
            File.Copy(d.KeyFile("a"), d.KeyFile("b"));
            var first = await d.NewNodeAsync();
            await first.MigrateAsync(new MessagingMigrations().Migrations.Concat(new LookupMigrations().Migrations), d.Time);
            await d.NewNodeAsync();
            return d;
        }

        public Task<CustodianDatabase> NewNodeAsync()
        {
            var db = _schema is null ? new CustodianDatabase(Path.Combine(Directory.FullName, "custodian.db")) : CustodianDatabase.ForPostgres(_schema.Settings);
            _nodes.Add(db);
            return Task.FromResult(db);
        }

        public OneTimeCodes Codes(CustodianDatabase node, SecretProtector? secrets = null) =>
            new(node, secrets ?? SecretProtector.LoadOrCreate(KeyFile(node == NodeA ? "a" : "b")), Time, LookupGuardScope, TimeSpan.FromMinutes(5), maxAttempts: 3);

        public async Task<long> ScalarAsync(string sql)
        {
            await using var connection = await NodeA.OpenAsync();
            await using var command = connection.Command(sql);
            return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
        }

        public async Task<(string Scope, string Key, string Issue, byte[] Hmac, long ExpiresMs, long Attempts, long Used)> RowAsync(string key)
        {
            await using var connection = await NodeA.OpenAsync();
            await using var command = connection.Command(
                "SELECT scope, code_key, issue_id, code_hmac, expires_ms, attempts, used FROM one_time_codes WHERE code_key = @k", ("@k", key));
            await using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            return (reader.GetString(0), reader.GetString(1), reader.GetString(2), (byte[])reader.GetValue(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6));
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
            Directory.Delete(recursive: true);
        }

        private string KeyFile(string node) => Path.Combine(Directory.FullName, node, "access", "secrets.key");
    }
}
