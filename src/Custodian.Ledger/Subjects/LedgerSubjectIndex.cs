using System.Data.Common;
using System.Globalization;
using Custodian.Storage;

namespace Custodian.Ledger;

/// <summary>
/// The read rule of the subject index (docs/ledger-format.md §3): <c>ledger_subjects</c> is complete and exact for
/// every entry below the watermark (<c>ledger_subject_watermark.next_seq</c>, written by
/// <see cref="LedgerSubjectProjector"/>) and holds nothing at or above it; an exact read by subject therefore takes the
/// rows below the watermark and decodes the entries at or above it (the unprojected tail) from <c>ledger_entries</c>.
/// Read the watermark first: it only grows, and the rows below a watermark once read never change except by retention,
/// whose entries every reader skips (<c>erased_by IS NULL</c>), so no snapshot is needed between the two reads.
/// Thread-safe (stateless).
/// </summary>
public static class LedgerSubjectIndex
{
    /// <summary>Reads the watermark on <paramref name="connection"/> (inside <paramref name="tx"/> when given).</summary>
    /// <param name="connection">An open connection to the ledger database.</param>
    /// <param name="tx">The transaction to read in, or null.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <param name="forUpdate">PostgreSQL only: lock the row (<c>FOR UPDATE</c>) for a projector step.</param>
    /// <returns>The watermark: the first sequence whose subject rows may be missing; 0 when the row is missing.</returns>
    /// <exception cref="DbException">When the database cannot be read.</exception>
    public static async Task<long> ReadWatermarkAsync(DbConnection connection, DbTransaction? tx, CancellationToken cancellationToken, bool forUpdate = false)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using var command = connection.Command("SELECT next_seq FROM ledger_subject_watermark WHERE id = 1" + (forUpdate ? " FOR UPDATE" : string.Empty));
        command.Transaction = tx;
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is null or DBNull ? 0 : Convert.ToInt64(value, CultureInfo.InvariantCulture);
    }

    /// <summary>True when the payload (format 1, docs/ledger-format.md §1) names <paramref name="subscriber"/> among its subjects.</summary>
    /// <param name="payload">A stored, non-erased payload.</param>
    /// <param name="subscriber">The internal subscriber ID.</param>
    /// <returns>Whether the entry is in that subscriber's history.</returns>
    /// <exception cref="FormatException">When the payload does not decode.</exception>
    public static bool Names(ReadOnlySpan<byte> payload, long subscriber)
    {
        var scratch = new List<long>();
        foreach (var subject in DistinctSubjects(payload, scratch))
        {
            if (subject == subscriber)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The payload's distinct subjects (the rows the entry gets), using <paramref name="scratch"/> as the buffer.</summary>
    /// <exception cref="FormatException">When the payload does not decode.</exception>
    internal static List<long> DistinctSubjects(ReadOnlySpan<byte> payload, List<long> scratch)
    {
        scratch.Clear();
        var scanned = default(ScannedEntry);
        if (!CanonicalScan.TryScan(payload, ref scanned, scratch))
        {
            scratch.Clear();
            foreach (var subject in LeafCodec.Decode(payload).Subjects)
            {
                scratch.Add(subject.Value);
            }
        }

        if (scratch.Count > 1)
        {
            scratch.Sort();
            var n = 1;
            for (var i = 1; i < scratch.Count; i++)
            {
                if (scratch[i] != scratch[n - 1])
                {
                    scratch[n++] = scratch[i];
                }
            }

            scratch.RemoveRange(n, scratch.Count - n);
        }

        return scratch;
    }
}
