using Custodian.Access.Certificates;
using Custodian.Access.Terminals;
using Custodian.Hosting;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Problems;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging;

namespace Custodian.Gateway;

/// <summary>Body of a device-certificate renewal.</summary>
/// <param name="Csr">PEM PKCS#10 request (RFC 2986) for a freshly generated key; the key of any earlier certificate is refused.</param>
public sealed record RenewRequest(string? Csr);

/// <summary>A renewed device certificate.</summary>
/// <param name="Terminal">Terminal ID.</param>
/// <param name="Store">Store code.</param>
/// <param name="TrustClass">Trust class (<c>store-terminal</c> or <c>vdi-host</c>), unchanged by renewal.</param>
/// <param name="Certificate">PEM device certificate.</param>
/// <param name="CaCertificate">PEM certificate of Custodian's device CA.</param>
/// <param name="NotAfter">End of the new certificate's validity (UTC).</param>
public sealed record RenewResponse(string Terminal, string Store, string TrustClass, string Certificate, string CaCertificate, DateTimeOffset NotAfter);

/// <summary>
/// Device-certificate renewal on the terminal listener: <c>POST /api/v1/terminal/renewals</c>. The request passes the
/// device gateway first, so only a terminal holding a valid, unrevoked certificate reaches it; an expired or revoked
/// device is refused there (<c>device-certificate-expired</c>, <c>device-certificate-revoked</c>) and must re-enroll.
/// </summary>
public static class DeviceCertificateApi
{
    /// <summary>The device CA's settings for <paramref name="options"/>: device certificates valid <see cref="Hosting.CustodianOptions.DeviceCertificateDays"/> days.</summary>
    /// <param name="options">Server options.</param>
    /// <returns>Settings for <see cref="CertificateAuthority.LoadOrCreate"/>.</returns>
    public static CertificateAuthorityOptions CaOptions(Hosting.CustodianOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new CertificateAuthorityOptions { DeviceCertificateValidity = TimeSpan.FromDays(options.DeviceCertificateDays) };
    }

    /// <summary>Maps the renewal endpoint.</summary>
    /// <param name="app">The application.</param>
    /// <returns>The same builder.</returns>
    public static IEndpointRouteBuilder MapDeviceCertificateApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/v1/terminal/renewals", RenewAsync)
            .WithTags("Terminal API")
            .WithName("RenewDeviceCertificate")
            .WithSummary("Exchange the presented, still valid device certificate and a CSR for a fresh key for a new certificate.");
        return app;
    }

    private static async Task<Results<Ok<RenewResponse>, ProblemHttpResult>> RenewAsync(
        RenewRequest body, HttpContext context, TerminalRegistry terminals, AccessRecorder recorder, TimeProvider time, ILogger<RenewRequest> logger)
    {
        var device = (DeviceIdentity)context.Items[DeviceGatewayMiddleware.DeviceKey]!;
        var entry = new AccessEntry
        {
            Time = time.GetUtcNow(),
            Task = AccessTask.CertificateRenewed,
            Outcome = AccessOutcome.Allowed,
            Terminal = device.Terminal,
            Store = device.Store,
            SourceIp = context.Connection.RemoteIpAddress?.ToString(),
            Target = device.Terminal,
        };
        if (string.IsNullOrWhiteSpace(body.Csr))
        {
            return (await recorder.RefuseAsync(entry, ProblemResults.Validation("csr", "is required: a PEM PKCS#10 request for a new key"), context.RequestAborted)).ToProblem();
        }

        Result<EnrolledTerminal> renewed;
        try
        {
            // Append first, then act: the renewal is recorded before the new certificate is stored (docs/access.md §2.1).
            renewed = await terminals.RenewAsync(
                device,
                body.Csr,
                n => recorder.RecordGrantAsync(entry with { Reason = "certificate renewed until " + n.NotAfter.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture) }));
        }
        catch (LedgerUnavailableException ex)
        {
            return recorder.GrantNotRecorded(ex, "renewal").ToProblem();
        }

        if (!renewed.IsSuccess)
        {
            return (await recorder.RefuseAsync(entry, renewed.Error!, context.RequestAborted)).ToProblem();
        }

        var t = renewed.Value;
        GatewayLog.Renewed(logger, t.TerminalId, t.Store, t.NotAfter);
        return TypedResults.Ok(new RenewResponse(t.TerminalId, t.Store, t.TrustClass.ToName(), t.CertificatePem, t.CaCertificatePem, t.NotAfter));
    }
}
