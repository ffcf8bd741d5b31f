using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Custodian.Ledger;

namespace Custodian.Events;

/// <summary>
/// The subject scheme of the JetStream event log (docs/events.md, "Subjects and partitions"): every ledger entry is
/// published on <c>&lt;prefix&gt;.c&lt;NN&gt;.t&lt;NN&gt;</c>, where <c>c&lt;NN&gt;</c> is the partition of its staff account and
/// <c>t&lt;NN&gt;</c> the partition of its terminal, each 00–63, or <c>c--</c> / <c>t--</c> when the entry has none. A
/// monitor worker that owns clerk partition 17 consumes <c>&lt;prefix&gt;.c17.*</c>, one owning terminal partition 42
/// consumes <c>&lt;prefix&gt;.*.t42</c>: one filter subject per consumer, as nats-server 2.9 allows. Subjects carry no
/// identifier, only partition numbers.
/// </summary>
public static class LedgerSubjects
{
    /// <summary>Partitions per dimension (clerk, terminal): 64, fixed by the scheme so that partitions never move.</summary>
    public const int Partitions = 64;

    /// <summary>The partition of an account or terminal identifier: the first four bytes of SHA-256 of its UTF-8 form, big-endian, modulo <see cref="Partitions"/>.</summary>
    /// <param name="id">The identifier (e.g. <c>C0001</c>, <c>S001-counter-1</c>).</param>
    /// <returns>0–63.</returns>
    public static int PartitionOf(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(id), hash);
        return (int)(BinaryPrimitives.ReadUInt32BigEndian(hash) % Partitions);
    }

    /// <summary>The subject of <paramref name="entry"/> under <paramref name="prefix"/>.</summary>
    /// <param name="prefix">The subject prefix (<see cref="JetStreamOptions.SubjectPrefix"/>).</param>
    /// <param name="entry">The entry.</param>
    /// <returns>E.g. <c>custodian.ledger.c17.t42</c>.</returns>
    public static string For(string prefix, AccessEntry entry)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(entry);
        return string.Create(CultureInfo.InvariantCulture, $"{prefix}.c{Token(entry.Account)}.t{Token(entry.Terminal)}");
    }

    private static string Token(string? id) => id is null ? "--" : PartitionOf(id).ToString("D2", CultureInfo.InvariantCulture);
}
