using Custodian.Portal;
using Custodian.Transparency;
using Microsoft.AspNetCore.Mvc;

namespace Custodian.Pages.Portal;

/// <summary>
/// <c>/portal/history</c>: the signed-in subscriber's access history (<see cref="AccessHistory"/>), newest first,
/// 50 a page, filterable by period (<c>from</c>, <c>to</c>: days, Korea time), with a receipt link and a
/// "who did this?" (disclosure request) action per entry. Viewing it is recorded in the ledger.
/// </summary>
public sealed class HistoryModel(AccessHistory history, DisclosureRequests disclosures) : PortalPageModel
{
    /// <summary>First day of the period (yyyy-MM-dd), or null.</summary>
    [BindProperty(SupportsGet = true)]
    public string? From { get; set; }

    /// <summary>Last day of the period (yyyy-MM-dd), or null.</summary>
    [BindProperty(SupportsGet = true)]
    public string? To { get; set; }

    /// <summary>The entry whose disclosure request was just made (after the redirect), or null.</summary>
    [BindProperty(SupportsGet = true)]
    public long? Requested { get; set; }

    /// <summary>Paging cursor, or null.</summary>
    [BindProperty(SupportsGet = true)]
    public long? Before { get; set; }

    /// <summary>The page of history, or null when the query was invalid.</summary>
    public HistoryPage? Page1 { get; private set; }

    /// <summary>A plain-language reason for a refusal, or null.</summary>
    public string? ErrorMessage { get; private set; }

    /// <summary>A confirmation after an action, or null.</summary>
    public string? StatusMessage { get; private set; }

    /// <inheritdoc />
    protected override IReadOnlyCollection<string> QueryKeys => ["from", "to", "before", "requested"];

    /// <summary>Shows the history.</summary>
    public async Task<IActionResult> OnGetAsync()
    {
        StatusMessage = Requested is not null ? "requested" : null;
        await LoadAsync();
        return Page();
    }

    /// <summary>Asks the privacy office who made entry <paramref name="sequence"/>, then shows the history again (post/redirect/get).</summary>
    public async Task<IActionResult> OnPostDiscloseAsync(long sequence)
    {
        var opened = await disclosures.OpenAsync(Session.Subject, sequence, HttpContext.Connection.RemoteIpAddress?.ToString(), HttpContext.RequestAborted);
        if (opened.IsSuccess)
        {
            return LocalRedirect(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"/portal/history?requested={sequence}") + (From is null ? string.Empty : "&from=" + Uri.EscapeDataString(From)) + (To is null ? string.Empty : "&to=" + Uri.EscapeDataString(To)));
        }

        ErrorMessage = "not-found";
        Response.StatusCode = opened.Error!.Status;
        await LoadAsync();
        return Page();
    }

    private async Task LoadAsync()
    {
        if (!PortalApi.TryParseDay(From, "from", out var from, out _) || !PortalApi.TryParseDay(To, "to", out var to, out _) || (from is { } f && to is { } t && f > t))
        {
            ErrorMessage = "period";
            Response.StatusCode = 400;
            return;
        }

        var page = await history.GetAsync(Session.Subject, new HistoryQuery(Before is >= 0 ? Before : null, 50, from, to), HttpContext.Connection.RemoteIpAddress?.ToString(), HttpContext.RequestAborted);
        if (page.IsSuccess)
        {
            Page1 = page.Value;
        }
        else
        {
            ErrorMessage = "unavailable";
            Response.StatusCode = page.Error!.Status;
        }
    }
}
