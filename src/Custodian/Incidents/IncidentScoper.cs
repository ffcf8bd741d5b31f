using System.Data.Common;
using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Storage;
using Microsoft.Extensions.Logging;

namespace Custodian.Incidents;

/// <summary>Progress of a scoping run: ledger entries read so far out of the number the indexes said match.</summary>
/// <param name="Read">Entries read and decoded so far.</param>
/// <param name="Total">Entries the principal-and-time indexes report for the scope (an entry by two named principals counts twice).</param>
public readonly record struct ScopeProgress(long Read, long Total);

/// <summary>One affected subscriber as the scoping run found them, by internal ID (stays inside the server).</summary>
/// <param name="Subscriber">Internal ID.</param>
/// <param name="Grade">Most severe exposure.</param>
/// <param name="FieldMask">Bit <c>i</c> set when field <see cref="ScopeResult.FieldNames"/>[i] was shown.</param>
/// <param name="UnmaskedMask">Bit <c>i</c> set when that field was shown in full.</param>
/// <param name="Entries">Exposing entries naming them.</param>
/// <param name="FirstMs">First such entry, Unix ms.</param>
/// <param name="LastMs">Last such entry, Unix ms.</param>
public sealed record ScopedSubject(SubscriberId Subscriber, ExposureGrade Grade, ulong FieldMask, ulong UnmaskedMask, long Entries, long FirstMs, long LastMs);

/// <summary>What a scoping run computed.</summary>
/// <param name="Subjects">Affected subscribers ascending by internal ID.</param>
/// <param name="FieldNames">The field names the masks index (at most 64).</param>
/// <param name="EntriesMatched">Entries by the principals in the window (any task, outcome).</param>
/// <param name="EntriesExposing">Of those, allowed personal-data reads and exports naming someone.</param>
/// <param name="Counts">Subscribers per grade.</param>
/// <param name="SetSha256">SHA-256 hex of the canonical set.</param>
/// <param name="Timeline">Per-day counts.</param>
/// <param name="Principals">Principals scanned.</param>
public sealed record ScopeResult(
    IReadOnlyList<ScopedSubject> Subjects,
    IReadOnlyList<string> FieldNames,
    long EntriesMatched,
    long EntriesExposing,
    GradeCounts Counts,
    string SetSha256,
    IReadOnlyList<TimelineDay> Timeline,
    IReadOnlyList<string> Principals);

/// <summary>
/// Computes an incident's affected subscribers from the access ledger (docs/incidents.md, "Scoping"). First catches the
/// scoping projection (<see cref="IncidentScopeProjector"/>) up to the ledger size; then, in one read snapshot, reads the
/// projection's <c>(account, time_ms)</c>, <c>(terminal, time_ms)</c> and <c>(store, time_ms)</c> indexes, one range per
/// principal, for the sequences below the projection's position, and the ledger itself by sequence for the tail from that
/// position to the ledger size (empty unless an entry was committed since the catch-up, or the catch-up failed), so the
/// answer is exact whatever the projector's state. Only entries with a sequence below a fixed ledger size are read; each
/// payload is decoded (the source of truth) and the principal and time are re-checked on the decoded entry, so a column
/// that disagrees with its payload cannot add an entry. Never decrypts. Thread-safe.
/// </summary>
/// <param name="db">The database holding the ledger and the projection.</param>
/// <param name="projector">The scoping projection, caught up before each scan.</param>
/// <param name="logger">Logger (error types only).</param>
public sealed class IncidentScoper(CustodianDatabase db, IncidentScopeProjector projector, ILogger<IncidentScoper> logger)
{
    /// <summary>Principal kinds a scope names, with the ledger column each is matched on.</summary>
    private static readonly (string Kind, string Column)[] Kinds = [("clerk", "account"), ("terminal", "terminal"), ("store", "store")];

    /// <summary>Whether an allowed entry of <paramref name="task"/> exposes the subscribers it names: personal-data reads (<see cref="AccessTasks.ReadsPersonalData"/>) and access-log exports.</summary>
    public static bool Exposes(AccessTask task) => task.ReadsPersonalData() || task == AccessTask.Export;

    /// <summary>The grade one entry gives each subscriber it names: RRN in full; another field in full; fields masked; no field.</summary>
    public static ExposureGrade GradeOf(AccessEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.UnmaskedFields.Contains("rrn", StringComparer.Ordinal))
        {
            return ExposureGrade.RrnUnmasked;
        }

        return entry.UnmaskedFields.Count > 0 ? ExposureGrade.Unmasked : entry.Fields.Count > 0 ? ExposureGrade.Masked : ExposureGrade.TokenOnly;
    }

    /// <summary>
    /// SHA-256 of the canonical affected set: one line <c>&lt;internal subscriber ID in decimal&gt;,&lt;grade name&gt;\n</c> per
    /// subscriber, ascending by ID, UTF-8. Equal to <c>SELECT subscriber_id, grade FROM incident_subjects … ORDER BY subscriber_id</c>
    /// written out that way.
    /// </summary>
    /// <param name="subjects">The set, ascending by ID.</param>
    /// <returns>64 lower-case hex digits.</returns>
    public static string SetHash(IEnumerable<(SubscriberId Subscriber, ExposureGrade Grade)> subjects)
    {
        ArgumentNullException.ThrowIfNull(subjects);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> line = stackalloc byte[64];
        foreach (var (subscriber, grade) in subjects)
        {
            var n = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{subscriber.Value},{grade.ToName()}\n"), line);
            hash.AppendData(line[..n]);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Scans the ledger for the entries of <paramref name="principals"/> in [<paramref name="from"/>, <paramref name="to"/>).</summary>
    /// <param name="principals">The principals, as (<c>clerk</c>|<c>terminal</c>|<c>store</c>, code).</param>
    /// <param name="from">Window start, inclusive.</param>
    /// <param name="to">Window end, exclusive.</param>
    /// <param name="ledgerSize">Only entries with a lower sequence are read.</param>
    /// <param name="dayOffset">Offset at which timeline days are reckoned (the review offset, default +09:00).</param>
    /// <param name="progress">Receives progress about every 65,536 entries and at the end; may be null.</param>
    /// <param name="cancellationToken">Cancels the scan.</param>
    /// <returns>The result.</returns>
    /// <exception cref="FormatException">When a stored payload cannot be decoded (run <c>custodian ledger verify</c>).</exception>
    /// <exception cref="InvalidOperationException">When entries in scope name more than 64 distinct field names.</exception>
    public async Task<ScopeResult> ScanAsync(
        IReadOnlyList<(string Kind, string Code)> principals,
        DateTimeOffset from,
        DateTimeOffset to,
        long ledgerSize,
        TimeSpan dayOffset,
        IProgress<ScopeProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(principals);
        var fromMs = from.ToUnixTimeMilliseconds();
        var toMs = to.ToUnixTimeMilliseconds();
        var fieldIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var fieldNames = new List<string>();
        var subjects = new Dictionary<long, Accumulator>();
        var days = new SortedDictionary<long, (long Entries, HashSet<long> Subscribers)>();
        var seen = principals.Count > 1 ? new HashSet<long>() : null;
        long matched = 0, exposing = 0, read = 0;

        try
        {
            await projector.CatchUpAsync(ledgerSize, cancellationToken);
        }
        catch (DbException ex)
        {
            Log.ScopeCatchUpFailed(logger, ex.GetType().Name, ex); // still exact: the tail below reads the ledger itself
        }

        await using var connection = await db.OpenAsync(cancellationToken);

        // One read snapshot for the position, the count and every range; deferred, so the ledger writer is never blocked.
        await using var tx = await db.BeginSnapshotAsync(connection, cancellationToken); // SQLite: BEGIN DEFERRED; PostgreSQL: REPEATABLE READ READ ONLY
        var projected = Math.Min(await IncidentScopeProjector.ReadPositionAsync(connection, tx, cancellationToken), ledgerSize);
        long total = 0;
        foreach (var (kind, code) in principals)
        {
            var column = Column(kind);

            // The tail's "+time_ms" keeps SQLite (and PostgreSQL) on the sequence range instead of the ledger's time index.
            await using var count = connection.Command(
                $"SELECT (SELECT COUNT(*) FROM incident_scope_entries WHERE {column} = @p AND time_ms >= @from AND time_ms < @to AND seq < @projected) + " +
                $"(SELECT COUNT(*) FROM ledger_entries WHERE seq >= @projected AND seq < @size AND {column} = @p AND +time_ms >= @from AND +time_ms < @to)",
                ("@p", code), ("@from", fromMs), ("@to", toMs), ("@projected", projected), ("@size", ledgerSize));
            count.Transaction = tx;
            total += Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        }

        progress?.Report(new ScopeProgress(0, total));
        foreach (var (kind, code) in principals)
        {
            var column = Column(kind);
            await using var command = connection.Command(
                $"SELECT e.seq, e.payload FROM incident_scope_entries p JOIN ledger_entries e ON e.seq = p.seq " +
                $"WHERE p.{column} = @p AND p.time_ms >= @from AND p.time_ms < @to AND p.seq < @projected AND e.erased_by IS NULL " +
                $"UNION ALL SELECT seq, payload FROM ledger_entries WHERE seq >= @projected AND seq < @size AND {column} = @p AND +time_ms >= @from AND +time_ms < @to AND erased_by IS NULL",
                ("@p", code), ("@from", fromMs), ("@to", toMs), ("@projected", projected), ("@size", ledgerSize));
            command.Transaction = tx;
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                if ((++read & 0xFFFF) == 0)
                {
                    progress?.Report(new ScopeProgress(read, total));
                }

                var seq = reader.GetInt64(0);
                if (seen is not null && !seen.Add(seq))
                {
                    continue;
                }

                var entry = LeafCodec.Decode((byte[])reader.GetValue(1));
                var time = entry.Time.ToUnixTimeMilliseconds();
                if (time < fromMs || time >= toMs || !string.Equals(kind switch { "clerk" => entry.Account, "terminal" => entry.Terminal, _ => entry.Store }, code, StringComparison.Ordinal))
                {
                    continue; // the query column disagrees with the payload; the payload decides (ledger verify reports it)
                }

                matched++;
                if (entry.Outcome != AccessOutcome.Allowed || !Exposes(entry.Task) || entry.Subjects.Count == 0)
                {
                    continue;
                }

                exposing++;
                var grade = GradeOf(entry);
                var fields = Mask(entry.Fields);
                var unmasked = Mask(entry.UnmaskedFields);
                var day = DayOf(time, dayOffset);
                if (!days.TryGetValue(day, out var bucket))
                {
                    bucket = (0, []);
                }

                bucket.Entries++;
                foreach (var subject in entry.Subjects)
                {
                    bucket.Subscribers.Add(subject.Value);
                    if (!subjects.TryGetValue(subject.Value, out var acc))
                    {
                        acc = new Accumulator { Grade = grade, First = time, Last = time };
                        subjects[subject.Value] = acc;
                    }

                    acc.Grade = (ExposureGrade)Math.Min((int)acc.Grade, (int)grade);
                    acc.Fields |= fields;
                    acc.Unmasked |= unmasked;
                    acc.Entries++;
                    acc.First = Math.Min(acc.First, time);
                    acc.Last = Math.Max(acc.Last, time);
                }

                days[day] = bucket;
            }
        }

        progress?.Report(new ScopeProgress(total, total));
        var list = subjects.OrderBy(p => p.Key)
            .Select(p => new ScopedSubject(new SubscriberId(p.Key), p.Value.Grade, p.Value.Fields, p.Value.Unmasked, p.Value.Entries, p.Value.First, p.Value.Last))
            .ToList();
        var counts = new long[5];
        foreach (var s in list)
        {
            counts[(int)s.Grade]++;
        }

        var timeline = days.Select(d => new TimelineDay(
            DateTimeOffset.FromUnixTimeMilliseconds(d.Key * 86_400_000L).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            d.Value.Entries,
            d.Value.Subscribers.Count)).ToList();
        return new ScopeResult(
            list,
            fieldNames,
            matched,
            exposing,
            new GradeCounts(counts[1], counts[2], counts[3], counts[4]),
            SetHash(list.Select(s => (s.Subscriber, s.Grade))),
            timeline,
            [.. principals.Select(p => p.Kind + ":" + p.Code)]);

        ulong Mask(IReadOnlyList<string> names)
        {
            ulong mask = 0;
            foreach (var name in names)
            {
                if (!fieldIndex.TryGetValue(name, out var bit))
                {
                    if (fieldNames.Count == 64)
                    {
                        throw new InvalidOperationException("The entries in scope name more than 64 distinct fields.");
                    }

                    bit = fieldNames.Count;
                    fieldNames.Add(name);
                    fieldIndex[name] = bit;
                }

                mask |= 1UL << bit;
            }

            return mask;
        }
    }

    /// <summary>The names of the bits set in <paramref name="mask"/>, ordinal order.</summary>
    public static IReadOnlyList<string> Names(ulong mask, IReadOnlyList<string> fieldNames)
    {
        ArgumentNullException.ThrowIfNull(fieldNames);
        var names = new List<string>(BitOperations.PopCount(mask));
        for (var i = 0; i < fieldNames.Count; i++)
        {
            if ((mask & (1UL << i)) != 0)
            {
                names.Add(fieldNames[i]);
            }
        }

        names.Sort(StringComparer.Ordinal);
        return names;
    }

    private static string Column(string kind) => Array.Find(Kinds, k => k.Kind == kind).Column
        ?? throw new ArgumentException("A principal kind must be clerk, terminal or store.", nameof(kind));

    /// <summary>Days since the epoch of the local date at <paramref name="offset"/>; the timeline labels it by that date.</summary>
    private static long DayOf(long unixMs, TimeSpan offset) => Math.DivRem(unixMs + (long)offset.TotalMilliseconds, 86_400_000L, out var rem) - (rem < 0 ? 1 : 0);

    private sealed class Accumulator
    {
        public ExposureGrade Grade { get; set; }

        public ulong Fields { get; set; }

        public ulong Unmasked { get; set; }

        public long Entries { get; set; }

        public long First { get; set; }

        public long Last { get; set; }
    }
}
