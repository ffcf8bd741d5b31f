using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Custodian.Events;
using Custodian.Hosting;
using Custodian.Ledger;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.NKeys;

namespace Custodian.Tests.Events;

/// <summary>
/// NATS authentication beyond <c>user:password@</c> (docs/events.md, "Credentials"): an NKey seed file against a real
/// nats-server whose <c>authorization</c> lists the seed's public key; a <c>.creds</c> file (user JWT and seed) against a
/// real nats-server in operator mode, its operator, account and user JWTs made here with NATS.NKeys; a token file. A
/// server refusing them is one line naming the setting; missing, malformed or combined files are refused when the settings
/// are read, never naming the path or printing the secret. The file is read again at each reconnect: a renewed one is
/// used, an invalid or missing one keeps the last good credentials (event 6190).
/// </summary>
public sealed class NatsAuthTests : IDisposable
{
    private readonly DirectoryInfo _files = Directory.CreateTempSubdirectory("custodian-natsauth-");

    public void Dispose() => _files.Delete(recursive: true);

    [Fact]
    public async Task With_an_nkey_seed_file_a_guarded_read_is_served_and_recorded()
    {
        using var user = KeyPair.CreatePair(PrefixByte.User);
        await using var nats = await NatsServer.StartNewAsync(configuration: NKeyServer(user.GetPublicKey()));
        var seedFile = Write("user.nk", user.GetSeed() + "\n");
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10, options: o =>
        {
            o.Events = nats.Url;
            o.JetStream.NKeyFile = seedFile;
        });
        var (client, _, _) = await host.ClerkAsync("C0001");
        var before = (await host.LedgerAsync()).Count;

        using var response = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = host.Population[1].Phone });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([AccessTask.Search], (await host.LedgerAsync()).Skip(before).Select(e => e.Entry.Task));
        using var health = await host.PortalClient().GetAsync(new Uri("/health", UriKind.Relative));
        Assert.Equal("{\"backend\":\"jetstream\",\"status\":\"ok\"}", (await health.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("events").GetRawText());
    }

    [Fact]
    public async Task Another_seed_or_no_seed_against_an_nkey_server_is_refused_in_one_line_without_the_seed()
    {
        using var user = KeyPair.CreatePair(PrefixByte.User);
        using var stranger = KeyPair.CreatePair(PrefixByte.User);
        await using var nats = await NatsServer.StartNewAsync(configuration: NKeyServer(user.GetPublicKey()));
        var where = $"127.0.0.1:{nats.Port}";

        var refused = await RefusalAsync(nats.Url, new JetStreamOptions { NKeyFile = Write("stranger.nk", stranger.GetSeed()), AckTimeoutMilliseconds = 2_000 });

        Assert.Equal($"events nats {where} is unavailable: the server refused the credentials (authorization violation; the server lists no user with the public key of the NKey seed in Custodian__JetStream__NKeyFile).", refused.Message);
        Assert.DoesNotContain(stranger.GetSeed(), Everything(refused), StringComparison.Ordinal);
        Assert.Equal(
            $"events nats {where} is unavailable: the server refused the credentials (authorization violation; set the user and password in Custodian__Events as nats://user:password@host:port).",
            (await RefusalAsync(nats.Url, new JetStreamOptions { AckTimeoutMilliseconds = 2_000 })).Message);

        // The seed file with its public key line (nk -gen user -pubout) connects too.
        var good = EventsSettings.Parse(nats.Url, new JetStreamOptions { NKeyFile = Write("user.nk", $"{user.GetSeed()}\n{user.GetPublicKey()}\n") }).Value!;
        await JetStreamAccessLedger.CheckAvailableAsync(good);
    }

    [Fact]
    public async Task With_a_creds_file_an_operator_mode_server_serves_a_guarded_read_and_refuses_a_user_of_an_unknown_account()
    {
        using var trust = new OperatorTrust();
        await using var nats = await NatsServer.StartNewAsync(configuration: trust.ServerConfiguration);
        using var user = KeyPair.CreatePair(PrefixByte.User);
        var credsFile = Write("user.creds", Creds(trust.UserJwt(user.GetPublicKey()), user.GetSeed()));
        var where = $"127.0.0.1:{nats.Port}";

        await using (var host = await CustodianTestHost.StartAsync(subscribers: 10, options: o =>
        {
            o.Events = nats.Url;
            o.JetStream.CredsFile = credsFile;
        }))
        {
            var (client, _, _) = await host.ClerkAsync("C0001");
            var before = (await host.LedgerAsync()).Count;

            using var response = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = host.Population[1].Phone });

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal([AccessTask.Search], (await host.LedgerAsync()).Skip(before).Select(e => e.Entry.Task));
        }

        // A user signed by an account the operator never issued: refused by the server, one line.
        using var foreignAccount = KeyPair.CreatePair(PrefixByte.Account);
        using var foreignUser = KeyPair.CreatePair(PrefixByte.User);
        var foreign = Write("foreign.creds", Creds(OperatorTrust.Jwt(foreignAccount, foreignUser.GetPublicKey(), UserClaims()), foreignUser.GetSeed()));
        var refused = await RefusalAsync(nats.Url, new JetStreamOptions { CredsFile = foreign, AckTimeoutMilliseconds = 2_000 });
        Assert.Equal(
            $"events nats {where} is unavailable: the server refused the credentials (authorization violation; the server does not accept the user JWT of Custodian__JetStream__CredsFile: not issued by an account it trusts, expired or revoked).",
            refused.Message);
        Assert.DoesNotContain(foreignUser.GetSeed(), Everything(refused), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_renewed_creds_file_is_used_at_the_next_reconnect_without_a_restart_and_an_expired_jwt_is_warned_about()
    {
        using var trust = new OperatorTrust();
        await using var nats = await NatsServer.StartNewAsync(configuration: trust.ServerConfiguration);
        using var first = KeyPair.CreatePair(PrefixByte.User);
        using var second = KeyPair.CreatePair(PrefixByte.User);

        // The first user's JWT expires at 2033-05-18T03:33:20Z (nats-server, on the real clock, accepts it); Custodian's
        // clock is one second past it, so the connect warns (6191) and still hands it over.
        var credsFile = Write("custodian.creds", Creds(trust.UserJwt(first.GetPublicKey(), expires: 2_000_000_000), first.GetSeed()));
        var settings = EventsSettings.Parse(nats.Url, new JetStreamOptions { CredsFile = credsFile }).Value!;
        var log = new FakeLogger();
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(2_000_000_001));
        await using var connection = new NatsConnection(settings.ConnectionOptions("custodian-renewal", TimeSpan.FromSeconds(2), log, time));
        await connection.ConnectAsync();
        await new NatsJSContext(connection).GetAccountInfoAsync();

        // The file is renewed (nsc generate creds for another user), and the server restarts with the first user revoked:
        // the reconnect reads the file again and gets through as the second user.
        Write("custodian.creds", Creds(trust.UserJwt(second.GetPublicKey()), second.GetSeed()));
        await nats.StopAsync();
        nats.Configuration = trust.ServerConfigurationRevoking(first.GetPublicKey());
        await nats.StartAsync();
        await ServedAfterReconnectAsync(connection);

        Assert.Equal(
            [
                (6191, LogLevel.Warning, "The user JWT of Custodian__JetStream__CredsFile expired at 2033-05-18T03:33:20.0000000+00:00; the NATS server refuses it: renew the file (read again at each reconnect)."),
                (6192, LogLevel.Information, "The NATS credentials in Custodian__JetStream__CredsFile changed; the renewed ones are used from this connection attempt."),
            ],
            log.Collector.GetSnapshot().Select(r => (r.Id.Id, r.Level, r.Message)));

        // The revocation holds: the first user's file is refused by the restarted server.
        var refused = await RefusalAsync(nats.Url, new JetStreamOptions { CredsFile = Write("first.creds", Creds(trust.UserJwt(first.GetPublicKey()), first.GetSeed())), AckTimeoutMilliseconds = 2_000 });
        Assert.Equal(
            $"events nats 127.0.0.1:{nats.Port} is unavailable: the server refused the credentials (authorization violation; the server does not accept the user JWT of Custodian__JetStream__CredsFile: not issued by an account it trusts, expired or revoked).",
            refused.Message);
    }

    [Fact]
    public async Task A_renewed_file_that_is_invalid_or_gone_keeps_the_last_good_credentials_and_logs_6190_without_the_path_or_secret()
    {
        using var trust = new OperatorTrust();
        await using var nats = await NatsServer.StartNewAsync(configuration: trust.ServerConfiguration);
        using var user = KeyPair.CreatePair(PrefixByte.User);
        var credsFile = Write("custodian.creds", Creds(trust.UserJwt(user.GetPublicKey()), user.GetSeed()));
        var settings = EventsSettings.Parse(nats.Url, new JetStreamOptions { CredsFile = credsFile }).Value!;
        var log = new FakeLogger();
        await using var connection = new NatsConnection(settings.ConnectionOptions("custodian-renewal", TimeSpan.FromSeconds(2), log, new FakeTimeProvider()));
        await connection.ConnectAsync();

        // Half written (the JWT only), then removed: each reconnect keeps the last good credentials and says why.
        Write("custodian.creds", $"-----BEGIN NATS USER JWT-----\n{trust.UserJwt(user.GetPublicKey())}\n------END NATS USER JWT------\n");
        await RestartAsync();
        File.Delete(credsFile);
        await RestartAsync();

        const string Kept = " The last good credentials read from Custodian__JetStream__CredsFile are used for this connection attempt; the file is read again at the next one.";
        Assert.Equal(
            [
                (6190, LogLevel.Warning, "The renewed NATS credentials were not taken: Custodian:JetStream:CredsFile must be a NATS credentials file as nsc writes it: a user JWT after -----BEGIN NATS USER JWT----- and its NKey user seed after -----BEGIN USER NKEY SEED----- (no user seed; docs/events.md lists the values; as an environment variable it is Custodian__JetStream__CredsFile)." + Kept),
                (6190, LogLevel.Warning, "The renewed NATS credentials were not taken: Custodian:JetStream:CredsFile must be a readable file (no such file; docs/events.md lists the values; as an environment variable it is Custodian__JetStream__CredsFile)." + Kept),
            ],
            log.Collector.GetSnapshot().Select(r => (r.Id.Id, r.Level, r.Message)));
        foreach (var record in log.Collector.GetSnapshot())
        {
            Assert.DoesNotContain(_files.FullName, record.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(user.GetSeed(), record.Message, StringComparison.Ordinal);
        }

        async Task RestartAsync()
        {
            var before = log.Collector.Count;
            await nats.StopAsync();
            await nats.StartAsync();
            await ServedAfterReconnectAsync(connection);
            Assert.Equal(before + 1, log.Collector.Count);
        }
    }

    [Fact]
    public async Task A_renewed_token_file_is_used_at_the_next_reconnect()
    {
        await using var nats = await NatsServer.StartNewAsync(configuration: "authorization { token: \"t0k-3n_9921\" }\n");
        var tokenFile = Write("token", "t0k-3n_9921\n");
        var log = new FakeLogger();
        await using var connection = new NatsConnection(EventsSettings.Parse(nats.Url, new JetStreamOptions { TokenFile = tokenFile }).Value!
            .ConnectionOptions("custodian-renewal", TimeSpan.FromSeconds(2), log, new FakeTimeProvider()));
        await connection.ConnectAsync();

        Write("token", "r0tated-7781\n");
        await nats.StopAsync();
        nats.Configuration = "authorization { token: \"r0tated-7781\" }\n";
        await nats.StartAsync();
        await ServedAfterReconnectAsync(connection);

        Assert.Equal(
            [(6192, LogLevel.Information, "The NATS credentials in Custodian__JetStream__TokenFile changed; the renewed ones are used from this connection attempt.")],
            log.Collector.GetSnapshot().Select(r => (r.Id.Id, r.Level, r.Message)));
    }

    [Fact]
    public async Task A_token_file_connects_and_a_wrong_token_is_refused_in_one_line()
    {
        await using var nats = await NatsServer.StartNewAsync(configuration: "authorization { token: \"t0k-3n_9921\" }\n");

        await JetStreamAccessLedger.CheckAvailableAsync(EventsSettings.Parse(nats.Url, new JetStreamOptions { TokenFile = Write("token", "t0k-3n_9921\n") }).Value!);
        var refused = await RefusalAsync(nats.Url, new JetStreamOptions { TokenFile = Write("wrong", "wrong-4417"), AckTimeoutMilliseconds = 2_000 });

        Assert.Equal($"events nats 127.0.0.1:{nats.Port} is unavailable: the server refused the credentials (authorization violation; the server does not accept the token in Custodian__JetStream__TokenFile).", refused.Message);
        Assert.DoesNotContain("wrong-4417", Everything(refused), StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_malformed_or_mismatched_credential_files_are_refused_when_the_settings_are_read_naming_only_the_setting()
    {
        using var user = KeyPair.CreatePair(PrefixByte.User);
        using var other = KeyPair.CreatePair(PrefixByte.User);
        using var account = KeyPair.CreatePair(PrefixByte.Account);
        var missing = Path.Combine(_files.FullName, "no-such.nk");
        const string NKeyShape = "Custodian:JetStream:NKeyFile must hold one NKey user seed, a line SU… as 'nk -gen user' writes it, optionally followed by its public key U… (";
        const string NKeyPointer = "; docs/events.md lists the values; as an environment variable it is Custodian__JetStream__NKeyFile).";
        const string CredsShape = "Custodian:JetStream:CredsFile must be a NATS credentials file as nsc writes it: a user JWT after -----BEGIN NATS USER JWT----- and its NKey user seed after -----BEGIN USER NKEY SEED----- (";
        const string CredsPointer = "; docs/events.md lists the values; as an environment variable it is Custodian__JetStream__CredsFile).";
        var userJwt = OperatorTrust.Jwt(account, user.GetPublicKey(), UserClaims());

        Assert.Equal("Custodian:JetStream:NKeyFile must be a readable file (no such file" + NKeyPointer, Error(new JetStreamOptions { NKeyFile = missing }));
        Assert.Equal(NKeyShape + "no seed" + NKeyPointer, Error(new JetStreamOptions { NKeyFile = Write("empty.nk", "\n") }));
        Assert.Equal(NKeyShape + "the seed is not a valid NKey user seed" + NKeyPointer, Error(new JetStreamOptions { NKeyFile = Write("account.nk", account.GetSeed()) }));
        var corrupt = user.GetSeed()[..^2] + (user.GetSeed()[^2] == 'A' ? "B" : "A") + user.GetSeed()[^1];
        Assert.Equal(NKeyShape + "the seed is not a valid NKey user seed" + NKeyPointer, Error(new JetStreamOptions { NKeyFile = Write("corrupt.nk", corrupt) }));
        Assert.Equal(NKeyShape + "the public key is not the seed's" + NKeyPointer, Error(new JetStreamOptions { NKeyFile = Write("pair.nk", $"{user.GetSeed()}\n{other.GetPublicKey()}") }));
        Assert.Equal(NKeyShape + "a line that is neither a seed nor a user public key" + NKeyPointer, Error(new JetStreamOptions { NKeyFile = Write("pem.nk", "-----BEGIN PRIVATE KEY-----\n") }));
        Assert.Equal(NKeyShape + "not text" + NKeyPointer, Error(new JetStreamOptions { NKeyFile = WriteBytes("binary.nk", [0xff, 0xfe, 0x00, 0x53]) }));

        Assert.Equal("Custodian:JetStream:CredsFile must be a readable file (no such file" + CredsPointer, Error(new JetStreamOptions { CredsFile = missing }));
        Assert.Equal(CredsShape + "no user JWT" + CredsPointer, Error(new JetStreamOptions { CredsFile = Write("seed-only.creds", user.GetSeed()) }));
        Assert.Equal(CredsShape + "no user seed" + CredsPointer, Error(new JetStreamOptions { CredsFile = Write("jwt-only.creds", $"-----BEGIN NATS USER JWT-----\n{userJwt}\n------END NATS USER JWT------\n") }));
        Assert.Equal(CredsShape + "the JWT is not a NATS user JWT" + CredsPointer, Error(new JetStreamOptions { CredsFile = Write("bad-jwt.creds", Creds("not.a-jwt.at-all", user.GetSeed())) }));
        Assert.Equal(CredsShape + "the JWT is not a NATS user JWT" + CredsPointer, Error(new JetStreamOptions { CredsFile = Write("account-jwt.creds", Creds(OperatorTrust.Jwt(account, account.GetPublicKey(), new JsonObject { ["type"] = "account", ["version"] = 2 }), user.GetSeed())) }));
        Assert.Equal(CredsShape + "the JWT is not the seed's user" + CredsPointer, Error(new JetStreamOptions { CredsFile = Write("other.creds", Creds(userJwt, other.GetSeed())) }));
        Assert.Equal(CredsShape + "the seed is not a valid NKey user seed" + CredsPointer, Error(new JetStreamOptions { CredsFile = Write("account-seed.creds", Creds(userJwt, account.GetSeed())) }));

        Assert.Equal(
            "Custodian:JetStream:TokenFile must hold the token on one line (empty; docs/events.md lists the values; as an environment variable it is Custodian__JetStream__TokenFile).",
            Error(new JetStreamOptions { TokenFile = Write("empty-token", " \n") }));
        Assert.Equal(
            "Custodian:JetStream:TokenFile must hold the token on one line (white space inside the token; docs/events.md lists the values; as an environment variable it is Custodian__JetStream__TokenFile).",
            Error(new JetStreamOptions { TokenFile = Write("spaced-token", "two words") }));

        // A good seed file parses; neither its path nor its seed shows in what the settings print.
        var seedFile = Write("user.nk", user.GetSeed());
        var settings = EventsSettings.Parse("nats://127.0.0.1:4222", new JetStreamOptions { NKeyFile = seedFile }).Value!;
        var printed = settings.Display + settings.ConnectionOptions("custodian", TimeSpan.FromSeconds(2)).ToString();
        Assert.DoesNotContain(user.GetSeed(), printed, StringComparison.Ordinal);
        Assert.DoesNotContain(seedFile, printed, StringComparison.Ordinal);
        Assert.Equal("nats 127.0.0.1:4222", settings.Display);

        static string Error(JetStreamOptions options)
        {
            var message = EventsSettings.Parse("nats://127.0.0.1:4222", options).Error!.Message;
            Assert.DoesNotContain(Path.GetTempPath().TrimEnd('/'), message, StringComparison.Ordinal);
            return message;
        }
    }

    [Fact]
    public void At_most_one_way_to_authenticate_is_accepted()
    {
        using var user = KeyPair.CreatePair(PrefixByte.User);
        var seedFile = Write("user.nk", user.GetSeed());
        var tokenFile = Write("token", "t0ken");

        Assert.Equal(
            "Custodian:JetStream:NKeyFile must not be set with CredsFile: one way to authenticate to NATS (NKeyFile, CredsFile, TokenFile, or user:password@ in Custodian:Events; docs/events.md lists the values; as an environment variable it is Custodian__JetStream__NKeyFile).",
            EventsSettings.Parse("nats://127.0.0.1:4222", new JetStreamOptions { NKeyFile = seedFile, CredsFile = seedFile }).Error!.Message);
        Assert.Equal(
            "Custodian:JetStream:CredsFile must not be set with TokenFile: one way to authenticate to NATS (NKeyFile, CredsFile, TokenFile, or user:password@ in Custodian:Events; docs/events.md lists the values; as an environment variable it is Custodian__JetStream__CredsFile).",
            EventsSettings.Parse("nats://127.0.0.1:4222", new JetStreamOptions { CredsFile = seedFile, TokenFile = tokenFile }).Error!.Message);
        var combined = EventsSettings.Parse("nats://cu:secret-pw-8812@127.0.0.1:4222", new JetStreamOptions { NKeyFile = seedFile }).Error!.Message;
        Assert.Equal(
            "Custodian:Events carries user:password@ and Custodian:JetStream:NKeyFile is set: one way to authenticate to NATS (NKeyFile, CredsFile, TokenFile, or user:password@ in Custodian:Events; docs/events.md lists the values; as an environment variable it is Custodian__Events).",
            combined);
        Assert.DoesNotContain("secret-pw-8812", combined, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_refuses_a_missing_nkey_file_with_exit_2_and_the_embedded_event_log_refuses_the_setting()
    {
        var data = Path.Combine(_files.FullName, "node");
        var (exit, output, error) = await CliProcess.RunAsync(
            new Dictionary<string, string> { ["Custodian__Events"] = "nats://127.0.0.1:4222", ["Custodian__JetStream__NKeyFile"] = Path.Combine(_files.FullName, "absent.nk") },
            "serve", "--data", data, "--terminal-port", "0", "--portal-port", "0");

        Assert.Equal(
            (2, string.Empty, "error: invalid configuration: Custodian:JetStream:NKeyFile must be a readable file (no such file; docs/events.md lists the values; as an environment variable it is Custodian__JetStream__NKeyFile)."),
            (exit, output, error.TrimEnd('\n')));
        Assert.False(Directory.Exists(data));

        foreach (var setting in new[] { "NKeyFile", "CredsFile", "TokenFile" })
        {
            var environment = new ConfigurationBuilder().AddInMemoryCollection([new($"Custodian:JetStream:{setting}", "/etc/custodian/x")]).Build();
            var refused = Assert.Throws<InvalidOperationException>(() => CustodianServer.RefuseSettingsNotRead(new CustodianOptions { DataDirectory = data }, environment));
            Assert.Equal(
                $"invalid configuration: Custodian:JetStream:{setting} (environment variable Custodian__JetStream__{setting}) applies only with the JetStream event log "
                + "(serve --events nats://host:port, or Custodian__Events); this server uses the embedded event log, which does not read it (docs/events.md)",
                refused.Message);
        }
    }

    private static string NKeyServer(string userPublicKey) => $"authorization {{ users = [ {{ nkey: {userPublicKey} }} ] }}\n";

    private static string Creds(string jwt, string seed) =>
        $"-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n************************* IMPORTANT *************************\n"
        + $"NKEY Seed printed below can be used to sign and prove identity.\n\n-----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n";

    private static JsonObject UserClaims() => new()
    {
        ["pub"] = new JsonObject(),
        ["sub"] = new JsonObject(),
        ["subs"] = -1,
        ["data"] = -1,
        ["payload"] = -1,
        ["type"] = "user",
        ["version"] = 2,
    };

    // The message and every inner exception's message, to check that no secret is anywhere in the chain.
    private static string Everything(Exception ex)
    {
        var text = new StringBuilder();
        for (Exception? current = ex; current is not null; current = current.InnerException)
        {
            text.AppendLine(current.ToString());
        }

        return text.ToString();
    }

    // Waits (up to 20 s) until the connection has reconnected and JetStream answers on it.
    private static async Task ServedAfterReconnectAsync(NatsConnection connection)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await new NatsJSContext(connection).GetAccountInfoAsync(attempt.Token);
                return;
            }
            catch (Exception) when (watch.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(100);
            }
        }
    }

    private static async Task<EventsUnavailableException> RefusalAsync(string url, JetStreamOptions options)
    {
        var settings = EventsSettings.Parse(url, options).Value!;
        return await Assert.ThrowsAsync<EventsUnavailableException>(() => JetStreamAccessLedger.CheckAvailableAsync(settings));
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_files.FullName, name);
        File.WriteAllText(path, text);
        return path;
    }

    private string WriteBytes(string name, byte[] bytes)
    {
        var path = Path.Combine(_files.FullName, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>
    /// An operator and one account with JetStream, as nsc would make them: the operator JWT (self-signed), the account JWT
    /// (signed by the operator, JetStream limits unlimited) and user JWTs signed by the account — each base64url JSON
    /// signed with the issuer's Ed25519 NKey; and the system account that JetStream needs in operator mode. The server
    /// trusts the operator and preloads both accounts (resolver MEMORY).
    /// </summary>
    private sealed class OperatorTrust : IDisposable
    {
        private readonly KeyPair _operator = KeyPair.CreatePair(PrefixByte.Operator);
        private readonly KeyPair _account = KeyPair.CreatePair(PrefixByte.Account);
        private readonly KeyPair _system = KeyPair.CreatePair(PrefixByte.Account);

        public string ServerConfiguration => Configuration(null);

        private string Configuration(JsonObject? revocations)
        {
            // JetStream in operator mode needs a system account (nats-server: "system account not setup").
            var operatorJwt = Jwt(_operator, _operator.GetPublicKey(), new JsonObject { ["system_account"] = _system.GetPublicKey(), ["type"] = "operator", ["version"] = 2 });
            var systemJwt = Jwt(_operator, _system.GetPublicKey(), new JsonObject { ["type"] = "account", ["version"] = 2 });
            var accountClaims = new JsonObject
            {
                ["limits"] = new JsonObject
                {
                    ["subs"] = -1, ["data"] = -1, ["payload"] = -1, ["imports"] = -1, ["exports"] = -1, ["wildcards"] = true, ["conn"] = -1, ["leaf"] = -1,
                    ["mem_storage"] = -1, ["disk_storage"] = -1, ["streams"] = -1, ["consumer"] = -1,
                },
                ["default_permissions"] = new JsonObject { ["pub"] = new JsonObject(), ["sub"] = new JsonObject() },
                ["type"] = "account",
                ["version"] = 2,
            };
            if (revocations is not null)
            {
                accountClaims["revocations"] = revocations; // JWT v2: user public key -> JWTs of it issued at or before this time (s) are revoked
            }

            var accountJwt = Jwt(_operator, _account.GetPublicKey(), accountClaims);

            return $"operator: {operatorJwt}\nsystem_account: {_system.GetPublicKey()}\nresolver: MEMORY\n"
                + $"resolver_preload: {{\n  {_account.GetPublicKey()}: {accountJwt}\n  {_system.GetPublicKey()}: {systemJwt}\n}}\n";
        }

        /// <summary>The configuration with <paramref name="userPublicKey"/> revoked in the account (every JWT of it issued until now).</summary>
        public string ServerConfigurationRevoking(string userPublicKey) => Configuration(new JsonObject { [userPublicKey] = 1_800_000_000 });

        public string UserJwt(string userPublicKey, long? expires = null) => Jwt(_account, userPublicKey, UserClaims(), expires);

        public void Dispose()
        {
            _operator.Dispose();
            _account.Dispose();
            _system.Dispose();
        }

        // A NATS JWT (v2): header {"typ":"JWT","alg":"ed25519-nkey"}, claims {jti, iat, iss, name, sub, nats}, signed by the issuer.
        public static string Jwt(KeyPair issuer, string subject, JsonObject nats, long? expires = null)
        {
            var claims = new JsonObject
            {
                ["jti"] = string.Empty,
                ["iat"] = 1_700_000_000,
                ["iss"] = issuer.GetPublicKey(),
                ["name"] = "custodian-test",
                ["sub"] = subject,
                ["nats"] = nats,
            };
            if (expires is { } exp)
            {
                claims["exp"] = exp;
            }

            claims["jti"] = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(claims.ToJsonString()))).ToUpperInvariant();
            var signingInput = Base64Url("{\"typ\":\"JWT\",\"alg\":\"ed25519-nkey\"}"u8.ToArray()) + "." + Base64Url(Encoding.UTF8.GetBytes(claims.ToJsonString()));
            var signature = new byte[64];
            issuer.Sign(Encoding.ASCII.GetBytes(signingInput), signature);
            return signingInput + "." + Base64Url(signature);
        }

        private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
