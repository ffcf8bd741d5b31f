using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Custodian.Events;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Ledger.Projection;
using Custodian.Lookup;
using Custodian.Problems;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Custodian.Tests.Events;

/// <summary>
/// The JetStream event log against a real nats-server (docs/events.md): guarded reads publish one entry and are answered
/// after the acknowledgement; a stopped server refuses reads (fail closed) and a restarted one loses and duplicates
/// nothing; the ledger projected from the stream has the roots and proofs the embedded writer gives the same entries.
/// </summary>
public sealed class JetStreamLedgerTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 2, 9, 0, 0, TimeSpan.Zero);

    // The deployment identity of the ledgers these tests build by hand (a real one is the checkpoint key's name and ID).
    private const string TestDeployment = "custodian/test+0000abcd";

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    [Trait("Backend", "Both")] // each row names its backend whatever CUSTODIAN_TEST_BACKEND says, and the first pass runs both: the PostgreSQL pass skips it (scripts/test.sh)
    public async Task A_guarded_lookup_writes_exactly_one_ledger_entry_and_the_stream_holds_it(TestBackend backend)
    {
        await using var nats = await NatsServer.StartNewAsync();
        await using var host = await CustodianTestHost.StartAsync(subscribers: 20, backend: backend, options: o => o.Events = nats.Url);
        var (client, _, _) = await host.ClerkAsync("C0001");
        var subscriber = host.Population[3];
        var before = (await host.LedgerAsync()).Count;

        using var response = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = subscriber.Phone });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = (await response.Content.ReadFromJsonAsync<SearchResponse>())!;
        Assert.Single(result.Results);
        var added = (await host.LedgerAsync()).Skip(before).Where(e => e.Entry.Task == AccessTask.Search).ToList();
        var entry = Assert.Single(added);
        Assert.Equal(result.LedgerSequence, entry.Sequence);
        Assert.Equal([await GuardedLookupTests.IdOf(host, subscriber.Phone)], entry.Entry.Subjects);

        // The stream holds every ledger entry at stream sequence = ledger sequence + 1, with the same leaf hash.
        var stream = await ReadStreamAsync(nats);
        var ledger = await host.LedgerAsync();
        Assert.Equal(ledger.Select(e => Convert.ToHexString(e.LeafHash.Span)), stream.Select(m => Convert.ToHexString(MerkleTree.HashLeaf(m.Payload))));
        Assert.Equal(Enumerable.Range(1, ledger.Count).Select(i => (ulong)i), stream.Select(m => m.Sequence));
        var message = stream[(int)entry.Sequence];
        Assert.Equal($"custodian.ledger.c{LedgerSubjects.PartitionOf("C0001"):D2}.t{LedgerSubjects.PartitionOf("S001-t-C0001"):D2}", message.Subject);
        Assert.Equal(32, message.MessageId.Length); // 16 random bytes, hexadecimal
        Assert.Equal(stream.Count, stream.Select(m => m.MessageId).Distinct().Count());

        using var health = await host.PortalClient().GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var backendName = backend == TestBackend.Postgres ? "postgres" : "sqlite";
        Assert.Equal(
            "{\"status\":\"ok\",\"storage\":{\"backend\":\"" + backendName + "\",\"status\":\"ok\"},\"events\":{\"backend\":\"jetstream\",\"status\":\"ok\"}}",
            (await health.Content.ReadFromJsonAsync<JsonElement>()).GetRawText());
    }

    [Fact]
    public async Task With_nats_stopped_a_guarded_read_is_refused_and_after_a_restart_reads_work_with_nothing_lost_or_duplicated()
    {
        await using var nats = await NatsServer.StartNewAsync();
        await using var host = await CustodianTestHost.StartAsync(subscribers: 20, options: o =>
        {
            o.Events = nats.Url;
            o.JetStream.AckTimeoutMilliseconds = 1_000;
        });
        var (client, _, _) = await host.ClerkAsync("C0001");
        var subscriber = host.Population[2];
        var served = new List<long> { await SearchSequenceAsync(client, subscriber.Phone) };

        await nats.StopAsync();
        using (var refused = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = subscriber.Phone }))
        {
            var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable, ErrorCodes.LedgerUnavailable);
            Assert.True(problem.GetProperty("transient").GetBoolean());
            Assert.False(problem.TryGetProperty("results", out _)); // nothing returned
            Assert.DoesNotContain(host.Get<Custodian.Protection.Masking.MaskingPolicy>().MaskName(subscriber.Name), await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var health = await host.PortalClient().GetAsync("/health"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.Equal(
                "{\"status\":\"unavailable\",\"storage\":{\"backend\":\"" + (host.Backend == TestBackend.Postgres ? "postgres" : "sqlite") + "\",\"status\":\"ok\"},\"events\":{\"backend\":\"jetstream\",\"status\":\"unavailable\"}}",
                (await health.Content.ReadFromJsonAsync<JsonElement>()).GetRawText());
        }

        await nats.StartAsync();

        // The client reconnects on its own; reads are refused until it has, then served again.
        var watch = Stopwatch.StartNew();
        while (true)
        {
            using var retry = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = subscriber.Phone });
            if (retry.StatusCode == HttpStatusCode.OK)
            {
                served.Add((await retry.Content.ReadFromJsonAsync<SearchResponse>())!.LedgerSequence);
                break;
            }

            await ProblemAssert.IsProblemAsync(retry, HttpStatusCode.ServiceUnavailable, ErrorCodes.LedgerUnavailable);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), "reads did not recover within 60 s of the restart");
            await Task.Delay(200);
        }

        served.Add(await SearchSequenceAsync(client, subscriber.Phone));

        // Nothing lost, nothing duplicated: the table mirrors the stream one to one, and each served read has its own entry.
        var ledger = await host.LedgerAsync();
        var stream = await ReadStreamAsync(nats);
        Assert.Equal(stream.Select(m => Convert.ToHexString(MerkleTree.HashLeaf(m.Payload))), ledger.Select(e => Convert.ToHexString(e.LeafHash.Span)));
        Assert.Equal(Enumerable.Range(0, ledger.Count).Select(i => (long)i), ledger.Select(e => e.Sequence));
        Assert.Equal(stream.Count, stream.Select(m => m.MessageId).Distinct().Count());
        Assert.Equal(served.Count, served.Distinct().Count());
        Assert.All(served, s => Assert.Equal(AccessTask.Search, ledger[(int)s].Entry.Task));

        var verified = await new LedgerVerifier(host.Get<CustodianDatabase>()).VerifyAsync();
        Assert.True(verified.IsValid, verified.Message);
        Assert.Equal(ledger.Count, verified.TreeSize);
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    [Trait("Backend", "Both")] // each row names its backend whatever CUSTODIAN_TEST_BACKEND says, and the first pass runs both: the PostgreSQL pass skips it (scripts/test.sh)
    public async Task The_same_entries_give_the_same_roots_and_proofs_as_the_embedded_ledger(TestBackend backend)
    {
        await using var nats = await NatsServer.StartNewAsync();
        var directory = Directory.CreateTempSubdirectory("custodian-events-");
        await using var schema = backend == TestBackend.Postgres ? await TestStorage.CreateSchemaAsync() : null;
        try
        {
            var time = new FakeTimeProvider(Start);
            var embeddedDb = new CustodianDatabase(Path.Combine(directory.FullName, "embedded.db"));
            await using var streamDb = schema is null ? new CustodianDatabase(Path.Combine(directory.FullName, "projected.db")) : CustodianDatabase.ForPostgres(schema.Settings);
            await embeddedDb.MigrateAsync(new LedgerMigrations().Migrations, time);
            await streamDb.MigrateAsync(new LedgerMigrations().Migrations, time);
            var projection = new LedgerProjection(streamDb, time, NullLogger<LedgerProjection>.Instance);
            var published = new InProcessAccessEventStream();
            using var subscription = published.Subscribe("test");
            var settings = EventsSettings.Parse(nats.Url, new JetStreamOptions()).Value!;
            await using var embedded = new SqliteAccessLedger(embeddedDb, new InProcessAccessEventStream(), time, NullLogger<SqliteAccessLedger>.Instance);
            await using var jetStream = new JetStreamAccessLedger(settings, projection, published, () => TestDeployment, NullLogger<JetStreamAccessLedger>.Instance, new LedgerOptions { MaxBatchSize = 16 });
            await jetStream.StartAsync();

            // 70 entries: complete subtrees at level 4 (16 leaves) are stored; some appended concurrently (projected in batches).
            const int count = 70;
            for (var i = 0; i < 40; i++)
            {
                var a = await embedded.AppendAsync(Entry(i));
                var b = await jetStream.AppendAsync(Entry(i));
                Assert.Equal(a.Sequence, b.Sequence);
                Assert.Equal(a.LeafHash.ToArray(), b.LeafHash.ToArray());
                Assert.Equal(LeafCodec.Encode(a.Entry), LeafCodec.Encode(b.Entry));
            }

            var concurrent = await Task.WhenAll(Enumerable.Range(40, 30).Select(i => jetStream.AppendAsync(Entry(i)).AsTask()));
            Assert.Equal(Enumerable.Range(40, 30).Select(i => (long)i), concurrent.Select(c => c.Sequence).Order());
            foreach (var c in concurrent.OrderBy(c => c.Sequence))
            {
                // The stream's order is the ledger's: append to the embedded ledger in that order.
                var a = await embedded.AppendAsync(LeafCodec.Decode(LeafCodec.Encode(c.Entry)));
                Assert.Equal(c.LeafHash.ToArray(), a.LeafHash.ToArray());
            }

            var e = new LedgerProofs(embeddedDb, embedded);
            var j = new LedgerProofs(streamDb, projection);
            Assert.Equal((await e.GetTreeHeadAsync()).Root, (await j.GetTreeHeadAsync()).Root);
            Assert.Equal(count, (await j.GetTreeHeadAsync()).Size);
            foreach (var size in new long[] { 1, 15, 16, 17, 33, 64, 69, 70 })
            {
                Assert.Equal(await e.GetRootAsync(size), await j.GetRootAsync(size));
                Assert.Equal(await e.GetInclusionProofAsync(size - 1, size), await j.GetInclusionProofAsync(size - 1, size));
                Assert.Equal(await e.GetConsistencyProofAsync(1, size), await j.GetConsistencyProofAsync(1, size));
            }

            Assert.Equal(
                (await embedded.ReadBySubjectAsync(new SubscriberId(1_000_003), null, 100)).Select(x => x.Sequence),
                (await jetStream.ReadBySubjectAsync(new SubscriberId(1_000_003), null, 100)).Select(x => x.Sequence));

            // Every entry reached the in-process stream once, in sequence order.
            var events = new List<long>();
            await foreach (var entry in subscription.Reader.ReadAllAsync())
            {
                events.Add(entry.Sequence);
                if (events.Count == count)
                {
                    break;
                }
            }

            Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), events);
            if (schema is null)
            {
                var verified = await new LedgerVerifier(streamDb).VerifyAsync();
                Assert.True(verified.IsValid, verified.Message);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Entries_acknowledged_but_not_projected_are_projected_at_the_next_start_and_a_foreign_message_stops_appends()
    {
        await using var nats = await NatsServer.StartNewAsync();
        var directory = Directory.CreateTempSubdirectory("custodian-events-");
        try
        {
            var time = new FakeTimeProvider(Start);
            var db = new CustodianDatabase(Path.Combine(directory.FullName, "custodian.db"));
            await db.MigrateAsync(new LedgerMigrations().Migrations, time);
            var settings = EventsSettings.Parse(nats.Url, new JetStreamOptions { AckTimeoutMilliseconds = 1_000 }).Value!;
            await using (var first = new JetStreamAccessLedger(settings, new LedgerProjection(db, time, NullLogger<LedgerProjection>.Instance), new InProcessAccessEventStream(), () => TestDeployment, NullLogger<JetStreamAccessLedger>.Instance))
            {
                for (var i = 0; i < 3; i++)
                {
                    await first.AppendAsync(Entry(i));
                }
            }

            // A node that crashed between the acknowledgement and its projection: two entries are in the stream only.
            await using (var connection = new NatsConnection(NatsOpts.Default with { Url = nats.Url }))
            {
                var js = new NatsJSContext(connection);
                for (var i = 3; i < 5; i++)
                {
                    var ack = await js.PublishAsync(LedgerSubjects.For("custodian.ledger", Entry(i)), LeafCodec.Encode(Entry(i)), opts: new NatsJSPubOpts { MsgId = "crashed-" + i });
                    Assert.Equal((ulong)i + 1, ack.Seq);
                }
            }

            var projection = new LedgerProjection(db, time, NullLogger<LedgerProjection>.Instance);
            Assert.Equal(3, await projection.GetSizeAsync());
            var published = new InProcessAccessEventStream();
            using var subscription = published.Subscribe("test");
            await using var next = new JetStreamAccessLedger(settings, projection, published, () => TestDeployment, NullLogger<JetStreamAccessLedger>.Instance);
            await next.StartAsync();
            var sixth = await next.AppendAsync(Entry(5));
            Assert.Equal(5, sixth.Sequence);
            Assert.Equal([3L, 4, 5], await subscription.Reader.ReadAllAsync().Take(3).Select(e => e.Sequence).ToListAsync());
            var embedded = new List<byte[]>();
            for (var i = 0; i < 6; i++)
            {
                embedded.Add(MerkleTree.HashLeaf(LeafCodec.Encode(Entry(i))));
            }

            Assert.Equal(MerkleTree.ComputeRoot(embedded), (await next.GetTreeHeadAsync()).Root.ToArray());

            // A message that is not a ledger entry on the stream's subjects: the projection stops there, appends are refused.
            await using (var connection = new NatsConnection(NatsOpts.Default with { Url = nats.Url }))
            {
                await new NatsJSContext(connection).PublishAsync("custodian.ledger.c--.t--", "not an entry"u8.ToArray());
            }

            await Assert.ThrowsAsync<LedgerUnavailableException>(async () => await next.AppendAsync(Entry(7)));
            Assert.Equal(6, await next.GetSizeAsync());
            var verified = await new LedgerVerifier(db).VerifyAsync();
            Assert.True(verified.IsValid, verified.Message);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Serve_with_an_unreachable_nats_or_a_bad_events_setting_exits_2_with_one_line_before_creating_anything()
    {
        var directory = Path.Combine(Path.GetTempPath(), "custodian-serve-" + Guid.NewGuid().ToString("N"));
        var (code, lines) = await RunCliAsync("serve", "--data", directory, "--terminal-port", "0", "--portal-port", "0", "--events", "nats://127.0.0.1:1");
        Assert.Equal(2, code);
        Assert.Equal(["error: events nats 127.0.0.1:1 is unavailable: the server is unreachable (connection refused or timed out)."], lines);
        Assert.False(Directory.Exists(directory)); // refused before the data directory, keys or CA were created

        (code, lines) = await RunCliAsync("serve", "--data", directory, "--terminal-port", "0", "--portal-port", "0", "--events", "http://user:secret-pw@127.0.0.1:4222");
        Assert.Equal(2, code);
        Assert.Equal(["error: invalid configuration: Custodian:Events must be 'embedded' or a nats://host:port or tls://host:port URL (docs/events.md lists the values; as an environment variable it is Custodian__Events)."], lines);
        Assert.False(Directory.Exists(directory));
    }

    [Fact]
    public async Task An_embedded_ledger_is_not_moved_onto_an_empty_stream_serve_exits_2_with_one_line()
    {
        await using var nats = await NatsServer.StartNewAsync();
        var directory = Directory.CreateTempSubdirectory("custodian-serve-");
        try
        {
            var (code, _) = await RunCliAsync("init", "--data", directory.FullName); // embedded: the first officer's entry
            Assert.Equal(0, code);

            (code, var lines) = await RunCliAsync("serve", "--data", directory.FullName, "--terminal-port", "0", "--portal-port", "0", "--events", nats.Url);

            Assert.Equal(2, code);
            Assert.Equal(
                [$"error: the data directory {directory.FullName} belongs to a deployment whose event log is embedded, but the configured event log is NATS JetStream stream CUSTODIAN_LEDGER (subject prefix custodian.ledger): unset Custodian__Events (or set it to embedded; serve --events) as the deployment's server has it; a ledger cannot be moved onto a stream yet; nothing was changed (docs/events.md)."],
                lines);
            await using var connection = new NatsConnection(NatsOpts.Default with { Url = nats.Url });
            await Assert.ThrowsAsync<NatsJSApiException>(async () => await new NatsJSContext(connection).GetStreamAsync("CUSTODIAN_LEDGER")); // not created
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_nats_server_without_jetstream_stops_the_start_with_one_line()
    {
        await using var plain = await NatsServer.StartNewAsync(jetStream: false);
        var settings = EventsSettings.Parse(plain.Url, new JetStreamOptions()).Value!;

        var failure = await Assert.ThrowsAsync<EventsUnavailableException>(() => JetStreamAccessLedger.CheckAvailableAsync(settings));

        Assert.Equal($"events nats 127.0.0.1:{plain.Port} is unavailable: JetStream is not enabled on the server (start nats-server with -js).", failure.Message);
    }

    [Fact]
    public async Task Three_replicas_on_a_single_nats_server_stop_the_start_with_one_line_naming_the_setting_and_the_rule()
    {
        await using var nats = await NatsServer.StartNewAsync();
        var directory = Directory.CreateTempSubdirectory("custodian-events-");
        try
        {
            var time = new FakeTimeProvider(Start);
            var db = new CustodianDatabase(Path.Combine(directory.FullName, "custodian.db"));
            await db.MigrateAsync(new LedgerMigrations().Migrations, time);
            var settings = EventsSettings.Parse(nats.Url, new JetStreamOptions { Replicas = 3 }).Value!;
            await using var ledger = new JetStreamAccessLedger(settings, new LedgerProjection(db, time, NullLogger<LedgerProjection>.Instance), new InProcessAccessEventStream(), () => TestDeployment, NullLogger<JetStreamAccessLedger>.Instance);

            var failure = await Assert.ThrowsAsync<EventsUnavailableException>(() => ledger.StartAsync());

            Assert.Equal(
                $"events nats 127.0.0.1:{nats.Port} stream CUSTODIAN_LEDGER cannot be created with Custodian__JetStream__Replicas=3: the JetStream server has fewer nodes than replicas (JetStream error 10074: replicas > 1 not supported in non-clustered mode); set Custodian__JetStream__Replicas to 1 for a single nats-server, at most the cluster's size otherwise (docs/events.md).",
                failure.Message);
            await using var connection = new NatsConnection(NatsOpts.Default with { Url = nats.Url });
            await Assert.ThrowsAsync<NatsJSApiException>(async () => await new NatsJSContext(connection).GetStreamAsync("CUSTODIAN_LEDGER")); // not created
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Wrong_or_missing_nats_credentials_are_reported_as_refused_credentials_without_the_password()
    {
        await using var nats = await NatsServer.StartNewAsync(credentials: ("cu", "pw"));
        foreach (var url in new[] { $"nats://cu:wrong-pw-5531@127.0.0.1:{nats.Port}", nats.Url })
        {
            var settings = EventsSettings.Parse(url, new JetStreamOptions()).Value!;

            var failure = await Assert.ThrowsAsync<EventsUnavailableException>(() => JetStreamAccessLedger.CheckAvailableAsync(settings));

            Assert.Equal($"events nats 127.0.0.1:{nats.Port} is unavailable: the server refused the credentials (authorization violation; set the user and password in Custodian__Events as nats://user:password@host:port).", failure.Message);
        }

        var good = EventsSettings.Parse($"nats://cu:pw@127.0.0.1:{nats.Port}", new JetStreamOptions()).Value!;
        await JetStreamAccessLedger.CheckAvailableAsync(good); // the right credentials connect
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("embedded", null)]
    [InlineData("nats://127.0.0.1", "nats 127.0.0.1:4222")]
    [InlineData("nats://n1.example:4333", "nats n1.example:4333")]
    [InlineData("nats://u:p@n1.example:4333", "nats n1.example:4333")]
    [InlineData("tls://u:p@n1.example", "nats n1.example:4222 (TLS)")]
    [InlineData("TLS://n1.example:4333", "nats n1.example:4333 (TLS)")]
    public void The_events_setting_selects_embedded_or_jetstream_and_never_shows_credentials(string? value, string? display)
    {
        var parsed = EventsSettings.Parse(value, new JetStreamOptions());
        Assert.True(parsed.IsSuccess);
        Assert.Equal(display is not null, parsed.Value!.IsJetStream);
        Assert.Equal(display ?? "embedded", parsed.Value.Display);
    }

    [Theory]
    [InlineData("http://host:4222", null, "Custodian:Events must be 'embedded' or a nats://host:port or tls://host:port URL (docs/events.md lists the values; as an environment variable it is Custodian__Events).")]
    [InlineData("nats://host:4222/path", null, "Custodian:Events must be nats://host:port or tls://host:port with no path, query or fragment (docs/events.md lists the values; as an environment variable it is Custodian__Events).")]
    [InlineData("nats://host:4222", "Replicas", "Custodian:JetStream:Replicas must be 1-5 (1 for one nats-server, 3 for a cluster; docs/events.md lists the values; as an environment variable it is Custodian__JetStream__Replicas).")]
    [InlineData("nats://host:4222", "Stream", "Custodian:JetStream:Stream must be 1-32 characters of A-Z, a-z, 0-9, '_' or '-' (docs/events.md lists the values; as an environment variable it is Custodian__JetStream__Stream).")]
    [InlineData("nats://host:4222", "SubjectPrefix", "Custodian:JetStream:SubjectPrefix must be 1-4 dot-separated tokens of a-z, 0-9, '_' or '-', at most 64 characters (docs/events.md lists the values; as an environment variable it is Custodian__JetStream__SubjectPrefix).")]
    [InlineData("nats://host:4222", "AckTimeout", "Custodian:JetStream:AckTimeoutMilliseconds must be 100-60000 (docs/events.md lists the values; as an environment variable it is Custodian__JetStream__AckTimeoutMilliseconds).")]
    [InlineData("nats://host:4222", "Monitor", "Custodian:JetStream:Monitor must be 'embedded' or 'workers' (docs/events.md lists the values; as an environment variable it is Custodian__JetStream__Monitor).")]
    [InlineData("nats://host:4222", "WorkerLease", "Custodian:JetStream:WorkerLeaseSeconds must be 2-300 (docs/events.md lists the values; as an environment variable it is Custodian__JetStream__WorkerLeaseSeconds).")]
    [InlineData("embedded", "Workers", "Custodian:JetStream:Monitor 'workers' needs the JetStream event log (Custodian:Events = nats://host:port; docs/events.md lists the values; as an environment variable it is Custodian__JetStream__Monitor).")]
    public void A_bad_events_setting_is_refused_naming_the_setting_and_the_rule(string value, string? bad, string message)
    {
        var options = new JetStreamOptions();
        switch (bad)
        {
            case "Replicas": options.Replicas = 7; break;
            case "Stream": options.Stream = "a.b"; break;
            case "SubjectPrefix": options.SubjectPrefix = "custodian.>"; break;
            case "AckTimeout": options.AckTimeoutMilliseconds = 50; break;
            case "Monitor": options.Monitor = "sharded"; break;
            case "WorkerLease": options.WorkerLeaseSeconds = 1; break;
            case "Workers": options.Monitor = "workers"; break;
        }

        var parsed = EventsSettings.Parse(value, options);
        Assert.False(parsed.IsSuccess);
        Assert.Equal(message, parsed.Error!.Message);
    }

    [Fact]
    public void Subjects_carry_partitions_of_clerk_and_terminal_only()
    {
        var entry = new AccessEntry { Time = Start, Task = AccessTask.Search, Outcome = AccessOutcome.Allowed, Account = "C0001", Terminal = "S001-counter-1" };
        Assert.Equal($"p.c{LedgerSubjects.PartitionOf("C0001"):D2}.t{LedgerSubjects.PartitionOf("S001-counter-1"):D2}", LedgerSubjects.For("p", entry));
        Assert.Equal("p.c--.t--", LedgerSubjects.For("p", entry with { Account = null, Terminal = null }));
        Assert.Equal(64, Enumerable.Range(0, 5_000).Select(i => LedgerSubjects.PartitionOf("C" + i)).Distinct().Count());
        Assert.Equal(LedgerSubjects.PartitionOf("C0001"), LedgerSubjects.PartitionOf("C0001"));
    }

    internal static Task<List<StreamMessage>> ReadStreamAsync(NatsServer nats, string stream = "CUSTODIAN_LEDGER") => ReadStreamAsync(nats.Url, stream);

    /// <summary>Every message of <paramref name="stream"/>, in stream order, read through the server at <paramref name="url"/> (any node of a cluster).</summary>
    internal static async Task<List<StreamMessage>> ReadStreamAsync(string url, string stream = "CUSTODIAN_LEDGER")
    {
        // A generous connect timeout: the default 2 s was missed once on a loaded CI machine (the server was up).
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = url, ConnectTimeout = TimeSpan.FromSeconds(30), RequestTimeout = TimeSpan.FromSeconds(30) });
        var js = new NatsJSContext(connection);
        var info = await js.GetStreamAsync(stream);
        var last = info.Info.State.LastSeq;
        var messages = new List<StreamMessage>();
        if (last == 0)
        {
            return messages;
        }

        var consumer = await js.CreateOrderedConsumerAsync(stream, new NatsJSOrderedConsumerOpts { DeliverPolicy = ConsumerConfigDeliverPolicy.All });
        await foreach (var msg in consumer.ConsumeAsync<byte[]>())
        {
            var seq = msg.Metadata!.Value.Sequence.Stream;
            messages.Add(new StreamMessage(seq, msg.Subject, msg.Headers?["Nats-Msg-Id"].ToString() ?? string.Empty, msg.Data ?? []));
            if (seq == last)
            {
                break;
            }
        }

        return messages;
    }

    internal static async Task<(int Code, string[] Lines)> RunCliAsync(params string[] args)
    {
        var captured = new StringWriter();
        var originalError = Console.Error;
        Console.SetError(captured);
        try
        {
            var code = await Custodian.Cli.CustodianCli.RunAsync(args);
            return (code, captured.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }
        finally
        {
            Console.SetError(originalError);
        }
    }

    private static async Task<long> SearchSequenceAsync(HttpClient client, string phone)
    {
        using var response = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<SearchResponse>())!.LedgerSequence;
    }

    private static AccessEntry Entry(int i) => new()
    {
        Time = Start.AddSeconds(i),
        Task = i % 7 == 3 ? AccessTask.View : AccessTask.SignIn,
        Outcome = i % 5 == 4 ? AccessOutcome.Denied : AccessOutcome.Allowed,
        Account = $"C{i % 4:0000}",
        Role = StaffRole.Clerk,
        Terminal = "T-1",
        Store = "S001",
        SourceIp = "10.0.0.1",
        Purpose = i % 7 == 3 ? "in-store-service" : null,
        Subjects = i % 7 == 3 ? [new SubscriberId(1_000_003)] : [],
        Fields = i % 7 == 3 ? ["name", "phone"] : [],
    };

    internal sealed record StreamMessage(ulong Sequence, string Subject, string MessageId, byte[] Payload);
}
