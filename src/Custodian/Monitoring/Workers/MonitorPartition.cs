using System.Globalization;
using Custodian.Events;

namespace Custodian.Monitoring.Workers;

/// <summary>
/// One partition of the sharded monitor (docs/events.md, "Monitor workers"): clerk partition <c>cNN</c> holds the
/// distinct-subscriber state of every staff account whose <see cref="LedgerSubjects.PartitionOf"/> is NN and consumes
/// <c>&lt;prefix&gt;.cNN.*</c>; terminal partition <c>tNN</c> likewise for terminals, consuming <c>&lt;prefix&gt;.*.tNN</c>.
/// </summary>
/// <param name="Kind">Clerk or terminal.</param>
/// <param name="Number">0–63.</param>
public readonly record struct MonitorPartition(PrincipalKind Kind, int Number)
{
    /// <summary>All 128 partitions in their fixed order: <c>c00</c>…<c>c63</c>, then <c>t00</c>…<c>t63</c>. Assignment indexes this list.</summary>
    public static IReadOnlyList<MonitorPartition> All { get; } =
        [.. Enumerable.Range(0, LedgerSubjects.Partitions).Select(i => new MonitorPartition(PrincipalKind.Clerk, i)),
         .. Enumerable.Range(0, LedgerSubjects.Partitions).Select(i => new MonitorPartition(PrincipalKind.Terminal, i))];

    /// <summary>The partition token in subjects and progress rows: <c>c17</c>, <c>t42</c>.</summary>
    public string Token => (Kind == PrincipalKind.Clerk ? "c" : "t") + Number.ToString("D2", CultureInfo.InvariantCulture);

    /// <summary>The durable consumer's name on the stream: <c>monitor-c17</c>.</summary>
    public string ConsumerName => "monitor-" + Token;

    /// <summary>The consumer's filter subject under <paramref name="prefix"/>.</summary>
    /// <param name="prefix">The stream's subject prefix.</param>
    /// <returns><c>&lt;prefix&gt;.c17.*</c> or <c>&lt;prefix&gt;.*.t42</c>.</returns>
    public string FilterSubject(string prefix) => Kind == PrincipalKind.Clerk ? $"{prefix}.{Token}.*" : $"{prefix}.*.{Token}";

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
