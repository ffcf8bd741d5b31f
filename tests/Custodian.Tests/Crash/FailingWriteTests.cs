using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Problems;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Custodian.Tests.Crash;

/// <summary>
/// Fail closed when the ledger's database write really fails (no fake ledger): on a full disk, and
/// while another process holds the database's write lock. Guarded reads get a 503
/// <c>ledger-unavailable</c> problem with no personal data, nothing is answered without its entry,
/// the ledger stays intact, and once the fault clears appends resume at the next sequence number.
/// </summary>
[Collection(nameof(CrashCollection))]
public sealed class FailingWriteTests
{
    [Fact]
    public async Task A_full_disk_refuses_reads_with_a_problem_and_no_data_and_appends_resume_gap_free_when_space_returns()
    {
        await using var disk = await SmallDisk.MountAsync(megabytes: 32);
        // The SQLite file on a full disk: the database is in the data directory on that disk (backend pinned; docs/storage.md).
        await using var host = await CustodianTestHost.StartAsync(subscribers: 50, options: o => o.DataDirectory = Path.Combine(disk.Path, "data"), backend: TestBackend.Sqlite);
        var (client, _, _) = await host.ClerkAsync("C0001");
        var subscriber = host.Population[1];
        var handle = await GuardedLookupTests.SearchAsync(client, subscriber.Phone);
        var before = await VerifiedSizeAsync(host);

        // The WAL is emptied to zero bytes first, so the next commit must take new blocks (a WAL that
        // was once longer would otherwise be rewritten in place, in blocks it already owns).
        await TruncateWalAsync(host);
        await using (await disk.FillAsync())
        {
            using var search = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = subscriber.Phone });
            using var view = await client.GetAsync($"/api/v1/subscribers/{handle}?purpose=in-store-service");
            await AssertRefusedWithoutDataAsync(search, host);
            await AssertRefusedWithoutDataAsync(view, host);

            AssertLedgerWriteFailedWith(host, 13); // SQLITE_FULL: "database or disk is full"

            // Intact while the disk is still full: nothing was added, nothing torn.
            Assert.Equal(before, await VerifiedSizeAsync(host));
        }

        await AssertAppendsResumeAsync(host, client, subscriber.Phone, before);
        Assert.Empty(PlaintextScanner.ScanLogs(host.Logs, PlaintextScanner.Needles(host.Population)));
    }

    [Fact]
    public async Task A_write_lock_held_by_another_process_refuses_reads_with_a_problem_and_appends_resume_gap_free_when_released()
    {
        // SQLite's file write lock (backend pinned; PostgreSQL's writer exclusion is a table lock, docs/storage.md).
        await using var host = await CustodianTestHost.StartAsync(
            subscribers: 20,
            services: s => s.AddSingleton(new LedgerOptions { LockTimeout = TimeSpan.FromSeconds(1) }),
            backend: TestBackend.Sqlite);
        var (client, _, _) = await host.ClerkAsync("C0001");
        var subscriber = host.Population[3];
        await GuardedLookupTests.SearchAsync(client, subscriber.Phone);
        var before = await VerifiedSizeAsync(host);

        // Another process (e.g. a stuck administrative command) holds the write lock beyond the ledger's lock timeout.
        await using (var other = new SqliteConnection($"Data Source={host.Get<CustodianDatabase>().Path};Pooling=False"))
        {
            await other.OpenAsync();
            await using var tx = other.BeginTransaction(deferred: false); // BEGIN IMMEDIATE: takes the write lock

            // Concurrent readers share one failing batch: each is refused.
            var responses = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = subscriber.Phone })));
            foreach (var response in responses)
            {
                await AssertRefusedWithoutDataAsync(response, host);
                response.Dispose();
            }

            AssertLedgerWriteFailedWith(host, 5); // SQLITE_BUSY: "database is locked"
            await tx.RollbackAsync();
        }

        Assert.Equal(before, await VerifiedSizeAsync(host));
        await AssertAppendsResumeAsync(host, client, subscriber.Phone, before);
    }

    /// <summary>The refusals came from the real database error named by its SQLite result code (https://sqlite.org/rescode.html).</summary>
    private static void AssertLedgerWriteFailedWith(CustodianTestHost host, int sqliteErrorCode)
    {
        var failures = host.Logs.GetSnapshot().Select(r => r.Exception).OfType<SqliteException>().ToList();
        Assert.NotEmpty(failures);
        Assert.All(failures, f => Assert.Equal(sqliteErrorCode, f.SqliteErrorCode));
    }

    private static async Task AssertRefusedWithoutDataAsync(HttpResponseMessage response, CustodianTestHost host)
    {
        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable, ErrorCodes.LedgerUnavailable);
        Assert.True(problem.GetProperty("transient").GetBoolean());
        var body = await response.Content.ReadAsStringAsync();
        Assert.False(problem.TryGetProperty("results", out _));
        Assert.False(problem.TryGetProperty("ledgerSequence", out _));
        foreach (var needle in PlaintextScanner.Needles(host.Population).Concat(host.Population.Select(p => p.Name)))
        {
            Assert.DoesNotContain(needle, body, StringComparison.Ordinal);
        }
    }

    /// <summary>The next read gets the next sequence number: nothing was appended for the refused reads, no gap was left.</summary>
    private static async Task AssertAppendsResumeAsync(CustodianTestHost host, HttpClient client, string phone, long size)
    {
        using var response = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = (await response.Content.ReadFromJsonAsync<SearchResponse>(JsonSerializerOptions.Web))!;
        Assert.Single(answer.Results);
        Assert.Equal(size, answer.LedgerSequence);
        Assert.Equal(size + 1, await VerifiedSizeAsync(host));
        var entries = await host.LedgerAsync();
        Assert.Equal(Enumerable.Range(0, (int)size + 1).Select(i => (long)i), entries.Select(e => e.Sequence));
        Assert.Equal(AccessTask.Search, entries[^1].Entry.Task);
        Assert.Equal(AccessOutcome.Allowed, entries[^1].Entry.Outcome);
    }

    private static async Task<long> VerifiedSizeAsync(CustodianTestHost host)
    {
        var result = await new LedgerVerifier(host.Get<CustodianDatabase>()).VerifyAsync();
        Assert.True(result.IsValid, $"{result.Reason} at {result.FirstBadSequence}: {result.Message}");
        return result.TreeSize;
    }

    private static async Task TruncateWalAsync(CustodianTestHost host)
    {
        await using var connection = await host.Get<CustodianDatabase>().OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.True(reader.GetInt64(0) == 0, "the WAL checkpoint was blocked by a reader");
        Assert.Equal(0, new FileInfo(host.Get<CustodianDatabase>().Path + "-wal").Length);
    }
}
