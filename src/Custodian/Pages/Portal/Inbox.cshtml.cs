using Custodian.Portal;
using Microsoft.AspNetCore.Mvc;

namespace Custodian.Pages.Portal;

/// <summary>
/// <c>/portal/inbox</c>: the subscriber's notices (<see cref="SubscriberInbox"/>), newest first, in the page's
/// language, each with a "mark as read" action; and the one notice preference there is (the SMS copy of the
/// periodic usage-history notice, docs/portal.md "Opt-out").
/// </summary>
public sealed class InboxModel(SubscriberInbox inbox, NoticePreferences preferences) : PortalPageModel
{
    /// <summary>The notices, newest first (at most 100).</summary>
    public IReadOnlyList<InboxMessage> Messages { get; private set; } = [];

    /// <summary>Whether the periodic notice also comes by SMS.</summary>
    public bool UsageNoticeSms { get; private set; }

    /// <summary>
    /// Why the last action was refused, shown above the notices, or null: <c>preference</c> (400: the SMS choice was not a
    /// boolean) or <c>not-found</c> (404: no such notice in this subscriber's inbox).
    /// </summary>
    public string? ErrorMessage { get; private set; }

    /// <summary>Shows the inbox.</summary>
    public async Task<IActionResult> OnGetAsync()
    {
        await LoadAsync();
        return Page();
    }

    /// <summary>
    /// Marks notice <paramref name="id"/> read, then shows the inbox again (post/redirect/get). A notice that is not the
    /// signed-in subscriber's — another subscriber's, a missing one, or no <c>id</c> at all — changes nothing and is answered
    /// 404 with the inbox and "That notice is not in your inbox." (<see cref="SubscriberInbox.MarkReadAsync"/> returned
    /// false), indistinguishable from a missing one, as <c>POST /portal/api/v1/inbox/{id}/read</c> answers 404 not-found.
    /// </summary>
    public async Task<IActionResult> OnPostReadAsync(string? id)
    {
        if (!string.IsNullOrEmpty(id) && await inbox.MarkReadAsync(Session.Subject, id, HttpContext.RequestAborted))
        {
            return LocalRedirect("/portal/inbox");
        }

        return await RefusedAsync("not-found", StatusCodes.Status404NotFound);
    }

    /// <summary>
    /// Saves the SMS preference, then shows the inbox again (post/redirect/get). The form field <c>usageNoticeSms</c> must
    /// be present and every value of it <c>true</c> or <c>false</c> (any case; the page's form sends the checkbox's
    /// <c>true</c> before its hidden <c>false</c>, and the first value counts). Anything else (<c>maybe</c>, empty, missing)
    /// changes nothing and is answered 400 with the inbox and a line saying the setting was not saved.
    /// </summary>
    /// <param name="usageNoticeSms">The bound first value (checked against the model state and the raw form).</param>
    public async Task<IActionResult> OnPostPreferencesAsync(bool usageNoticeSms)
    {
        var values = Request.HasFormContentType ? (await Request.ReadFormAsync(HttpContext.RequestAborted))[nameof(usageNoticeSms)] : default;
        if (!ModelState.IsValid || values.Count == 0 || !values.All(IsBoolean))
        {
            return await RefusedAsync("preference", StatusCodes.Status400BadRequest);
        }

        await preferences.SetUsageNoticeSmsAsync(Session.Subject, usageNoticeSms, HttpContext.RequestAborted);
        return LocalRedirect("/portal/inbox");
    }

    private static bool IsBoolean(string? value) =>
        string.Equals(value, "true", StringComparison.OrdinalIgnoreCase) || string.Equals(value, "false", StringComparison.OrdinalIgnoreCase);

    private async Task<IActionResult> RefusedAsync(string error, int status)
    {
        ErrorMessage = error;
        Response.StatusCode = status;
        await LoadAsync();
        return Page();
    }

    private async Task LoadAsync()
    {
        Messages = await inbox.ListAsync(Session.Subject, 100, HttpContext.RequestAborted);
        UsageNoticeSms = await preferences.UsageNoticeSmsAsync(Session.Subject, HttpContext.RequestAborted);
    }
}
