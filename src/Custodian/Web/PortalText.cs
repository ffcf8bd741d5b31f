namespace Custodian.Web;

/// <summary>
/// Marker type of the subscriber portal's UI strings (docs/portal.md, "Pages"): the English text is the key,
/// Korean lives in <c>Resources/Web/PortalText.ko.resx</c> (docs/web.md, "Languages").
/// </summary>
public sealed class PortalText;
