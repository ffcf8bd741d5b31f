using System.Globalization;
using Custodian.Incidents;
using Custodian.Incidents.Claims;
using Custodian.Ledger;
using Custodian.Pages.Console.Incidents;
using Custodian.Problems;
using Custodian.Protection.Keys;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Localization;

namespace Custodian.Pages.Console.Claims;

/// <summary>
/// <c>/console/claims[?state=…]</c>: compensation claims, newest first (at most 1,000), optionally of one state, with claimants
/// as subscriber tokens; and the report by state (claims, sums claimed, approved and paid in KRW, and a total row).
/// </summary>
/// <param name="claims">The claim service.</param>
/// <param name="tokenizer">Names claimants by FF1 token.</param>
/// <param name="text">The incident pages' strings.</param>
public sealed class IndexModel(ClaimService claims, Tokenizer tokenizer, IStringLocalizer<IncidentText> text) : ConsolePageModel
{
    /// <summary>The claims shown.</summary>
    public IReadOnlyList<ClaimView> Claims { get; private set; } = [];

    /// <summary>Claims per state with amounts, in state order.</summary>
    public IReadOnlyList<ClaimReportRow> Report { get; private set; } = [];

    /// <summary>The total over all states.</summary>
    public ClaimReportRow Total => new("total", Report.Sum(r => r.Claims), Report.Sum(r => r.Claimed), Report.Sum(r => r.Approved), Report.Sum(r => r.Paid));

    /// <summary>The state filter in force, or null for all.</summary>
    public ClaimState? State { get; private set; }

    /// <summary>Why the filter was refused, or null.</summary>
    public string? Error { get; private set; }

    /// <summary>Lists the claims (of <paramref name="state"/> when given: a state name; anything else is refused with 400 and the full list).</summary>
    public async Task<IActionResult> OnGetAsync(string? state)
    {
        if (!string.IsNullOrEmpty(state))
        {
            if (!ClaimService.TryParseState(state, out var parsed))
            {
                Error = IncidentPages.Describe(Custodian.Hosting.ProblemResults.Validation("state", "must be submitted, information-requested, approved, rejected or paid"), text);
                Response.StatusCode = StatusCodes.Status400BadRequest;
            }
            else
            {
                State = parsed;
            }
        }

        Claims = [.. (await claims.ListAsync(State, HttpContext.RequestAborted)).Select(c => ClaimApi.View(c, tokenizer))];
        Report = await claims.ReportAsync(HttpContext.RequestAborted);
        return Page();
    }
}

/// <summary>
/// <c>/console/claims/{id}</c>: one claim with the evidence bundle (the ledger entries concerning the claimant, with receipts;
/// the claimant by token, never the clerk's account) and the officer's next steps in its state: request information,
/// approve with an amount, reject with a reason, record the payout. Each step goes through <see cref="ClaimService"/> and is
/// recorded in the ledger with the officer's account, role, terminal, store and source IP; a refused step as a denied entry
/// (<see cref="ClaimRefusals"/>).
/// </summary>
/// <param name="claims">The claim service.</param>
/// <param name="tokenizer">Names the claimant by FF1 token.</param>
/// <param name="text">The incident pages' strings.</param>
public sealed class DetailModel(ClaimService claims, Tokenizer tokenizer, IStringLocalizer<IncidentText> text) : ConsolePageModel
{
    /// <summary>The claim.</summary>
    public ClaimView Claim { get; private set; } = null!;

    /// <summary>The evidence bundle, by ledger sequence.</summary>
    public IReadOnlyList<EvidenceItem> Evidence { get; private set; } = [];

    /// <summary>Why the last step was refused (in the page's language), or null.</summary>
    public string? Error { get; private set; }

    /// <summary>Amounts as the page writes them: KRW with thousands separators.</summary>
    public static string Won(long? amount) => amount is { } a ? a.ToString("N0", CultureInfo.InvariantCulture) : "-";

    /// <summary>Shows the claim; the not-found page when there is none.</summary>
    public async Task<IActionResult> OnGetAsync(string id) => await LoadAsync(id) ? Page() : NotFound();

    /// <summary>Asks the claimant for more information (1–500 characters).</summary>
    public async Task<IActionResult> OnPostRequestInformationAsync(string id, string? question) =>
        await After(id, AccessTask.ClaimInformationRequested, null, (await claims.RequestInformationAsync(id, question, IncidentPages.Actor(this), HttpContext.RequestAborted)).Error);

    /// <summary>Approves with an amount (KRW, 1 to the amount claimed) and an optional note.</summary>
    public async Task<IActionResult> OnPostApproveAsync(string id, string? amount, string? note) =>
        await After(id, AccessTask.ClaimDecided, ClaimState.Approved, (await claims.ApproveAsync(id, ParseWon(amount), string.IsNullOrWhiteSpace(note) ? null : note, IncidentPages.Actor(this), HttpContext.RequestAborted)).Error);

    /// <summary>Rejects with a reason (1–500 characters).</summary>
    public async Task<IActionResult> OnPostRejectAsync(string id, string? reason) =>
        await After(id, AccessTask.ClaimDecided, ClaimState.Rejected, (await claims.RejectAsync(id, reason, IncidentPages.Actor(this), HttpContext.RequestAborted)).Error);

    /// <summary>Records the payout with its transfer reference.</summary>
    public async Task<IActionResult> OnPostPayAsync(string id, string? reference) =>
        await After(id, AccessTask.ClaimPaid, null, (await claims.PayAsync(id, reference, IncidentPages.Actor(this), HttpContext.RequestAborted)).Error);

    /// <summary>An amount typed by the officer: digits, optionally with ',' separators; null for anything else (refused by the service's rule).</summary>
    public static long? ParseWon(string? text) =>
        long.TryParse(text?.Replace(",", string.Empty, StringComparison.Ordinal).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;

    /// <summary>After a step: back to the claim, or the refusal recorded (<see cref="ClaimRefusals"/>) and shown.</summary>
    private async Task<IActionResult> After(string id, AccessTask task, ClaimState? asked, CustodianError? error)
    {
        if (error is null)
        {
            return Redirect("/console/claims/" + Uri.EscapeDataString(id.ToUpperInvariant()));
        }

        await ClaimRefusals.RefusedAsync(HttpContext.RequestServices, Staff, task, id, asked, error, HttpContext.RequestAborted);

        // A step on an unknown claim is recorded once, as the step's refusal: not again as a refused read of the page.
        if (error.Code == ClaimErrors.NotFound || !await LoadAsync(id))
        {
            return NotFound();
        }

        Error = IncidentPages.Describe(error, text);
        Response.StatusCode = error.Status;
        return Page();
    }

    private async Task<bool> LoadAsync(string id)
    {
        var got = await claims.ShowToOfficerAsync(id, IncidentPages.Actor(this), HttpContext.RequestAborted);
        if (!got.IsSuccess)
        {
            return false;
        }

        Claim = ClaimApi.View(got.Value, tokenizer);
        Evidence = await claims.EvidenceAsync(got.Value, HttpContext.RequestAborted);
        return true;
    }
}
