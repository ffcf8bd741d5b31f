using Custodian.Ledger.Checkpoints;
using Custodian.Portal;
using Custodian.Problems;
using Custodian.Transparency;
using Microsoft.AspNetCore.Mvc;

namespace Custodian.Pages.Portal;

/// <summary>
/// <c>/portal/receipt/{sequence}</c>: the receipt of one entry of the subscriber's own visible history
/// (docs/ledger-format.md §11, withheld form), the server's verification in plain words, and a download of the
/// receipt JSON (<c>?handler=Download</c>) to check independently with <c>custodian verify-receipt</c>.
/// An entry that is not in the subscriber's visible history is "not found", whatever the reason.
/// </summary>
public sealed class ReceiptModel(AccessHistory history, LedgerCheckpoints checkpoints, ReceiptCheck check) : PortalPageModel
{
    /// <summary>The entry's sequence.</summary>
    [FromRoute]
    public long Sequence { get; set; }

    /// <summary>The verification, or null when there is no receipt.</summary>
    public ReceiptVerification? Verification { get; private set; }

    /// <summary>Why there is no receipt: <c>not-found</c> or <c>pending</c>; null when there is one.</summary>
    public string? Missing { get; private set; }

    /// <summary>Shows the verification.</summary>
    public async Task<IActionResult> OnGetAsync()
    {
        var receipt = await BuildAsync();
        if (receipt is not null)
        {
            Verification = await check.VerifyAsync(receipt, HttpContext.RequestAborted);
        }

        return Page();
    }

    /// <summary>Downloads the receipt as <c>custodian-receipt-&lt;sequence&gt;.json</c>.</summary>
    public async Task<IActionResult> OnGetDownloadAsync()
    {
        var receipt = await BuildAsync();
        return receipt is null
            ? Page()
            : File(System.Text.Encoding.UTF8.GetBytes(receipt.ToJson()), "application/json", $"custodian-receipt-{Sequence}.json");
    }

    private async Task<LedgerReceipt?> BuildAsync()
    {
        if (await history.FindVisibleAsync(Session.Subject, Sequence, HttpContext.RequestAborted) is null)
        {
            Missing = "not-found";
            Response.StatusCode = 404;
            return null;
        }

        var receipt = await checkpoints.BuildReceiptAsync(Sequence, Session.Subject, withholdEntry: true, HttpContext.RequestAborted);
        if (receipt.IsSuccess)
        {
            return receipt.Value;
        }

        Missing = receipt.Error!.Code == CheckpointErrors.ReceiptPending ? "pending" : "not-found";
        Response.StatusCode = receipt.Error.Code == ErrorCodes.NotFound ? 404 : receipt.Error.Status;
        return null;
    }
}
