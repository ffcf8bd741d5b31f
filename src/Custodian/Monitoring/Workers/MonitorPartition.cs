using System.Globalization;
using Custodian.Events;

namespace Custodian.Monitoring.Workers;

/// <summary>
/// One partition of the sharded monitor (docs/events.md, "Monitor workers"): clerk partition <c>cNN</c> holds the
/// distinct-subscriber state of every staff account whose <see cref="LedgerSubjects.PartitionOf"/> is NN and consumes
/// <c>&lt;prefix&gt;.cNN.*</c>; terminal partition <c>tNN</c> likewise for terminals, consuming <c>&lt;prefix&gt;.*.tNN</c>;
/// the one aggregate partition <c>a00</c> (<see cref="Aggregate"/>) consumes every entry, <c>&lt;prefix&gt;.&gt;</c>, and
/// runs the detection engine, whose detectors need every principal's entries in one order.
/// </summary>
/// <param name="Kind">Clerk or terminal; <see cref="PrincipalKind.Clerk"/> (meaningless) for the aggregate partition.</param>
/// <param name="Number">0–63; 0 for the aggregate partition.</param>
public readonly record struct MonitorPartition(PrincipalKind Kind, int Number)
{
    /// <summary>
    /// The aggregate partition <c>a00</c>: every entry in stream order, for the detection engine (<c>MonitorEngine</c>:
    /// baseline and peer baselines, open lookups, timing, enumeration, identity, watch list, collusion, side lookups).
    /// One worker owns it at a time, so its throughput is one worker's (docs/events.md, "Not sharded yet").
    /// </summary>
    public static MonitorPartition Aggregate { get; } = new(PrincipalKind.Clerk, 0) { IsAggregate = true };

    /// <summary>
    /// All 129 partitions in their fixed order: <c>c00</c>…<c>c63</c>, then <c>t00</c>…<c>t63</c>, then <c>a00</c>.
    /// Assignment indexes this list; the aggregate partition is last so that the others keep their indexes.
    /// </summary>
    public static IReadOnlyList<MonitorPartition> All { get; } =
        [.. Enumerable.Range(0, LedgerSubjects.Partitions).Select(i => new MonitorPartition(PrincipalKind.Clerk, i)),
         .. Enumerable.Range(0, LedgerSubjects.Partitions).Select(i => new MonitorPartition(PrincipalKind.Terminal, i)),
         Aggregate];

    /// <summary>Whether this is the aggregate partition (<see cref="Aggregate"/>) rather than a clerk or terminal partition.</summary>
    public bool IsAggregate { get; init; }

    /// <summary>The partition token in subjects and progress rows: <c>c17</c>, <c>t42</c>, <c>a00</c>.</summary>
    public string Token => (IsAggregate ? "a" : Kind == PrincipalKind.Clerk ? "c" : "t") + Number.ToString("D2", CultureInfo.InvariantCulture);

    /// <summary>The durable consumer's name on the stream: <c>monitor-c17</c>, <c>monitor-a00</c>.</summary>
    public string ConsumerName => "monitor-" + Token;

    /// <summary>The consumer's filter subject under <paramref name="prefix"/>.</summary>
    /// <param name="prefix">The stream's subject prefix.</param>
    /// <returns><c>&lt;prefix&gt;.c17.*</c>, <c>&lt;prefix&gt;.*.t42</c>, or <c>&lt;prefix&gt;.&gt;</c> for the aggregate partition.</returns>
    public string FilterSubject(string prefix) => IsAggregate ? $"{prefix}.>" : Kind == PrincipalKind.Clerk ? $"{prefix}.{Token}.*" : $"{prefix}.*.{Token}";

    /// <summary>The partition holding <paramref name="principal"/>'s state.</summary>
    /// <param name="principal">A clerk or terminal.</param>
    /// <returns>Its partition.</returns>
    public static MonitorPartition Of(Principal principal) => new(principal.Kind, LedgerSubjects.PartitionOf(principal.Id));

    /// <summary>
    /// The partitions <paramref name="member"/> owns among <paramref name="members"/>: with the live members sorted
    /// ordinally, partition <c>i</c> of <see cref="All"/> belongs to member <c>i mod n</c>. Every live member computes the
    /// same answer from the same membership, so each partition has exactly one owner.
    /// </summary>
    /// <param name="members">The live members (any order, no duplicates).</param>
    /// <param name="member">One of them.</param>
    /// <returns>Its partitions; empty when it is not a member.</returns>
    public static IReadOnlyList<MonitorPartition> Assign(IEnumerable<string> members, string member)
    {
        ArgumentNullException.ThrowIfNull(members);
        var sorted = members.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var index = sorted.IndexOf(member);
        if (index < 0)
        {
            return [];
        }

        return [.. All.Where((_, i) => i % sorted.Count == index)];
    }
}
