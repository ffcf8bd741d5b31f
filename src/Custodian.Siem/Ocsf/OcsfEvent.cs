using System.Text.Json.Nodes;

namespace Custodian.Siem.Ocsf;

/// <summary>An OCSF 1.8.0 event built from one access-ledger entry.</summary>
/// <param name="Sequence">The ledger sequence number of the entry (also in <c>metadata.uid</c>, for de-duplication downstream).</param>
/// <param name="ClassUid">The OCSF class: 6005 Datastore Activity, 6003 API Activity, 3002 Authentication or 2004 Detection Finding.</param>
/// <param name="Json">The event object (OCSF attribute names), owned by this record; do not mutate after construction.</param>
public sealed record OcsfEvent(long Sequence, int ClassUid, JsonObject Json)
{
    /// <summary>The OCSF <c>type_uid</c>: class_uid × 100 + activity_id.</summary>
    public long TypeUid => Json["type_uid"]!.GetValue<long>();

    /// <summary>The OCSF <c>severity_id</c> (0 Unknown, 1 Informational … 5 Critical, 6 Fatal, 99 Other).</summary>
    public int SeverityId => Json["severity_id"]!.GetValue<int>();

    /// <summary>One line of compact JSON (UTF-8 when written), the <c>ocsf-json</c> output format.</summary>
    public string ToJsonLine() => Json.ToJsonString();
}
