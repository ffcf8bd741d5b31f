using System.Globalization;
using Custodian.Access.Approvals;
using Custodian.Incidents;
using Custodian.Problems;
using Custodian.Storage;

namespace Custodian.Approvals;

/// <summary>Body of a data-set export that needs four eyes.</summary>
/// <param name="Reason">Why the set leaves the system (1–500 characters, recorded in the ledger).</param>
/// <param name="Approval">The ID of the exporting officer's approved <c>export-data-set</c> request.</param>
public sealed record ApprovedExportRequest(string? Reason, string? Approval);

/// <summary>Error codes of the four-eyes gates in this area.</summary>
public static class FourEyesErrorCodes
{
    /// <summary>Exporting this data set needs an approved, unused <c>export-data-set</c> request of the exporting officer (403).</summary>
    public const string ExportApprovalRequired = "export-approval-required";
}

/// <summary>
/// Single-use permissions to export a data set (table <c>export_grants</c>, migration <c>approvals-003</c>), created when a
/// second officer approves an <c>export-data-set</c> request. The requester then runs the export once, within
/// <see cref="PrivilegedActionRequests.Lifetime"/> of the approval, naming the request ID. Data sets gated today: an
/// incident's affected set (<c>incident:&lt;case&gt;</c>: every exposed subscriber's token and grade), through
/// <c>POST /api/v1/incidents/{id}/exports</c> and <c>custodian incident export</c> (docs/access.md §7). Thread-safe: a grant
/// is consumed by one conditional UPDATE.
/// </summary>
/// <param name="db">The database.</param>
/// <param name="time">Clock.</param>
public sealed class ExportGrants(CustodianDatabase db, TimeProvider time)
{
    /// <summary>The target naming an incident's affected set: <c>incident:&lt;case ID&gt;</c>.</summary>
    public static string IncidentTarget(string incidentId) => "incident:" + incidentId;

    /// <summary>Stores the grant of an approved request.</summary>
    /// <param name="request">The approved <c>export-data-set</c> request.</param>
    /// <param name="approver">The approving officer.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>When the grant lapses.</returns>
    public async Task<DateTimeOffset> GrantAsync(PrivilegedRequest request, string approver, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var now = time.GetUtcNow();
        var expires = now + PrivilegedActionRequests.Lifetime;
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var insert = connection.Command(
            """
            INSERT INTO export_grants (request_id, target, officer, approved_by, approved_ms, expires_ms)
            VALUES (@id, @target, @officer, @by, @now, @expires)
            """,
            ("@id", request.Id),
            ("@target", request.Target),
            ("@officer", request.RequestedBy),
            ("@by", approver),
            ("@now", now.ToUnixTimeMilliseconds()),
            ("@expires", expires.ToUnixTimeMilliseconds()));
        await insert.ExecuteNonQueryAsync(cancellationToken);
        return expires;
    }

    /// <summary>
    /// Runs <paramref name="export"/> under grant <paramref name="approval"/>: the grant must be for <paramref name="target"/>
    /// (case-insensitive), belong to <paramref name="officer"/>, be unused and unexpired. It is consumed before the export
    /// runs and given back when the export fails or throws, so a failed export can be retried with the same approval.
    /// </summary>
    /// <typeparam name="T">The export's result.</typeparam>
    /// <param name="approval">The approved request's ID (from the officer), or null.</param>
    /// <param name="target">The data set, e.g. <see cref="IncidentTarget"/>.</param>
    /// <param name="officer">The exporting officer.</param>
    /// <param name="export">Produces the file; runs only with a valid grant.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>The export's result, or <see cref="FourEyesErrorCodes.ExportApprovalRequired"/> (403).</returns>
    public async Task<Result<T>> RunApprovedAsync<T>(string? approval, string target, string officer, Func<Task<Result<T>>> export, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(export);
        if (string.IsNullOrWhiteSpace(approval) || !await SetUsedAsync(approval, target, officer, used: true, cancellationToken))
        {
            return new CustodianError(
                FourEyesErrorCodes.ExportApprovalRequired,
                403,
                string.Create(CultureInfo.InvariantCulture, $"approval: exporting this data set needs an approved export-data-set request for target {target} that you filed, unused and at most 24 hours old (request it, a second officer approves it, then export naming the request ID)."));
        }

        var released = false;
        try
        {
            var result = await export();
            if (!result.IsSuccess)
            {
                released = true;
                await SetUsedAsync(approval, target, officer, used: false, CancellationToken.None);
            }

            return result;
        }
        catch when (!released)
        {
            await SetUsedAsync(approval, target, officer, used: false, CancellationToken.None);
            throw;
        }
    }

    private async Task<bool> SetUsedAsync(string approval, string target, string officer, bool used, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var update = connection.Command(
            used
                ? "UPDATE export_grants SET used_ms = @now WHERE request_id = @id AND lower(target) = lower(@target) AND officer = @officer AND used_ms IS NULL AND expires_ms > @now"
                : "UPDATE export_grants SET used_ms = NULL WHERE request_id = @id AND lower(target) = lower(@target) AND officer = @officer AND used_ms IS NOT NULL",
            ("@now", time.GetUtcNow().ToUnixTimeMilliseconds()),
            ("@id", approval),
            ("@target", target),
            ("@officer", officer));
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    }
}

/// <summary>
/// <c>export-data-set</c>: target <c>incident:&lt;case ID&gt;</c> (a scoped incident's affected set). Refused at request time
/// when the case does not exist or has not been scoped. On approval a single-use <see cref="ExportGrants"/> grant is stored for
/// the requester; the export itself still needs a reason and is recorded as <c>incident-export</c> when it runs.
/// </summary>
/// <param name="grants">The grants.</param>
/// <param name="incidents">The incident service, to check the case.</param>
public sealed class ExportDataSetAction(ExportGrants grants, IncidentService incidents) : IPrivilegedAction
{
    /// <inheritdoc />
    public string ActionName => "export-data-set";

    /// <inheritdoc />
    public async Task<CustodianError?> ValidateAsync(string target, CancellationToken cancellationToken)
    {
        const string Prefix = "incident:";
        if (!target.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return PrivilegedActionRefusals.MalformedTarget("must be incident:<case ID>, e.g. incident:INC-20261130-ABC123");
        }

        var got = await incidents.GetAsync(target[Prefix.Length..], cancellationToken);
        return !got.IsSuccess ? new CustodianError(ErrorCodes.ValidationFailed, 400, "target: no incident with this case ID")
            : got.Value.Summary is null ? new CustodianError(ErrorCodes.ValidationFailed, 400, "target: the incident has not been scoped, so it has no affected set yet")
            : null;
    }

    /// <inheritdoc />
    public async Task<Result<string>> ExecuteAsync(PrivilegedRequest request, string approver, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var expires = await grants.GrantAsync(request, approver, cancellationToken);
        return string.Create(CultureInfo.InvariantCulture, $"Export of {request.Target} approved: {request.RequestedBy} may run it once, naming approval {request.Id}, until {expires:yyyy-MM-ddTHH:mm:ssZ}.");
    }
}
