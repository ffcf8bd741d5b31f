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

    /// <summary>Shows the inbox.</summary>
    public async Task<IActionResult> OnGetAsync()
    {
        await LoadAsync();
        return Page();
    }

    /// <summary>Marks notice <paramref name="id"/> read (only the subscriber's own; anything else is ignored as missing), then shows the inbox again (post/redirect/get).</summary>
    public async Task<IActionResult> OnPostReadAsync(string? id)
    {
        if (id is not null)
        {
            await inbox.MarkReadAsync(Session.Subject, id, HttpContext.RequestAborted);
        }

        return LocalRedirect("/portal/inbox");
    }

    /// <summary>Saves the SMS preference.</summary>
    public async Task<IActionResult> OnPostPreferencesAsync(bool usageNoticeSms)
    {
        await preferences.SetUsageNoticeSmsAsync(Session.Subject, usageNoticeSms, HttpContext.RequestAborted);
        return LocalRedirect("/portal/inbox");
    }

    private async Task LoadAsync()
    {
        Messages = await inbox.ListAsync(Session.Subject, 100, HttpContext.RequestAborted);
        UsageNoticeSms = await preferences.UsageNoticeSmsAsync(Session.Subject, HttpContext.RequestAborted);
    }
}
