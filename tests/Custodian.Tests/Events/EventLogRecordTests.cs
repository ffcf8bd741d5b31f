using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Custodian.Events;
using Custodian.Ledger;
using Custodian.Ledger.Projection;
using Custodian.Storage;
using Custodian.Tests.Crash;
using Custodian.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Custodian.Tests.Events;

/// <summary>
/// One event log per deployment and a diverged projection (docs/events.md, "One event log per deployment" and "Failure
/// behaviour"), against a real nats-server: a data directory served with JetStream records it in storage.json, and the
/// administrative verbs run without <c>Custodian__Events</c> are refused with one line, exit 2, leaving the ledger table and
/// the stream untouched; ledger tables written around the stream make every guarded read a 503 ledger-unavailable.
/// </summary>
public sealed class EventLogRecordTests
{
    [Fact]
    public async Task Verbs_run_without_the_servers_event_log_are_refused_with_one_line_and_exit_2_and_the_ledger_is_untouched()
    {
        await using var nats = await NatsServer.StartNewAsync();
        var root = Directory.CreateTempSubdirectory("custodian-eventlog-");
        try
        {
            var data = Path.Combine(root.FullName, "natsdata");
            var csv = Path.Combine(root.FullName, "subscribers.csv");
            await File.WriteAllTextAsync(csv, "name,rrn,phone,address,rate_plan,contract_start,contract_end,home_store\n");
            List<string> tableBefore;
            int streamBefore;
            await using (var server = await ServerProcess.StartAsync(data, new Dictionary<string, string> { ["Custodian__Events"] = nats.Url }))
            {
                Assert.Equal(
                    "{\"backend\":\"sqlite\",\"events\":{\"backend\":\"jetstream\",\"stream\":\"CUSTODIAN_LEDGER\",\"subjectPrefix\":\"custodian.ledger\"}}",
                    (await File.ReadAllTextAsync(Path.Combine(data, "storage.json"))).Trim());
                tableBefore = TableLeaves(data);
                streamBefore = (await JetStreamLedgerTests.ReadStreamAsync(nats)).Count;
                Assert.Equal(streamBefore, tableBefore.Count);

                // Only CUSTODIAN_DATA set, as in the evaluation: no Custodian__Events.
                var env = new Dictionary<string, string> { ["CUSTODIAN_DATA"] = data };
                var expected = $"error: the data directory {Path.GetFullPath(data)} belongs to a deployment whose event log is NATS JetStream stream CUSTODIAN_LEDGER (subject prefix custodian.ledger), but the configured event log is embedded: set Custodian__Events to the deployment's nats://host:port (serve --events) as the deployment's server has it; nothing was changed (docs/events.md).";
                foreach (var args in new[]
                {
                    new[] { "import", csv },
                    ["terminals", "enroll", "--store", "S001", "--name", "counter-1"],
                    ["staff", "add", "--id", "C0001", "--role", "clerk", "--store", "S001"],
                })
                {
                    var run = await CliProcess.RunAsync(env, args);
                    Assert.Equal(2, run.Exit);
                    Assert.Equal(expected, run.Error.Trim());
                }

                // A changed stream name is refused the same way, naming the recorded one.
                var renamed = await CliProcess.RunAsync(new Dictionary<string, string> { ["CUSTODIAN_DATA"] = data, ["Custodian__Events"] = nats.Url, ["Custodian__JetStream__Stream"] = "OTHER" }, "staff", "list");
                Assert.Equal(2, renamed.Exit);
                Assert.Equal(
                    $"error: the data directory {Path.GetFullPath(data)} belongs to a deployment whose event log is NATS JetStream stream CUSTODIAN_LEDGER (subject prefix custodian.ledger), but the configured event log is NATS JetStream stream OTHER (subject prefix custodian.ledger): set Custodian__JetStream__Stream=CUSTODIAN_LEDGER as the deployment's server has it; nothing was changed (docs/events.md).",
                    renamed.Error.Trim());
            }

            Assert.Equal(tableBefore, TableLeaves(data)); // nothing written around the stream
            Assert.Equal(streamBefore, (await JetStreamLedgerTests.ReadStreamAsync(nats)).Count);
            var verify = await CliProcess.RunAsync(new Dictionary<string, string> { ["CUSTODIAN_DATA"] = data, ["Custodian__Events"] = nats.Url }, "ledger", "verify");
            Assert.True(verify.Exit == 0, verify.Error);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task An_embedded_data_directory_records_embedded_and_a_verb_configured_for_jetstream_is_refused()
    {
        await using var nats = await NatsServer.StartNewAsync();
        var root = Directory.CreateTempSubdirectory("custodian-eventlog-");
        try
        {
            var data = Path.Combine(root.FullName, "d");
            var init = await CliProcess.RunAsync(new Dictionary<string, string>(), "init", "--data", data);
            Assert.True(init.Exit == 0, init.Error);
            Assert.Equal("{\"backend\":\"sqlite\",\"events\":{\"backend\":\"embedded\"}}", (await File.ReadAllTextAsync(Path.Combine(data, "storage.json"))).Trim());

            var run = await CliProcess.RunAsync(new Dictionary<string, string> { ["Custodian__Events"] = nats.Url }, "staff", "add", "--id", "C0001", "--role", "clerk", "--store", "S001", "--data", data);
            Assert.Equal(2, run.Exit);
            Assert.Equal(
                $"error: the data directory {Path.GetFullPath(data)} belongs to a deployment whose event log is embedded, but the configured event log is NATS JetStream stream CUSTODIAN_LEDGER (subject prefix custodian.ledger): unset Custodian__Events (or set it to embedded; serve --events) as the deployment's server has it; a ledger cannot be moved onto a stream yet; nothing was changed (docs/events.md).",
                run.Error.Trim());
            Assert.Single(TableLeaves(data));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_data_directory_recorded_before_the_event_log_is_refused_nothing_until_the_next_serve_records_it()
    {
        await using var nats = await NatsServer.StartNewAsync();
        var root = Directory.CreateTempSubdirectory("custodian-eventlog-");
        try
        {
            var data = Path.Combine(root.FullName, "d");
            var jetstream = new Dictionary<string, string> { ["Custodian__Events"] = nats.Url };
            var init = await CliProcess.RunAsync(jetstream, "init", "--data", data);
            Assert.True(init.Exit == 0, init.Error);
            var record = Path.Combine(data, "storage.json");
            await File.WriteAllTextAsync(record, "{\"backend\":\"sqlite\"}\n"); // as written before the event log was recorded

            var list = await CliProcess.RunAsync(jetstream, "staff", "list", "--data", data); // a verb does not record it
            Assert.True(list.Exit == 0, list.Error);
            Assert.Equal("{\"backend\":\"sqlite\"}", (await File.ReadAllTextAsync(record)).Trim());

            await using (await ServerProcess.StartAsync(data, jetstream))
            {
                Assert.Equal(
                    "{\"backend\":\"sqlite\",\"events\":{\"backend\":\"jetstream\",\"stream\":\"CUSTODIAN_LEDGER\",\"subjectPrefix\":\"custodian.ledger\"}}",
                    (await File.ReadAllTextAsync(record)).Trim());
            }

            var embedded = await CliProcess.RunAsync(new Dictionary<string, string>(), "staff", "list", "--data", data);
            Assert.Equal(2, embedded.Exit);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            root.Delete(recursive: true);
        }
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    [Trait("Backend", "Both")] // each row names its backend whatever CUSTODIAN_TEST_BACKEND says, and the first pass runs both: the PostgreSQL pass skips it (scripts/test.sh)
    public async Task Ledger_tables_written_around_the_stream_make_every_guarded_read_a_503_ledger_unavailable(TestBackend backend)
    {
        await using var nats = await NatsServer.StartNewAsync();
        await using var host = await CustodianTestHost.StartAsync(subscribers: 20, backend: backend, options: o => o.Events = nats.Url);
        var (client, _, _) = await host.ClerkAsync("C0001");
        var phone = host.Population[3].Phone;
        using (var served = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone }))
        {
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }

        // A writer around the stream (an embedded verb, as in the evaluation) puts its own entry at the next position.
        var db = host.Get<CustodianDatabase>();
        var projection = new LedgerProjection(db, TimeProvider.System, NullLogger<LedgerProjection>.Instance);
        var size = await projection.GetSizeAsync();
        var foreign = new AccessEntry { Time = DateTimeOffset.UnixEpoch.AddDays(20_000), Task = AccessTask.StaffCreated, Outcome = AccessOutcome.Allowed, Account = "system", Target = "C0009" };
        await projection.ApplyAsync(size, [LeafCodec.Encode(foreign)]);

        for (var i = 0; i < 2; i++)
        {
            using var refused = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone });
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("urn:custodian:error:ledger-unavailable", problem.GetProperty("type").GetString());
            Assert.False(problem.TryGetProperty("results", out _));
        }

        Assert.True(host.Get<JetStreamAccessLedger>().IsDiverged);
        Assert.Equal(size + 1, await projection.GetSizeAsync()); // the stream's entry was not written past the divergence
        Assert.Equal(size + 1, (await JetStreamLedgerTests.ReadStreamAsync(nats)).Count); // the second read was not even published

        // The latch shows in /health (NATS itself is fine): 503, events "diverged".
        using (var health = await host.PortalClient().GetAsync("/health"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.Equal(
                "{\"status\":\"unavailable\",\"storage\":{\"backend\":\"" + (backend == TestBackend.Postgres ? "postgres" : "sqlite") + "\",\"status\":\"ok\"},\"events\":{\"backend\":\"jetstream\",\"status\":\"diverged\"}}",
                (await health.Content.ReadFromJsonAsync<JsonElement>()).GetRawText());
        }

        // The critical 6018 names the divergent ledger sequence, the one 6003 names (the foreign entry's), not the position
        // where the projection pass started.
        var records = host.Logs.GetSnapshot();
        var stored = Assert.Single(records, r => r.Id.Id == 6003);
        var latched = Assert.Single(records, r => r.Id.Id == 6018);
        var at = size.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal((at, at), (stored.GetStructuredStateValue("Sequence"), latched.GetStructuredStateValue("Sequence")));
        Assert.Equal(
            $"The ledger tables diverge from the event log at ledger sequence {at}: the projector stopped and every append, so every guarded read, is refused until an operator investigates and restarts the server (docs/events.md).",
            latched.Message);
    }

    private static List<string> TableLeaves(string data)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(data, "custodian.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT leaf_hash FROM ledger_entries ORDER BY seq";
        using var reader = command.ExecuteReader();
        var leaves = new List<string>();
        while (reader.Read())
        {
            leaves.Add(Convert.ToHexString((byte[])reader[0]));
        }

        return leaves;
    }
}
