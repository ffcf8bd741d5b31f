namespace Custodian.Monitoring;

/// <summary>
/// Marker type of the alert console pages' strings: the English text is the key; Korean in
/// <c>Resources/Monitoring/AlertText.ko.resx</c> (docs/web.md, "Languages").
/// </summary>
public sealed class AlertText;
