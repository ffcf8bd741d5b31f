using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Custodian.Client;

/// <summary>
/// HTTP clients for terminals (the CLI's <c>terminal init</c>, the simulator, tests): TLS to the
/// server validated against Custodian's CA only (never the system roots), optionally presenting a
/// device certificate.
/// </summary>
public static class TerminalHttp
{
    /// <summary>Creates a client for <paramref name="baseUrl"/> that trusts only <paramref name="ca"/> and presents <paramref name="clientCertificate"/> when given.</summary>
    /// <param name="baseUrl">Server base URL.</param>
    /// <param name="ca">Custodian's CA certificate.</param>
    /// <param name="clientCertificate">Device certificate with private key, or null.</param>
    /// <param name="maxConnections">Connections per server (1–1024).</param>
    /// <param name="time">The clock the server certificate's validity is judged by; null for <see cref="TimeProvider.System"/>.</param>
    public static HttpClient Create(Uri baseUrl, X509Certificate2 ca, X509Certificate2? clientCertificate, int maxConnections = 16, TimeProvider? time = null) =>
        Create(baseUrl, new X509Certificate2Collection(ca), clientCertificate, maxConnections, time);

    /// <summary>
    /// Creates a client for <paramref name="baseUrl"/> that accepts a server certificate chaining to any one of
    /// <paramref name="trusted"/> (a terminal's CA bundle; two CAs during a CA rotation) and presents <paramref name="clientCertificate"/> when given.
    /// </summary>
    /// <param name="baseUrl">Server base URL.</param>
    /// <param name="trusted">Custodian's CA certificates, at least one.</param>
    /// <param name="clientCertificate">Device certificate with private key, or null.</param>
    /// <param name="maxConnections">Connections per server (1–1024).</param>
    /// <param name="time">The clock the server certificate's validity is judged by; null for <see cref="TimeProvider.System"/>.</param>
    public static HttpClient Create(Uri baseUrl, X509Certificate2Collection trusted, X509Certificate2? clientCertificate, int maxConnections = 16, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(trusted);
        var clock = time ?? TimeProvider.System;
        ArgumentOutOfRangeException.ThrowIfZero(trusted.Count);
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = maxConnections,
            PooledConnectionLifetime = TimeSpan.FromMinutes(10),
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && trusted.Any(ca => ChainsTo(new X509Certificate2(certificate), ca, clock.GetUtcNow())),
                ClientCertificates = clientCertificate is null ? null : new X509CertificateCollection { clientCertificate },
                LocalCertificateSelectionCallback = clientCertificate is null ? null : (_, _, _, _, _) => clientCertificate,
            },
        };
        return new HttpClient(handler) { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>
    /// Fetches the CA certificate (PEM) from <paramref name="caPath"/> and accepts it only if its DER SHA-256 equals
    /// <paramref name="sha256Hex"/> and the server's own TLS certificate chains to it (trust on first use with a pin).
    /// Used by <c>terminal init</c> (<c>/api/v1/ca</c> on the terminal listener) and the witness (<c>/ledger/v1/ca</c> on the portal listener).
    /// </summary>
    /// <param name="baseUrl">The server's base URL.</param>
    /// <param name="sha256Hex">Hex SHA-256 of the CA certificate's DER; colons allowed, any case.</param>
    /// <param name="caPath">The server path serving the CA's PEM.</param>
    /// <param name="action">What is refused on a mismatch, for the message (e.g. <c>enroll</c>, <c>connect</c>).</param>
    /// <param name="cancellationToken">Cancels the fetch.</param>
    /// <returns>The pinned CA certificate.</returns>
    /// <exception cref="InvalidOperationException">When the server's CA does not match the pin, or its TLS certificate was not issued by that CA.</exception>
    /// <exception cref="HttpRequestException">When the server cannot be reached.</exception>
    public static async Task<X509Certificate2> FetchPinnedCaAsync(Uri baseUrl, string sha256Hex, string caPath, string action, CancellationToken cancellationToken)
    {
        // The server's certificate cannot be judged before the CA is known: capture it, fetch the
        // (public) CA, check the CA against the pin, then check that the server's certificate chains to it.
        X509Certificate2? presented = null;
        using var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    presented = certificate is null ? null : new X509Certificate2(certificate);
                    return presented is not null;
                },
            },
        };
        using var client = new HttpClient(handler) { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };
        var pem = await client.GetStringAsync(new Uri(caPath, UriKind.Relative), cancellationToken);
        var ca = X509Certificate2.CreateFromPem(pem);
        var actual = Convert.ToHexString(SHA256.HashData(ca.RawData));
        if (!string.Equals(actual, sha256Hex.Replace(":", string.Empty, StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"The server's CA certificate does not match --ca-sha256; refusing to {action}.");
        }

        if (presented is null || !ChainsTo(presented, ca))
        {
            throw new InvalidOperationException($"The server's TLS certificate was not issued by the pinned CA; refusing to {action}.");
        }

        return ca;
    }

    /// <summary>Whether <paramref name="certificate"/> chains to <paramref name="ca"/> alone, judged at the system clock's now.</summary>
    public static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 ca) => ChainsTo(certificate, ca, TimeProvider.System.GetUtcNow());

    /// <summary>
    /// Whether <paramref name="certificate"/> chains to <paramref name="ca"/> alone, with every certificate of the chain
    /// valid at <paramref name="at"/> (RFC 5280 §6.1.3 (a)(2), the validity period checked at the given time).
    /// </summary>
    /// <param name="certificate">The presented certificate.</param>
    /// <param name="ca">The only trusted root.</param>
    /// <param name="at">The time of validation: the caller's clock (a test's fake clock, which issued the server's certificate).</param>
    public static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 ca, DateTimeOffset at)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.VerificationTime = at.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }
}
