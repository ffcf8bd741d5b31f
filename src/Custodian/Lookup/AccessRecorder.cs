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

    /// <summary>Appends an allowed non-data event (sign-in, enrollment, …); failures are logged, not thrown.</summary>
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
