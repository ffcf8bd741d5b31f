using System.Net.Http.Json;
using System.Text.Json;
using Custodian.Access.Terminals;
using Custodian.Gateway;
using Custodian.Problems;

namespace Custodian.Client;

/// <summary>What <see cref="TerminalRenewal.RenewIfDueAsync"/> did.</summary>
/// <param name="Renewed">True when a new certificate was obtained and saved; false when renewal was not due yet.</param>
/// <param name="Terminal">Terminal ID from the certificate in use afterwards.</param>
/// <param name="NotAfter">End of validity of the certificate in use afterwards (UTC).</param>
public sealed record RenewalOutcome(bool Renewed, string Terminal, DateTimeOffset NotAfter);

/// <summary>
/// The terminal side of automatic renewal: when less than half of the device certificate's lifetime is left
/// (<see cref="IsDue"/>), make a fresh key and CSR, send them to <c>POST /api/v1/terminal/renewals</c> over
/// mutual TLS with the current certificate, and replace the credentials in the terminal's directory.
/// Run it at terminal start and at least daily (docs/access.md §2); <c>custodian terminal renew</c> does one round.
/// </summary>
public static class TerminalRenewal
{
    /// <summary>
    /// Whether a certificate valid from <paramref name="notBefore"/> to <paramref name="notAfter"/> is due for renewal at
    /// <paramref name="now"/>: less than half of its lifetime is left (for the default 4 days: in its last 2 days).
    /// </summary>
    /// <param name="notBefore">Start of validity.</param>
    /// <param name="notAfter">End of validity.</param>
    /// <param name="now">The current time.</param>
    /// <returns>True when due (also when already past <paramref name="notAfter"/>).</returns>
    public static bool IsDue(DateTimeOffset notBefore, DateTimeOffset notAfter, DateTimeOffset now) =>
        notAfter - now < (notAfter - notBefore) / 2;

    /// <summary>Renews the certificate in <paramref name="directory"/> when due (or always, with <paramref name="force"/>).</summary>
    /// <param name="directory">Directory written by <c>terminal init</c> (<c>terminal.key</c>, <c>terminal.crt</c>, <c>ca.crt</c>).</param>
    /// <param name="server">The terminal API's base URL.</param>
    /// <param name="time">Clock deciding whether renewal is due.</param>
    /// <param name="force">Renew even when not due.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The outcome, or the server's refusal as an error (its <c>errorCode</c>, status and detail), or
    /// <see cref="ErrorCodes.DeviceCertificateExpired"/> without contacting the server when the certificate has
    /// already expired (re-enroll).</returns>
    /// <exception cref="FileNotFoundException">When the credentials are missing.</exception>
    /// <exception cref="HttpRequestException">When the server cannot be reached.</exception>
    public static async Task<Result<RenewalOutcome>> RenewIfDueAsync(string directory, Uri server, TimeProvider time, bool force, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(time);
        using var certificate = TerminalCredentials.Load(directory);
        var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime());
        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
        var now = time.GetUtcNow();
        var terminal = certificate.GetNameInfo(System.Security.Cryptography.X509Certificates.X509NameType.SimpleName, forIssuer: false);
        if (now > notAfter)
        {
            return new CustodianError(ErrorCodes.DeviceCertificateExpired, 403, "The device certificate has expired; it cannot be renewed. Re-enroll the terminal with a new code.");
        }

        if (!force && !IsDue(notBefore, notAfter, now))
        {
            return new RenewalOutcome(false, terminal, notAfter);
        }

        var (keyPem, csrPem) = TerminalCredentials.CreateKeyAndCsr(terminal);
        var trusted = TerminalCredentials.LoadCaBundle(directory);
        try
        {
            using var client = TerminalHttp.Create(server, trusted, certificate, maxConnections: 1);
            using var response = await client.PostAsJsonAsync(new Uri("/api/v1/terminal/renewals", UriKind.Relative), new RenewRequest(csrPem), cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return await ReadProblemAsync(response, cancellationToken);
            }

            var renewed = (await response.Content.ReadFromJsonAsync<RenewResponse>(cancellationToken))!;
            TerminalCredentials.Save(directory, keyPem, renewed.Certificate, renewed.CaCertificate);
            return new RenewalOutcome(true, renewed.Terminal, renewed.NotAfter);
        }
        finally
        {
            foreach (var ca in trusted)
            {
                ca.Dispose();
            }
        }
    }

    /// <summary>Turns an RFC 9457 problem response into an error value (code, status, detail); a body that is not one gives <see cref="ErrorCodes.InternalError"/>.</summary>
    internal static async Task<CustodianError> ReadProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        try
        {
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            var root = json.RootElement;
            var code = root.TryGetProperty("errorCode", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : ErrorCodes.InternalError;
            var detail = root.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : "The server refused the request.";
            return new CustodianError(code, status, detail);
        }
        catch (JsonException)
        {
            return new CustodianError(ErrorCodes.InternalError, status, $"The server answered {status} without a problem description.");
        }
    }
}
