[assembly: Microsoft.Extensions.Localization.RootNamespace("Custodian")]

namespace Custodian.Web;

/// <summary>
/// Marker type of the shared UI strings (layout, staff sign-in, errors): English in
/// <c>Resources/Web/SharedText.resx</c>, Korean in <c>SharedText.ko.resx</c>. Each page area has its own
/// marker type and resource files (docs/web.md).
/// </summary>
public sealed class SharedText;
