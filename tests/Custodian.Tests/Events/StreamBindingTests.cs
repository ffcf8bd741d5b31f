using System.Text.RegularExpressions;
using Custodian.Events;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Ledger.Checkpoints;
using Custodian.Tests.Infrastructure;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Custodian.Tests.Events;

/// <summary>
/// One stream per deployment (docs/events.md, "One stream per deployment"), through the real command line against a real
/// nats-server: the first start binds the stream to the deployment's identity (checkpoint key name and ID); another
/// deployment's start is refused naming both identities and leaves its data directory as it was; a non-empty stream bound
/// to no deployment is refused unless adopted on purpose; a changed stream name is named in the error.
/// </summary>
public sealed class StreamBindingTests
{
    private static readonly Regex AnyIdentity = new("^custodian/[a-z]+\\+[0-9a-f]{8}$", RegexOptions.CultureInvariant);

    [Fact]
    public async Task A_fresh_deployment_is_refused_another_deployments_stream_naming_both_and_copies_nothing()
    {
        await using var nats = await NatsServer.StartNewAsync();
        var root = Directory.CreateTempSubdirectory("custodian-binding-");
        try
        {
            var a = Path.Combine(root.FullName, "a");
            var b = Path.Combine(root.FullName, "b");
            var init = await CliProcess.RunAsync(Env(nats, "custodian/a"), "init", "--data", a);
            Assert.True(init.Exit == 0, init.Error);
            var identityA = IdentityOf(a);
            Assert.Matches(AnyIdentity, identityA);
            Assert.StartsWith("custodian/a+", identityA, StringComparison.Ordinal);
            var (description, messages) = await StreamAsync(nats, "CUSTODIAN_LEDGER");
            Assert.Equal("Custodian access ledger of deployment " + identityA, description);
            Assert.Equal(1L, messages); // A's first officer

            var refused = await CliProcess.RunAsync(Env(nats, "custodian/b"), "init", "--data", b);

            Assert.Equal(2, refused.Exit);
            Assert.Matches(
                $"^error: events nats 127\\.0\\.0\\.1:{nats.Port} stream CUSTODIAN_LEDGER belongs to deployment {Regex.Escape(identityA)}, not to this deployment \\(custodian/b\\+[0-9a-f]{{8}}\\): each deployment needs its own stream and subjects \\(Custodian:JetStream:Stream, Custodian:JetStream:SubjectPrefix; docs/events\\.md\\)\\.$",
                refused.Error.Trim());
            Assert.False(Directory.Exists(b)); // the failed first start left nothing behind
            Assert.Equal((description, 1L), await StreamAsync(nats, "CUSTODIAN_LEDGER")); // nothing appended, still A's

            // A first start that fails earlier (the stream's replicas differ) leaves nothing behind either.
            var replicas = Env(nats, "custodian/b");
            replicas["Custodian__JetStream__Replicas"] = "3";
            var mismatch = await CliProcess.RunAsync(replicas, "init", "--data", b);
            Assert.Equal(2, mismatch.Exit);
            Assert.Equal($"error: events nats 127.0.0.1:{nats.Port} stream CUSTODIAN_LEDGER has 1 replicas but Custodian:JetStream:Replicas is 3: change one of them (docs/events.md).", mismatch.Error.Trim());
            Assert.False(Directory.Exists(b));

            // serve the same way (in process, --events): one line, exit 2, nothing left.
            var (code, lines) = await JetStreamLedgerTests.RunCliAsync("serve", "--data", b, "--terminal-port", "0", "--portal-port", "0", "--events", nats.Url);
            Assert.Equal(2, code);
            var line = Assert.Single(lines);
            Assert.StartsWith($"error: events nats 127.0.0.1:{nats.Port} stream CUSTODIAN_LEDGER belongs to deployment {identityA}, not to this deployment (", line, StringComparison.Ordinal);
            Assert.False(Directory.Exists(b));

            // A itself still uses its stream.
            var list = await CliProcess.RunAsync(Env(nats, "custodian/a"), "staff", "list", "--data", a);
            Assert.True(list.Exit == 0, list.Error);
            Assert.Contains("officer", list.Output, StringComparison.Ordinal);
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_non_empty_stream_bound_to_no_deployment_is_refused_until_adopted_on_purpose()
    {
        await using var nats = await NatsServer.StartNewAsync();
        var root = Directory.CreateTempSubdirectory("custodian-binding-");
        try
        {
            // A stream as a release before binding created it: no description, one entry.
            await using (var connection = new NatsConnection(NatsOpts.Default with { Url = nats.Url }))
            {
                var js = new NatsJSContext(connection);
                await js.CreateStreamAsync(new StreamConfig("CUSTODIAN_LEDGER", ["custodian.ledger.*.*"]) { Storage = StreamConfigStorage.File, DenyDelete = true, DenyPurge = true });
                var entry = new AccessEntry { Time = new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.Zero), Task = AccessTask.SignIn, Outcome = AccessOutcome.Allowed, Account = "C0001", Role = StaffRole.Clerk };
                var ack = await js.PublishAsync(LedgerSubjects.For("custodian.ledger", entry), LeafCodec.Encode(entry));
                ack.EnsureSuccess();
            }

            var c = Path.Combine(root.FullName, "c");
            var refused = await CliProcess.RunAsync(Env(nats, "custodian/c"), "init", "--data", c);

            Assert.Equal(2, refused.Exit);
            Assert.Matches(
                $"^error: events nats 127\\.0\\.0\\.1:{nats.Port} stream CUSTODIAN_LEDGER holds 1 entries but belongs to no deployment; this deployment is custodian/c\\+[0-9a-f]{{8}}: if it holds this deployment's ledger, start once with Custodian__JetStream__AdoptUnboundStream=true to bind it \\(docs/events\\.md\\)\\.$",
                refused.Error.Trim());
            Assert.False(Directory.Exists(c));
            Assert.Equal((null, 1L), await StreamAsync(nats, "CUSTODIAN_LEDGER"));

            var adopt = Env(nats, "custodian/c");
            adopt["Custodian__JetStream__AdoptUnboundStream"] = "true";
            var adopted = await CliProcess.RunAsync(adopt, "init", "--data", c);
            Assert.True(adopted.Exit == 0, adopted.Error);
            Assert.Equal(("Custodian access ledger of deployment " + IdentityOf(c), 2L), await StreamAsync(nats, "CUSTODIAN_LEDGER")); // bound; the adopted entry and C's first officer

            // Bound now: later runs need no option.
            var list = await CliProcess.RunAsync(Env(nats, "custodian/c"), "staff", "list", "--data", c);
            Assert.True(list.Exit == 0, list.Error);
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_changed_stream_name_is_refused_naming_the_stream_that_holds_the_ledger()
    {
        await using var nats = await NatsServer.StartNewAsync();
        var root = Directory.CreateTempSubdirectory("custodian-binding-");
        try
        {
            var a = Path.Combine(root.FullName, "a");
            var init = await CliProcess.RunAsync(Env(nats, "custodian/a"), "init", "--data", a);
            Assert.True(init.Exit == 0, init.Error);

            // The same deployment with only the stream name changed.
            var renamed = Env(nats, "custodian/a");
            renamed["Custodian__JetStream__Stream"] = "RENAMED";
            var list = await CliProcess.RunAsync(renamed, "staff", "list", "--data", a);
            Assert.Equal(2, list.Exit);
            Assert.Equal(
                $"error: the data directory {Path.GetFullPath(a)} belongs to a deployment whose event log is NATS JetStream stream CUSTODIAN_LEDGER (subject prefix custodian.ledger), but the configured event log is NATS JetStream stream RENAMED (subject prefix custodian.ledger): set Custodian__JetStream__Stream=CUSTODIAN_LEDGER as the deployment's server has it; nothing was changed (docs/events.md).",
                list.Error.Trim());
            Assert.Equal(["CUSTODIAN_LEDGER"], await StreamNamesAsync(nats)); // nothing created

            // A fresh deployment with a new stream name but the same subjects: the owner of the subjects is named.
            var d = Path.Combine(root.FullName, "d");
            var fresh = await CliProcess.RunAsync(renamed, "init", "--data", d);
            Assert.Equal(2, fresh.Exit);
            Assert.Equal(
                $"error: events nats 127.0.0.1:{nats.Port} stream RENAMED does not exist and cannot be created: its subjects custodian.ledger.*.* are already captured by stream CUSTODIAN_LEDGER (if Custodian:JetStream:Stream was changed, set it back; a separate deployment needs its own Custodian:JetStream:SubjectPrefix; docs/events.md).",
                fresh.Error.Trim());
            Assert.False(Directory.Exists(d));

            // With its own stream and subjects, a second deployment on the same NATS server starts.
            renamed["Custodian__JetStream__SubjectPrefix"] = "other.ledger";
            var own = await CliProcess.RunAsync(renamed, "init", "--data", d);
            Assert.True(own.Exit == 0, own.Error);
            Assert.Equal(("Custodian access ledger of deployment " + IdentityOf(d), 1L), await StreamAsync(nats, "RENAMED"));
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    private static Dictionary<string, string> Env(NatsServer nats, string origin) => new()
    {
        ["Custodian__Events"] = nats.Url,
        ["Custodian__Checkpoints__Origin"] = origin,
    };

    private static string IdentityOf(string data) => DeploymentIdentity.Of(LogKeyFile.LoadOrCreate(LogKeyFile.PathFor(data), "unused"));

    private static async Task<(string? Description, long Messages)> StreamAsync(NatsServer nats, string name)
    {
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = nats.Url });
        var stream = await new NatsJSContext(connection).GetStreamAsync(name);
        return (stream.Info.Config.Description, stream.Info.State.Messages);
    }

    private static async Task<List<string>> StreamNamesAsync(NatsServer nats)
    {
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = nats.Url });
        var names = new List<string>();
        await foreach (var name in new NatsJSContext(connection).ListStreamNamesAsync())
        {
            names.Add(name);
        }

        return names;
    }
}
