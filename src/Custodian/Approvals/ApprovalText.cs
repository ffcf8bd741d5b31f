namespace Custodian.Approvals;

/// <summary>
/// Marker type of the approvals console pages' strings: the English text is the key; Korean in
/// <c>Resources/Approvals/ApprovalText.ko.resx</c> (docs/web.md, "Languages").
/// </summary>
public sealed class ApprovalText;
