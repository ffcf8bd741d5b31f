namespace Custodian.Web;

/// <summary>
/// Marker type of the clerk workstation's UI strings (docs/web.md, "Clerk workstation"): the English text is
/// the key, Korean lives in <c>Resources/Web/WorkstationText.ko.resx</c> (docs/web.md, "Languages").
/// </summary>
public sealed class WorkstationText;
