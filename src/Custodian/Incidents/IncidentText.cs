namespace Custodian.Incidents;

/// <summary>
/// Marker type of the incident console pages' strings: the English text is the key; Korean in
/// <c>Resources/Incidents/IncidentText.ko.resx</c> (docs/web.md, "Languages").
/// </summary>
public sealed class IncidentText;
