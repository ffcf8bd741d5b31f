using Custodian.Ledger;
using Custodian.Problems;
using Microsoft.Extensions.Logging;

namespace Custodian.Lookup;

/// <summary>
/// Records refusals and security events in the access ledger ("deny by default, with a reason":
/// every refusal is itself recorded). A refusal whose entry cannot be written is still refused.
/// </summary>
public sealed class AccessRecorder(IAccessLedger ledger, ILogger<AccessRecorder> logger)
{
    /// <summary>Appends a denied entry built from <paramref name="entry"/> with <paramref name="error"/>'s code; returns the error.</summary>
    public async Task<CustodianError> RefuseAsync(AccessEntry entry, CustodianError error, CancellationToken cancellationToken = default)
    {
        try
        {
            await ledger.AppendAsync(entry with { Outcome = AccessOutcome.Denied, ErrorCode = error.Code }, cancellationToken);
        }
        catch (LedgerUnavailableException ex)
        {
            Hosting.Log.LedgerFailed(logger, ex);
        }

        Hosting.Log.PolicyRefused(logger, error.Code, entry.Account ?? "none", entry.Terminal ?? "none"); // never "(null)" in the line
        return error;
    }

    /// <summary>
    /// Appends the grant record of an act that changes who may access what (enrollment, certificate renewal, password
    /// change) before the act takes effect (PIPA: records of granting access rights are kept 3 years). Fail closed: a
    /// failure is thrown, and the caller must not carry out the act; answer it with <see cref="GrantNotRecorded"/>.
    /// Not cancelled by the client going away: a queued entry is committed anyway.
    /// </summary>
    /// <param name="entry">The allowed entry describing the act.</param>
    /// <exception cref="LedgerUnavailableException">When the entry could not be made durable.</exception>
    public async Task RecordGrantAsync(AccessEntry entry) =>
        await ledger.AppendAsync(entry, CancellationToken.None);

    /// <summary>
    /// Logs <paramref name="ex"/> and returns the problem for an act whose grant record could not be written:
    /// 503 <c>ledger-unavailable</c>, transient — the same code the guarded reads answer when the ledger is unavailable.
    /// </summary>
    /// <param name="ex">The ledger's refusal.</param>
    /// <param name="act">What did not take effect, e.g. "enrollment", for the message.</param>
    /// <returns>The error to answer with.</returns>
    public CustodianError GrantNotRecorded(LedgerUnavailableException ex, string act)
    {
        Hosting.Log.LedgerFailed(logger, ex);
        return new CustodianError(ErrorCodes.LedgerUnavailable, 503, $"The access ledger could not record the {act}, so it did not take effect. Try again shortly.", IsTransient: true);
    }

    /// <summary>Appends an allowed non-data event (a sign-out, …); failures are logged, not thrown. Acts that grant access use <see cref="RecordGrantAsync"/>.</summary>
    public async Task RecordAsync(AccessEntry entry, CancellationToken cancellationToken = default)
    {
        try
        {
            await ledger.AppendAsync(entry, cancellationToken);
        }
        catch (LedgerUnavailableException ex)
        {
            Hosting.Log.LedgerFailed(logger, ex);
        }
    }
}
