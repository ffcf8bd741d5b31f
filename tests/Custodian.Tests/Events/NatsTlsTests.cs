using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Custodian.Events;
using Custodian.Ledger;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Events;

/// <summary>
/// The JetStream event log over TLS (docs/events.md, "TLS"): a real nats-server that requires TLS and verifies client
/// certificates (<c>--tlsverify</c>); Custodian connects with <c>tls://</c>, the servers' CA file and a client certificate,
/// and serves guarded reads; each wrong or missing piece stops the start with one line naming the settings, never their
/// values; bad TLS files are refused when the settings are read.
/// </summary>
public sealed class NatsTlsTests
{
    private const string HandshakeFailed = "the TLS handshake failed (the server offers no TLS, its certificate is not issued by Custodian__JetStream__TlsCaFile or the system's roots or does not name the host, or it refused the client certificate of Custodian__JetStream__TlsCertFile).";

    [Fact]
    public async Task With_mutual_tls_a_guarded_read_is_served_and_recorded_and_health_reports_the_event_log()
    {
        using var files = NatsTlsFiles.Create();
        await using var nats = await NatsServer.StartNewAsync(tls: files);
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10, options: o =>
        {
            o.Events = nats.Url;
            o.JetStream.TlsCaFile = files.CaCertificate;
            o.JetStream.TlsCertFile = files.ClientCertificate;
            o.JetStream.TlsKeyFile = files.ClientKey;
        });
        var (client, _, _) = await host.ClerkAsync("C0001");
        var before = (await host.LedgerAsync()).Count;

        using var response = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = host.Population[1].Phone });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([AccessTask.Search], (await host.LedgerAsync()).Skip(before).Select(e => e.Entry.Task));
        using var health = await host.PortalClient().GetAsync(new Uri("/health", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("{\"backend\":\"jetstream\",\"status\":\"ok\"}", (await health.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("events").GetRawText());
    }

    [Fact]
    public async Task A_missing_client_certificate_an_untrusted_server_or_a_plain_url_is_refused_in_one_line()
    {
        using var files = NatsTlsFiles.Create();
        await using var nats = await NatsServer.StartNewAsync(tls: files);
        var where = $"127.0.0.1:{nats.Port}";

        // Right CA, no client certificate: the server refuses the handshake.
        Assert.Equal($"events nats {where} (TLS) is unavailable: {HandshakeFailed}", await RefusalAsync(nats.Url, files.CaCertificate, null, null));

        // A client certificate of another CA: refused the same way.
        Assert.Equal($"events nats {where} (TLS) is unavailable: {HandshakeFailed}", await RefusalAsync(nats.Url, files.CaCertificate, files.OtherClientCertificate, files.OtherClientKey));

        // The server's certificate checked against another CA: not trusted.
        Assert.Equal($"events nats {where} (TLS) is unavailable: {HandshakeFailed}", await RefusalAsync(nats.Url, files.OtherCaCertificate, files.ClientCertificate, files.ClientKey));

        // nats:// and no TLS files: TLS because the server requires it, judged by the system's roots, which do not hold the test CA.
        Assert.Equal(
            $"events nats {where} is unavailable: the TLS handshake failed (the server's certificate is not trusted by the system's roots; set Custodian__JetStream__TlsCaFile).",
            await RefusalAsync($"nats://{where}", null, null, null));

        // Everything right connects.
        var good = EventsSettings.Parse(nats.Url, Options(files.CaCertificate, files.ClientCertificate, files.ClientKey)).Value!;
        await JetStreamAccessLedger.CheckAvailableAsync(good);
    }

    [Fact]
    public async Task Tls_required_against_a_plain_text_server_is_refused_in_one_line()
    {
        await using var nats = await NatsServer.StartNewAsync();
        var where = $"127.0.0.1:{nats.Port}";

        Assert.Equal($"events nats {where} (TLS) is unavailable: {HandshakeFailed}", await RefusalAsync($"tls://{where}", null, null, null));
    }

    [Fact]
    public void Tls_files_that_are_missing_unpaired_mismatched_or_not_pem_are_refused_when_the_settings_are_read()
    {
        using var files = NatsTlsFiles.Create();
        var missing = Path.Combine(Path.GetTempPath(), "custodian-no-such-ca-7731.pem");

        Assert.Equal(
            "Custodian:JetStream:TlsCaFile must be a readable PEM file of the NATS servers' certificate authority (no such file; docs/events.md lists the values; as an environment variable it is Custodian__JetStream__TlsCaFile).",
            Error(Options(missing, null, null)));
        Assert.Equal(
            "Custodian:JetStream:TlsCaFile must hold at least one PEM CERTIFICATE (none found; docs/events.md lists the values; as an environment variable it is Custodian__JetStream__TlsCaFile).",
            Error(Options(files.ClientKey, null, null)));
        Assert.Equal(
            "Custodian:JetStream:TlsKeyFile must be set with TlsCertFile (the client certificate and its key go together; docs/events.md lists the values; as an environment variable it is Custodian__JetStream__TlsKeyFile).",
            Error(Options(files.CaCertificate, files.ClientCertificate, null)));
        Assert.Equal(
            "Custodian:JetStream:TlsCertFile must be set with TlsKeyFile (the client certificate and its key go together; docs/events.md lists the values; as an environment variable it is Custodian__JetStream__TlsCertFile).",
            Error(Options(null, null, files.ClientKey)));
        Assert.Equal(
            "Custodian:JetStream:TlsCertFile and Custodian:JetStream:TlsKeyFile must hold a PEM certificate and its unencrypted private key, which must match (docs/events.md lists the values; as an environment variable it is Custodian__JetStream__TlsCertFile).",
            Error(Options(null, files.ClientCertificate, files.OtherClientKey)));
        Assert.Equal(
            "Custodian:JetStream:TlsCertFile and Custodian:JetStream:TlsKeyFile must be readable PEM files (no such file; docs/events.md lists the values; as an environment variable it is Custodian__JetStream__TlsCertFile).",
            Error(Options(null, missing, files.ClientKey)));

        // TLS files make TLS required even on a nats:// URL, and the message says so; the paths never appear.
        var settings = EventsSettings.Parse("nats://127.0.0.1:4222", Options(files.CaCertificate, null, null)).Value!;
        Assert.True(settings.RequiresTls);
        Assert.Equal("nats 127.0.0.1:4222 (TLS)", settings.Display);
        Assert.False(EventsSettings.Parse("nats://127.0.0.1:4222", new JetStreamOptions()).Value!.RequiresTls);

        static string Error(JetStreamOptions options) => EventsSettings.Parse("tls://127.0.0.1:4222", options).Error!.Message;
    }

    private static JetStreamOptions Options(string? ca, string? certificate, string? key) =>
        new() { TlsCaFile = ca, TlsCertFile = certificate, TlsKeyFile = key, AckTimeoutMilliseconds = 2_000 };

    private static async Task<string> RefusalAsync(string url, string? ca, string? certificate, string? key)
    {
        var settings = EventsSettings.Parse(url, Options(ca, certificate, key)).Value!;
        var failure = await Assert.ThrowsAsync<EventsUnavailableException>(() => JetStreamAccessLedger.CheckAvailableAsync(settings));
        return failure.Message;
    }
}
