using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Custodian.Pages.Portal;

/// <summary>
/// <c>/portal</c>, the address people type: sends the browser to the access history, which itself sends a
/// visitor without a portal session to <c>/portal/sign-in</c>. The language choice (<c>?lang=</c>) is kept.
/// </summary>
public sealed class IndexModel : PageModel
{
    /// <summary>Redirects (302) to <c>/portal/history</c>.</summary>
    public IActionResult OnGet() =>
        LocalRedirect(Request.Query.TryGetValue(Web.WebFoundation.LanguageQuery, out var lang) && Web.WebFoundation.Cultures.Contains(lang.ToString(), StringComparer.Ordinal)
            ? "/portal/history?lang=" + lang
            : "/portal/history");
}
