using Custodian.Events;
using Custodian.Ledger;
using Custodian.Ledger.Projection;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Custodian.Tests.Events;

/// <summary>
/// <c>custodian ledger verify</c> on a JetStream deployment compares the ledger tables with the stream entry by entry
/// (docs/events.md, "Comparing the tables with the stream"), as a real CLI process against a real nats-server, on SQLite
/// and PostgreSQL: a match names the entries compared; tables behind the stream are reported as a lag with exit 0 (and
/// verify projects nothing itself); tables holding an entry the stream never had, and a valid tree whose entry at sequence
/// k is not the stream's, exit 3 naming the sequence; <c>--tables-only</c> skips the comparison.
/// </summary>
[Trait("Backend", "Both")] // every test runs on both backends, each row naming its own whatever CUSTODIAN_TEST_BACKEND says, in the first pass: the PostgreSQL pass skips it (scripts/test.sh)
public sealed class StreamComparisonTests
{
    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task Verify_reports_the_entries_matched_with_the_stream_and_then_how_far_the_tables_lag_it(TestBackend backend)
    {
        await using var nats = await NatsServer.StartNewAsync();
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5, backend: backend, options: o => o.Events = nats.Url);
        await host.ClerkAsync("C0001");
        var projection = new LedgerProjection(host.Get<CustodianDatabase>(), TimeProvider.System, NullLogger<LedgerProjection>.Instance);
        var size = await projection.GetSizeAsync();
        Assert.Equal(size, (await JetStreamLedgerTests.ReadStreamAsync(nats)).Count);

        var matched = await VerifyAsync(host, nats);
        Assert.True(matched.Exit == 0, matched.Output + matched.Error);
        Assert.Contains($"Stream CUSTODIAN_LEDGER matches the tables: {size} entries compared (sequences 0–{size - 1}).", Lines(matched.Output));
        Assert.DoesNotContain("lag", matched.Output, StringComparison.Ordinal);

        // The projector stops (a node that is down); three more entries reach the stream only.
        await host.Get<JetStreamAccessLedger>().DisposeAsync();
        await PublishAsync(nats, size, Entry(host, "C0101"), Entry(host, "C0102"), Entry(host, "C0103"));

        var lagging = await VerifyAsync(host, nats);
        Assert.True(lagging.Exit == 0, lagging.Output + lagging.Error);
        Assert.Contains($"Ledger OK: {size} entries, root ", lagging.Output, StringComparison.Ordinal);
        Assert.Contains($"Stream CUSTODIAN_LEDGER matches the tables: {size} entries compared (sequences 0–{size - 1}).", Lines(lagging.Output));
        Assert.Contains($"The tables lag the stream by 3 entries (sequences {size}–{size + 2} not yet projected; normal while the projector catches up).", Lines(lagging.Output));
        Assert.Equal(size, await projection.GetSizeAsync()); // verify read the stream; it projected nothing
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task Verify_exits_3_naming_the_first_sequence_where_valid_tables_differ_from_the_stream(TestBackend backend)
    {
        await using var nats = await NatsServer.StartNewAsync();
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5, backend: backend, options: o => o.Events = nats.Url);
        await host.ClerkAsync("C0001");
        var projection = new LedgerProjection(host.Get<CustodianDatabase>(), TimeProvider.System, NullLogger<LedgerProjection>.Instance);
        await host.Get<JetStreamAccessLedger>().DisposeAsync(); // from here on the test writes stream and tables itself
        var k = await projection.GetSizeAsync();

        // Sequence k is in both; the tables also hold k + 1, which the stream never had.
        var a = Entry(host, "C0201");
        await PublishAsync(nats, k, a);
        await projection.ApplyAsync(k, [LeafCodec.Encode(a)]);
        await projection.ApplyAsync(k + 1, [LeafCodec.Encode(Entry(host, "C0666"))]);
        var ahead = await VerifyAsync(host, nats);
        Assert.Equal(3, ahead.Exit);
        Assert.Contains($"Ledger OK: {k + 2} entries, root ", ahead.Output, StringComparison.Ordinal);
        Assert.Equal(
            $"LEDGER DIFFERS FROM STREAM CUSTODIAN_LEDGER: first difference at sequence {k + 1} (the tables hold 1 entry from here on that the stream never had (stream size {k + 1}, tables {k + 2})); {k + 1} entries before it matched.",
            ahead.Error.Trim());

        // The stream's k + 1 is another entry, and k + 2 is in both: a valid tree (it verifies) that is not the stream's at k + 1.
        var c = Entry(host, "C0203");
        await PublishAsync(nats, k + 1, Entry(host, "C0202"), c);
        await projection.ApplyAsync(k + 2, [LeafCodec.Encode(c)]);
        var differs = await VerifyAsync(host, nats);
        Assert.Equal(3, differs.Exit);
        Assert.Contains($"Ledger OK: {k + 3} entries, root ", differs.Output, StringComparison.Ordinal);
        Assert.Equal(
            $"LEDGER DIFFERS FROM STREAM CUSTODIAN_LEDGER: first difference at sequence {k + 1} (the tables' leaf hash differs from the stream's entry); {k + 1} entries before it matched.",
            differs.Error.Trim());

        var tablesOnly = await VerifyAsync(host, nats, "--tables-only");
        Assert.True(tablesOnly.Exit == 0, tablesOnly.Output + tablesOnly.Error);
        Assert.DoesNotContain("Stream CUSTODIAN_LEDGER", tablesOnly.Output, StringComparison.Ordinal);
    }

    private static AccessEntry Entry(CustodianTestHost host, string target) =>
        new() { Time = host.Clock.GetUtcNow(), Task = AccessTask.StaffCreated, Outcome = AccessOutcome.Allowed, Account = "system", Target = target };

    private static string[] Lines(string output) => output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    // Publishes entries straight to the stream, as a node whose projector is down would; the first lands at ledger sequence `at`.
    private static async Task PublishAsync(NatsServer nats, long at, params AccessEntry[] entries)
    {
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = nats.Url, ConnectTimeout = TimeSpan.FromSeconds(30), RequestTimeout = TimeSpan.FromSeconds(30) });
        var js = new NatsJSContext(connection);
        foreach (var entry in entries)
        {
            var ack = await js.PublishAsync(LedgerSubjects.For("custodian.ledger", entry), LeafCodec.Encode(entry), opts: new NatsJSPubOpts { MsgId = Guid.NewGuid().ToString("N") });
            Assert.Equal((ulong)at + 1, ack.Seq);
            at++;
        }
    }

    private static Task<(int Exit, string Output, string Error)> VerifyAsync(CustodianTestHost host, NatsServer nats, params string[] extra)
    {
        var environment = new Dictionary<string, string> { ["Custodian__Events"] = nats.Url };
        if (host.Backend == TestBackend.Postgres)
        {
            environment["Custodian__Storage"] = host.Get<StorageSettings>().ConnectionString!;
        }

        return CliProcess.RunAsync(environment, ["ledger", "verify", "--data", host.Directory.FullName, .. extra]);
    }
}
