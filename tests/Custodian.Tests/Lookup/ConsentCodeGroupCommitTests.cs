using System.Data.Common;
using Custodian.Access.Staff;
using Custodian.Events;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Messaging;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Custodian.Tests.Lookup;

/// <summary>
/// Consent-code checks on SQLite through the database's group commit (<see cref="SqliteGroupCommit"/>), racing the
/// access ledger's writer on the same file, as an unmask does (bench/README.md, "Consent codes: one write transaction
/// per batch"). SQLite only: PostgreSQL has no group commit (<see cref="CustodianDatabase.GroupCommit"/> is null there;
/// its compare-and-set checks are covered by <see cref="SharedConsentCodesTests"/> on both backends).
/// </summary>
public sealed class ConsentCodeGroupCommitTests : IDisposable
{
    private const int Codes = 200;
    private static readonly DateTimeOffset Start = new(2026, 12, 3, 9, 0, 0, TimeSpan.Zero);

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("custodian-groupcommit-");

    [Fact]
    public async Task Concurrent_checks_on_two_nodes_and_ledger_appends_on_one_SQLite_file_accept_every_code_once_and_refuse_none()
    {
        var time = new FakeTimeProvider(Start) { AutoAdvanceAmount = TimeSpan.Zero };
        var path = Path.Combine(_directory.FullName, "custodian.db");
        await using var a = new CustodianDatabase(path);
        await using var b = new CustodianDatabase(path);
        await a.MigrateAsync(new MessagingMigrations().Migrations.Concat(new LookupMigrations().Migrations).Concat(new LedgerMigrations().Migrations), time);
        var secrets = SecretProtector.LoadOrCreate(Path.Combine(_directory.FullName, "keys", "access-secret.key"));
        var nodes = new[] { CodesOn(a), CodesOn(b) };
        await using var ledger = new SqliteAccessLedger(a, new InProcessAccessEventStream(), time, NullLogger<SqliteAccessLedger>.Instance);

        var right = await Task.WhenAll(Enumerable.Range(0, Codes).Select(i => nodes[i % 2].IssueAsync($"C0001|{i}|identity-verification")));
        var wrong = await Task.WhenAll(Enumerable.Range(0, Codes).Select(i => nodes[i % 2].IssueAsync($"C0002|{i}|identity-verification")));

        // Each right code is given on both nodes at once (an unmask appends its entry once the code is accepted); each
        // wrong one four times, two per node. Every check and append runs concurrently with all the others.
        using var go = new ManualResetEventSlim();
        var checks = new List<Task<CodeCheck>>();
        var guesses = new List<Task<CodeCheck>>();
        for (var i = 0; i < Codes; i++)
        {
            var key = $"C0001|{i}|identity-verification";
            var code = right[i].Code;
            var subject = new SubscriberId(i + 1);
            foreach (var node in nodes)
            {
                checks.Add(Task.Run(async () =>
                {
                    go.Wait();
                    var check = await node.VerifyAsync(key, code);
                    if (check == CodeCheck.Valid)
                    {
                        await ledger.AppendAsync(new AccessEntry { Time = time.GetUtcNow(), Task = AccessTask.Unmask, Outcome = AccessOutcome.Allowed, Account = "C0001", Terminal = "S001-counter-1", Subjects = [subject] });
                    }

                    return check;
                }));
            }

            var wrongKey = $"C0002|{i}|identity-verification";
            var guess = WrongCodes.Next(wrong[i].Code);
            for (var g = 0; g < 4; g++)
            {
                var node = nodes[g % 2];
                guesses.Add(Task.Run(async () =>
                {
                    go.Wait();
                    return await node.VerifyAsync(wrongKey, guess);
                }));
            }
        }

        go.Set();
        var checked_ = await Task.WhenAll(checks);
        var guessed = await Task.WhenAll(guesses);

        Assert.Equal(Codes, checked_.Count(c => c == CodeCheck.Valid));
        Assert.Equal(Codes, checked_.Count(c => c == CodeCheck.Invalid));
        Assert.Equal(2 * Codes, guessed.Count(c => c == CodeCheck.Invalid)); // tries 1 and 2 of each code
        Assert.Equal(2 * Codes, guessed.Count(c => c == CodeCheck.TooManyAttempts)); // try 3, then void
        Assert.Equal((long)Codes, await ledger.GetSizeAsync());
        Assert.Equal((long)Codes, await ScalarAsync(a, "SELECT COUNT(*) FROM one_time_codes WHERE code_key LIKE 'C0001|%' AND used = 1 AND attempts = 0"));
        Assert.Equal(3L * Codes, await ScalarAsync(a, "SELECT SUM(attempts) FROM one_time_codes WHERE code_key LIKE 'C0002|%' AND used = 0"));

        OneTimeCodes CodesOn(CustodianDatabase db) =>
            new(db, secrets, time, LookupGuard.ConsentCodeScope, TimeSpan.FromMinutes(5), maxAttempts: 3);
    }

    [Fact]
    public async Task Work_that_throws_is_rolled_back_alone_and_its_caller_gets_the_exception()
    {
        var time = new FakeTimeProvider(Start);
        await using var db = new CustodianDatabase(Path.Combine(_directory.FullName, "custodian.db"));
        await db.MigrateAsync([new Migration("test-001", "CREATE TABLE t (id INTEGER PRIMARY KEY)")], time);
        var writes = db.GroupCommit!;

        var tasks = Enumerable.Range(1, 30).Select(i => writes.RunAsync(tx =>
        {
            using var insert = tx.Command("INSERT INTO t (id) VALUES (@id)", ("@id", (long)i));
            insert.ExecuteNonQuery();
            return i % 3 == 0 ? throw new InvalidOperationException($"work {i} failed") : i;
        })).ToList();

        for (var i = 1; i <= 30; i++)
        {
            if (i % 3 == 0)
            {
                var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => tasks[i - 1]);
                Assert.Equal($"work {i} failed", failure.Message);
            }
            else
            {
                Assert.Equal(i, await tasks[i - 1]);
            }
        }

        Assert.Equal(20L, await ScalarAsync(db, "SELECT COUNT(*) FROM t"));
        Assert.Equal(0L, await ScalarAsync(db, "SELECT COUNT(*) FROM t WHERE id % 3 = 0"));
    }

    public void Dispose() => _directory.Delete(recursive: true);

    private static async Task<long> ScalarAsync(CustodianDatabase db, string sql)
    {
        await using DbConnection connection = await db.OpenAsync();
        await using var command = connection.Command(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
