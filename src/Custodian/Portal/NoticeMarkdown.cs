using System.Globalization;
using Markdig;
using Markdig.Renderers;
using Markdig.Renderers.Html.Inlines;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace Custodian.Portal;

/// <summary>
/// Renders a notice body written in Markdown (the breach notices of <see cref="Incidents.IncidentNotices.Subscribers"/>,
/// kind <c>incident</c>) as HTML for the portal's inbox page, safely: CommonMark only (no extensions, so no automatic links),
/// raw HTML in the Markdown is written out as escaped text (Markdig's <c>DisableHtml</c>), a link whose address is not
/// <c>http:</c>, <c>https:</c>, <c>mailto:</c> or a same-site path (<c>/…</c>) is written as its text alone (Markdig itself
/// keeps <c>javascript:</c>, <c>data:</c> and <c>vbscript:</c> addresses as they are), an image is written as its
/// alternative text, and headings move down two levels (<c>#</c> becomes <c>&lt;h3&gt;</c>, at most <c>&lt;h6&gt;</c>) so
/// that they sit below the page's <c>&lt;h1&gt;</c> and the notice's own <c>&lt;h2&gt;</c> title. The page's
/// Content-Security-Policy (<see cref="Web.WebFoundation.ContentSecurityPolicy"/>) stays the second line of defence.
/// Other notice kinds are plain text and are not rendered through here (<see cref="IsMarkdown"/>). Thread-safe.
/// </summary>
public static class NoticeMarkdown
{
    /// <summary>How many levels headings move down: the page has <c>&lt;h1&gt;</c>, each notice an <c>&lt;h2&gt;</c> title.</summary>
    public const int HeadingShift = 2;

    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().DisableHtml().Build();

    /// <summary>Whether notices of the stable kind name <paramref name="kind"/> (<see cref="NoticeKinds"/>) have Markdown bodies: only <c>incident</c>.</summary>
    public static bool IsMarkdown(string? kind) => string.Equals(kind, NoticeKind.Incident.ToName(), StringComparison.Ordinal);

    /// <summary>The HTML of <paramref name="markdown"/> under the rules above (an HTML fragment of block elements, UTF-8 text, line feeds between blocks).</summary>
    /// <exception cref="ArgumentNullException">When <paramref name="markdown"/> is null.</exception>
    public static string ToHtml(string markdown)
    {
        ArgumentNullException.ThrowIfNull(markdown);
        var document = Markdown.Parse(markdown, Pipeline);
        foreach (var heading in document.Descendants<HeadingBlock>())
        {
            heading.Level = Math.Min(heading.Level + HeadingShift, 6);
        }

        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        var renderer = new HtmlRenderer(writer);
        Pipeline.Setup(renderer);
        renderer.ObjectRenderers.ReplaceOrAdd<LinkInlineRenderer>(new SafeLinkRenderer());
        renderer.ObjectRenderers.ReplaceOrAdd<AutolinkInlineRenderer>(new SafeAutolinkRenderer());
        renderer.Render(document);
        writer.Flush();
        return writer.ToString();
    }

    /// <summary>
    /// Whether a link address may stay a link: an absolute <c>http</c>, <c>https</c> or <c>mailto</c> URI, or a path on this site
    /// starting with one <c>/</c> (not <c>//</c> or <c>/\</c>, which browsers read as another host). Anything else — other schemes,
    /// addresses with control characters, relative paths — is refused.
    /// </summary>
    public static bool IsSafeUrl(string? url)
    {
        if (string.IsNullOrEmpty(url) || url.Any(char.IsControl))
        {
            return false;
        }

        if (url[0] == '/')
        {
            return url.Length == 1 || (url[1] != '/' && url[1] != '\\');
        }

        return Uri.TryCreate(url, UriKind.Absolute, out var uri)
            && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeMailto);
    }

    /// <summary>Writes a link with a safe address as Markdig does; an image, or a link with any other address, as its content alone.</summary>
    private sealed class SafeLinkRenderer : LinkInlineRenderer
    {
        protected override void Write(HtmlRenderer renderer, LinkInline link)
        {
            if (link.IsImage || !IsSafeUrl(link.Url))
            {
                renderer.WriteChildren(link);
                return;
            }

            base.Write(renderer, link);
        }
    }

    /// <summary>Writes an automatic link (<c>&lt;https://…&gt;</c>) with a safe address as Markdig does; any other as escaped text.</summary>
    private sealed class SafeAutolinkRenderer : AutolinkInlineRenderer
    {
        protected override void Write(HtmlRenderer renderer, AutolinkInline link)
        {
            if (!IsSafeUrl(link.IsEmail ? "mailto:" + link.Url : link.Url))
            {
                renderer.WriteEscape(link.Url);
                return;
            }

            base.Write(renderer, link);
        }
    }
}
