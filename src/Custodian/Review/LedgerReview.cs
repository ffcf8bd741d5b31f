using System.Data.Common;
using System.Globalization;
using System.Text;
using Custodian.Access.Staff;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Ledger.Retention;
using Custodian.Problems;
using Custodian.Protection.Keys;
using Custodian.Storage;
using CsvHelper;

namespace Custodian.Review;

/// <summary>
/// The access-log review (PIPA safety standard, 개인정보의 안전성 확보조치 기준, Art. 8(2): review at least
/// monthly; confirm the reason for every download): queries over the ledger by clerk, terminal, store,
/// subscriber token, task and time; CSV export with a stated reason, itself recorded in the ledger; the
/// periodic report; and the reviewer's sign-off, recorded in the ledger with the report's SHA-256.
/// Reads the ledger tables directly and never decrypts: subjects appear only as FF1 tokens. Thread-safe.
/// See docs/review.md.
/// </summary>
public sealed class LedgerReview
{
    private const string SignOffTargetPrefix = "review:";
    private const string SignOffHashSeparator = ";sha256:";

    private readonly CustodianDatabase _db;
    private readonly IAccessLedger _ledger;
    private readonly Tokenizer _tokenizer;
    private readonly StaffDirectory _staff;
    private readonly TimeProvider _time;
    private readonly ReviewOptions _options;

    /// <summary>Creates the review service.</summary>
    /// <param name="db">The database holding the ledger.</param>
    /// <param name="ledger">Where exports and sign-offs are recorded.</param>
    /// <param name="tokenizer">Turns subjects into tokens and reviewers' tokens back into subjects.</param>
    /// <param name="staff">Checks that a reviewer is an officer.</param>
    /// <param name="time">The clock (is a period over?).</param>
    /// <param name="options">Settings; validated here.</param>
    /// <exception cref="ArgumentOutOfRangeException">When an option is invalid.</exception>
    public LedgerReview(CustodianDatabase db, IAccessLedger ledger, Tokenizer tokenizer, StaffDirectory staff, TimeProvider time, ReviewOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _db = db;
        _ledger = ledger;
        _tokenizer = tokenizer;
        _staff = staff;
        _time = time;
        _options = options;
    }

    /// <summary>The settings in use.</summary>
    public ReviewOptions Options => _options;

    /// <summary>Turns a reviewer's subscriber token (from a SIEM event, an earlier export or report) into the subject to filter by.</summary>
    /// <param name="token">19 digits.</param>
    /// <returns>The subject, or <see cref="ReviewErrors.BadToken"/>.</returns>
    public Result<SubscriberId> ResolveToken(string? token) =>
        _tokenizer.TryDetokenizeSubscriber(token, out var subject)
            ? subject
            : new CustodianError(ReviewErrors.BadToken, 400, "The subscriber token must be 19 digits issued by this server.");

    /// <summary>Parses a period name against the configured offset.</summary>
    /// <param name="text"><c>yyyy-MM</c> or <c>yyyy-Www</c>.</param>
    /// <returns>The period, or <see cref="ReviewErrors.BadPeriod"/>.</returns>
    public Result<ReviewPeriod> ParsePeriod(string? text) =>
        ReviewPeriod.TryParse(text, _options.UtcOffset, out var period)
            ? period
            : new CustodianError(ReviewErrors.BadPeriod, 400, "The period must be a month (yyyy-MM) or an ISO week (yyyy-Www) from 2000 on.");

    /// <summary>One page of entries matching <paramref name="filter"/>, newest first.</summary>
    /// <param name="filter">The criteria; <see cref="ReviewFilter.Limit"/> must be 1–1,000.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The page.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When the limit is outside 1–1,000.</exception>
    /// <exception cref="FormatException">When a stored payload cannot be decoded (run <c>custodian ledger verify</c>).</exception>
    public async Task<ReviewPage> QueryAsync(ReviewFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfLessThan(filter.Limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(filter.Limit, 1_000);
        var conditions = new StringBuilder(" WHERE e.erased_by IS NULL AND e.seq < @before");
        var parameters = new List<(string, object?)> { ("@before", filter.Before ?? long.MaxValue) };
        Condition("e.account = @account", "@account", filter.Clerk);
        Condition("e.terminal = @terminal", "@terminal", filter.Terminal);
        Condition("e.store = @store", "@store", filter.Store);
        Condition("e.task = @task", "@task", filter.Task?.ToName());
        Condition("e.time_ms >= @from", "@from", filter.From?.ToUnixTimeMilliseconds());
        Condition("e.time_ms < @to", "@to", filter.To?.ToUnixTimeMilliseconds());

        var rows = new List<ReviewRow>();
        var wanted = filter.Limit + 1;
        await using var connection = await _db.OpenAsync(cancellationToken);
        if (filter.Subject is { } subject)
        {
            // Exact whatever the subject projection's lag (docs/ledger-format.md §3): the unprojected tail (seq ≥ the
            // watermark, read first) is decoded from the entries, newest first; the rest comes from ledger_subjects.
            var watermark = await LedgerSubjectIndex.ReadWatermarkAsync(connection, null, cancellationToken);
            await using (var tail = connection.Command(
                "SELECT e.seq, e.payload FROM ledger_entries e" + conditions + " AND e.seq >= @watermark ORDER BY e.seq DESC",
                [.. parameters, ("@watermark", watermark)]))
            await using (var reader = await tail.ExecuteReaderAsync(cancellationToken))
            {
                while (rows.Count < wanted && await reader.ReadAsync(cancellationToken))
                {
                    var payload = reader.GetValue(1) as byte[] ?? throw new FormatException("A stored ledger entry has no payload; run 'custodian ledger verify'.");
                    if (LedgerSubjectIndex.Names(payload, subject.Value))
                    {
                        rows.Add(ToRow(reader.GetInt64(0), LeafCodec.Decode(payload)));
                    }
                }
            }

            if (rows.Count < wanted)
            {
                await ReadAsync(
                    "SELECT e.seq, e.payload FROM ledger_entries e JOIN ledger_subjects s ON s.seq = e.seq AND s.subscriber_id = @subject" + conditions +
                    " AND e.seq < @watermark ORDER BY e.seq DESC LIMIT @limit",
                    [.. parameters, ("@subject", subject.Value), ("@watermark", watermark), ("@limit", wanted - rows.Count)]);
            }
        }
        else
        {
            await ReadAsync("SELECT e.seq, e.payload FROM ledger_entries e" + conditions + " ORDER BY e.seq DESC LIMIT @limit", [.. parameters, ("@limit", wanted)]);
        }

        if (rows.Count <= filter.Limit)
        {
            return new ReviewPage(rows, null);
        }

        rows.RemoveAt(rows.Count - 1);
        return new ReviewPage(rows, rows[^1].Sequence);

        void Condition(string clause, string name, object? value)
        {
            if (value is not null)
            {
                conditions.Append(" AND ").Append(clause);
                parameters.Add((name, value));
            }
        }

        async Task ReadAsync(string sql, (string, object?)[] values)
        {
            await using var command = connection.Command(sql, values);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add(ToRow(reader.GetInt64(0), Decode(reader)));
            }
        }
    }

    /// <summary>
    /// Exports every entry matching <paramref name="filter"/> (all pages; <see cref="ReviewFilter.Before"/> and
    /// <see cref="ReviewFilter.Limit"/> are ignored) as CSV, newest first. The export is first recorded in
    /// the ledger as an <see cref="AccessTask.Export"/> entry carrying <paramref name="reason"/> (the filter's
    /// subscriber, if any, as its subject); only then is the CSV written (DESIGN.md: no entry, no data).
    /// CSV: RFC 4180 with a header row, UTF-8, cells starting with <c>=</c>, <c>@</c>, <c>+</c> or <c>-</c> escaped
    /// against formula injection; subjects as space-separated tokens. Columns: docs/review.md.
    /// </summary>
    /// <param name="filter">The criteria.</param>
    /// <param name="reason">Why the data leaves the system; required, 1–500 characters after trimming (PIPA safety standard Art. 8(2): confirm the reason for every download).</param>
    /// <param name="account">The exporting officer's account.</param>
    /// <param name="role">Its role.</param>
    /// <param name="destination">Where the CSV goes; not closed.</param>
    /// <param name="terminal">The officer's terminal, when the export came over the network; recorded.</param>
    /// <param name="store">That terminal's store; recorded.</param>
    /// <param name="sourceIp">The source IP, when over the network; recorded.</param>
    /// <param name="cancellationToken">Cancels the export before it is recorded.</param>
    /// <returns>The rows written and the ledger entry, or <see cref="ReviewErrors.ReasonRequired"/>.</returns>
    /// <exception cref="LedgerUnavailableException">When the export could not be recorded; nothing is written.</exception>
    public async Task<Result<ReviewExport>> ExportAsync(ReviewFilter filter, string? reason, string account, StaffRole role, TextWriter destination, string? terminal = null, string? store = null, string? sourceIp = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(destination);
        if (CheckText(reason, "reason") is { } error)
        {
            return error;
        }

        var rows = new List<ReviewRow>();
        var page = await QueryAsync(filter with { Before = null, Limit = 1_000 }, cancellationToken);
        rows.AddRange(page.Rows);
        while (page.NextBefore is { } next)
        {
            page = await QueryAsync(filter with { Before = next, Limit = 1_000 }, cancellationToken);
            rows.AddRange(page.Rows);
        }

        var entry = await _ledger.AppendAsync(
            new AccessEntry
            {
                Time = _time.GetUtcNow(),
                Task = AccessTask.Export,
                Outcome = AccessOutcome.Allowed,
                Account = account,
                Role = role,
                Terminal = terminal,
                Store = store,
                SourceIp = sourceIp,
                Subjects = filter.Subject is { } s ? [s] : [],
                Target = string.Create(CultureInfo.InvariantCulture, $"access-log rows={rows.Count} {filter.Describe()}"),
                Reason = reason!.Trim(),
            },
            cancellationToken);

        // RFC 4180 (CRLF line ends); cells that a spreadsheet would run as formulas are escaped.
        await using (var csv = CsvWriter.Create(destination, new CsvWriterOptions { Injection = CsvInjection.Escape }, leaveOpen: true))
        {
            await csv.WriteRecordAsync(["seq", "time_utc", "task", "outcome", "account", "role", "terminal", "store", "ip", "purpose", "subject_tokens", "fields", "unmasked", "error", "target", "reason"], cancellationToken);
            foreach (var r in rows)
            {
                await csv.WriteRecordAsync(
                    [
                        r.Sequence.ToString(CultureInfo.InvariantCulture),
                        r.Time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
                        r.Task,
                        r.Outcome,
                        r.Account ?? string.Empty,
                        r.Role ?? string.Empty,
                        r.Terminal ?? string.Empty,
                        r.Store ?? string.Empty,
                        r.SourceIp ?? string.Empty,
                        r.Purpose ?? string.Empty,
                        string.Join(' ', r.SubjectTokens),
                        string.Join(' ', r.Fields),
                        string.Join(' ', r.UnmaskedFields),
                        r.ErrorCode ?? string.Empty,
                        r.Target ?? string.Empty,
                        r.Reason ?? string.Empty,
                    ],
                    cancellationToken);
            }
        }

        await destination.FlushAsync(cancellationToken);
        return new ReviewExport(rows.Count, entry);
    }

    /// <summary>Builds the review report of <paramref name="period"/> from the ledger as it is now.</summary>
    /// <param name="period">The period (any cycle; the earlier periods listed follow the period's own cycle).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The report.</returns>
    /// <exception cref="FormatException">When a stored payload cannot be decoded (run <c>custodian ledger verify</c>).</exception>
    public async Task<ReviewReport> BuildReportAsync(ReviewPeriod period, CancellationToken cancellationToken = default)
    {
        var offset = _options.UtcOffset;
        var max = _options.MaxListedItems;
        var byTask = new SortedDictionary<string, (long Allowed, long Denied)>(StringComparer.Ordinal);
        var byAccount = new SortedDictionary<string, Counts>(StringComparer.Ordinal);
        var byStore = new SortedDictionary<string, Counts>(StringComparer.Ordinal);
        var deniedByError = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var unmaskedByField = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var denied = new List<ReportItem>();
        var outside = new List<ReportItem>();
        var alerts = new List<ReportItem>();
        var suspensions = new List<ReportItem>();
        var restorations = new List<ReportItem>();
        var downloads = new List<ReportItem>();
        var erasures = new List<(long Seq, DateTimeOffset Time, RetentionErasureRecord Record)>();
        long entries = 0, erased = 0, deniedTotal = 0, unmasks = 0, outsideTotal = 0;

        await using var connection = await _db.OpenAsync(cancellationToken);

        // One read snapshot for every query below; deferred, so it never takes the write lock the ledger writer needs.
        await using var tx = await _db.BeginSnapshotAsync(connection, cancellationToken); // SQLite: BEGIN DEFERRED; PostgreSQL: REPEATABLE READ READ ONLY
        await using (var command = connection.Command(
            "SELECT seq, payload, erased_by FROM ledger_entries WHERE time_ms >= @from AND time_ms < @to ORDER BY seq",
            ("@from", period.Start.ToUnixTimeMilliseconds()),
            ("@to", period.End.ToUnixTimeMilliseconds())))
        {
            command.Transaction = tx;
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                if (!reader.IsDBNull(2))
                {
                    erased++;
                    continue;
                }

                var seq = reader.GetInt64(0);
                var e = Decode(reader);
                entries++;
                var task = e.Task.ToName();
                var isDenied = e.Outcome == AccessOutcome.Denied;
                var isUnmask = e.Task == AccessTask.Unmask && !isDenied;
                var isDownload = e.Task.IsDownloadOrExport();
                var local = e.Time.ToOffset(offset);
                var time = TimeOnly.FromTimeSpan(local.TimeOfDay);
                var isOutside = !isDenied && e.Account is not null && e.Task.ReadsPersonalData() && (time < _options.StoreOpens || time >= _options.StoreCloses);
                var item = new ReportItem(seq, local, task, LeafCodec.OutcomeName(e.Outcome), e.Account, e.Terminal, e.Store, e.ErrorCode, e.Target, e.Reason, isDownload);

                var t = byTask.GetValueOrDefault(task);
                byTask[task] = isDenied ? (t.Allowed, t.Denied + 1) : (t.Allowed + 1, t.Denied);
                Count(byAccount, e.Account);
                Count(byStore, e.Store);
                if (isDenied)
                {
                    deniedTotal++;
                    var code = e.ErrorCode ?? "none";
                    deniedByError[code] = deniedByError.GetValueOrDefault(code) + 1;
                    AddCapped(denied, item);
                }

                if (isUnmask)
                {
                    unmasks++;
                    foreach (var field in e.UnmaskedFields)
                    {
                        unmaskedByField[field] = unmaskedByField.GetValueOrDefault(field) + 1;
                    }
                }

                if (isOutside)
                {
                    outsideTotal++;
                    AddCapped(outside, item);
                }

                if (isDownload)
                {
                    downloads.Add(item);
                }

                switch (e.Task)
                {
                    case AccessTask.AlertRaised: alerts.Add(item); break;
                    case AccessTask.Suspended: suspensions.Add(item); break;
                    case AccessTask.Restored: restorations.Add(item); break;
                    case AccessTask.RetentionErasure when RetentionErasureRecord.TryParse(e.Target, out var record):
                        erasures.Add((seq, local, record));
                        break;
                    default: break;
                }

                void Count(SortedDictionary<string, Counts> groups, string? key)
                {
                    if (key is null)
                    {
                        return;
                    }

                    var c = groups.GetValueOrDefault(key) ?? new Counts();
                    groups[key] = c;
                    c.Entries++;
                    c.Denied += isDenied ? 1 : 0;
                    c.Unmasks += isUnmask ? 1 : 0;
                    c.Outside += isOutside ? 1 : 0;
                    c.Downloads += isDownload ? 1 : 0;
                }
            }
        }

        var reportErasures = new List<ReportErasure>();
        await using (var count = connection.Command("SELECT COUNT(*) FROM ledger_entries WHERE erased_by = @by", ("@by", 0L)))
        {
            count.Transaction = tx;
            foreach (var (seq, time, record) in erasures)
            {
                count.Parameters[0].Value = seq;
                var n = Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
                reportErasures.Add(new ReportErasure(seq, time, record.From, record.To, record.Cutoff.ToOffset(offset), n));
            }
        }

        // Earlier periods back to the one in which the deployment started (its first ledger entry): periods before it had
        // nothing to review and are not listed as "not signed off".
        DateTimeOffset? deployedAt = null;
        await using (var first = connection.Command("SELECT MIN(time_ms) FROM ledger_entries"))
        {
            first.Transaction = tx;
            if (await first.ExecuteScalarAsync(cancellationToken) is { } ms and not DBNull)
            {
                deployedAt = DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(ms, CultureInfo.InvariantCulture));
            }
        }

        var earlier = new List<ReviewPeriod>();
        var p = period;
        for (var i = 0; i < _options.SignOffHistory; i++)
        {
            p = p.Previous();
            if (deployedAt is not { } since || p.End <= since)
            {
                break;
            }

            earlier.Add(p);
        }

        var signOffs = earlier.Count == 0 ? [] : await ReadSignOffsAsync(connection, tx, earlier[^1].End, cancellationToken);
        var earlierStates = earlier.Select(x => signOffs.TryGetValue(x.Id, out var s)
            ? new ReportSignOff(x.Id, true, s.Sequence, s.Reviewer, s.Sha256)
            : new ReportSignOff(x.Id, false, null, null, null)).ToList();

        var definition = string.Create(CultureInfo.InvariantCulture, $"search/view/unmask/print/download served to a staff account (refused attempts are under denied accesses) at local time before {_options.StoreOpens:HH\\:mm} or from {_options.StoreCloses:HH\\:mm} (UTC{(offset < TimeSpan.Zero ? "-" : "+")}{offset:hh\\:mm})");
        return new ReviewReport(
            period.Id,
            period.Cycle == ReviewCycle.Monthly ? "monthly" : "weekly",
            period.Start,
            period.End,
            entries,
            erased,
            byTask.Select(x => new ReportTaskCount(x.Key, x.Value.Allowed, x.Value.Denied)).ToList(),
            Groups(byAccount),
            Groups(byStore),
            new ReportDenied(deniedTotal, deniedByError, denied),
            new ReportUnmasks(unmasks, unmaskedByField),
            new ReportOutsideHours(definition, outsideTotal, outside),
            alerts,
            suspensions,
            restorations,
            downloads,
            reportErasures,
            earlierStates);

        void AddCapped(List<ReportItem> list, ReportItem item)
        {
            if (list.Count < max)
            {
                list.Add(item);
            }
        }

        static List<ReportGroupCount> Groups(SortedDictionary<string, Counts> groups) =>
            groups.Select(g => new ReportGroupCount(g.Key, g.Value.Entries, g.Value.Denied, g.Value.Unmasks, g.Value.Outside, g.Value.Downloads)).ToList();
    }

    /// <summary>
    /// Records the reviewer's sign-off of <paramref name="periodText"/>: a <see cref="AccessTask.ReviewSignOff"/>
    /// entry whose account is the reviewer, target <c>review:&lt;period&gt;;sha256:&lt;report hash&gt;</c> and reason the note.
    /// </summary>
    /// <param name="periodText">The period, of the configured cycle, ended, and ending after the first ledger entry (the deployment's start).</param>
    /// <param name="reviewer">An active security-officer or privacy-officer account.</param>
    /// <param name="note">The reviewer's findings; 1–500 characters after trimming.</param>
    /// <param name="expectedSha256">When given, the hash of the report the reviewer read; a different current report is refused.</param>
    /// <param name="cancellationToken">Cancels before the entry is queued.</param>
    /// <returns>The entry and the report signed, or an error from <see cref="ReviewErrors"/>.</returns>
    /// <exception cref="LedgerUnavailableException">When the sign-off could not be recorded.</exception>
    public async Task<Result<(CommittedEntry Entry, ReviewReport Report)>> SignOffAsync(string? periodText, string? reviewer, string? note, string? expectedSha256, CancellationToken cancellationToken = default)
    {
        var parsed = ParsePeriod(periodText);
        if (!parsed.IsSuccess)
        {
            return parsed.Error!;
        }

        var period = parsed.Value;
        if (period.Cycle != _options.Cycle)
        {
            return new CustodianError(ReviewErrors.CycleMismatch, 409, $"The review cycle is {(_options.Cycle == ReviewCycle.Monthly ? "monthly (yyyy-MM)" : "weekly (yyyy-Www)")}; sign off a period of that cycle.");
        }

        if (CheckText(note, "note") is { } noteError)
        {
            return noteError;
        }

        if (_time.GetUtcNow() < period.End)
        {
            return new CustodianError(ReviewErrors.PeriodNotOver, 409, $"Period {period.Id} is not over until {period.End:yyyy-MM-dd HH:mm zzz}; it cannot be signed off yet.");
        }

        // A period that ended before the deployment's first ledger entry had nothing to review: a sign-off of it would be an
        // attestation of a review that cannot have happened (and the report lists no such period as awaiting sign-off).
        if (await FirstEntryTimeAsync(cancellationToken) is not { } deployedAt || period.End <= deployedAt)
        {
            return new CustodianError(ReviewErrors.PeriodBeforeDeployment, 409, $"Period {period.Id} ended before the first ledger entry (the deployment's start); there is nothing to sign off.");
        }

        var account = Codes.IsValid(reviewer) ? await _staff.GetAsync(reviewer!) : null;
        if (account is null || account.Status != StaffAccountStatus.Active || account.Role is not (StaffRole.SecurityOfficer or StaffRole.PrivacyOfficer))
        {
            return new CustodianError(ReviewErrors.ReviewerNotOfficer, 403, "The reviewer must be an active security-officer or privacy-officer account.");
        }

        await using (var connection = await _db.OpenAsync(cancellationToken))
        {
            var existing = await ReadSignOffsAsync(connection, null, period.End, cancellationToken);
            if (existing.TryGetValue(period.Id, out var previous))
            {
                return new CustodianError(ReviewErrors.AlreadySignedOff, 409, $"Period {period.Id} was already signed off (ledger entry #{previous.Sequence}).");
            }
        }

        var report = await BuildReportAsync(period, cancellationToken);
        var sha = report.Sha256Hex();
        if (expectedSha256 is not null && !string.Equals(expectedSha256, sha, StringComparison.OrdinalIgnoreCase))
        {
            return new CustodianError(ReviewErrors.ReportChanged, 409, $"The report of {period.Id} has changed since it was reviewed; review the current report (SHA-256 {sha}) again.");
        }

        var entry = await _ledger.AppendAsync(
            new AccessEntry
            {
                Time = _time.GetUtcNow(),
                Task = AccessTask.ReviewSignOff,
                Outcome = AccessOutcome.Allowed,
                Account = account.Id,
                Role = account.Role,
                Target = SignOffTargetPrefix + period.Id + SignOffHashSeparator + sha,
                Reason = note!.Trim(),
            },
            cancellationToken);
        return (entry, report);
    }

    private Task<DateTimeOffset?> FirstEntryTimeAsync(CancellationToken cancellationToken) => DeploymentStart.FirstEntryTimeAsync(_db, cancellationToken);

    private static AccessEntry Decode(DbDataReader reader) =>
        LeafCodec.Decode(reader.GetValue(1) as byte[] ?? throw new FormatException("A stored ledger entry has no payload; run 'custodian ledger verify'."));

    /// <summary>
    /// The rule for the reason of any export (review exports, one-off SIEM exports): 1–<see cref="LeafCodec.MaxReasonLength"/>
    /// (500) characters after trimming, not blank, and officer free text (<see cref="Classification.FreeText.Check"/>: no
    /// control or bidi characters, no phone number or RRN). PIPA safety standard Art. 8(2): the reason of every download is confirmed.
    /// </summary>
    /// <param name="reason">The stated reason; null or blank is refused.</param>
    /// <returns>Null when acceptable; otherwise <see cref="ReviewErrors.ReasonRequired"/> or the free-text rule's error (400), naming the field <c>reason</c>.</returns>
    public static CustodianError? CheckReason(string? reason) => CheckText(reason, "reason");

    private static CustodianError? CheckText(string? text, string what) =>
        string.IsNullOrWhiteSpace(text) || text.Trim().Length > LeafCodec.MaxReasonLength
            ? new CustodianError(ReviewErrors.ReasonRequired, 400, $"A {what} is required: 1-{LeafCodec.MaxReasonLength} characters, not blank.")
            : Classification.FreeText.Check(text, what);

    // Sign-offs happen after their period ends, so only entries from 'since' on are read (through the time index).
    private static async Task<Dictionary<string, SignOff>> ReadSignOffsAsync(DbConnection connection, DbTransaction? tx, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, SignOff>(StringComparer.Ordinal);
        await using var command = connection.Command(
            "SELECT seq, payload FROM ledger_entries WHERE time_ms >= @since AND task = @task AND erased_by IS NULL ORDER BY seq",
            ("@since", since.ToUnixTimeMilliseconds()),
            ("@task", AccessTask.ReviewSignOff.ToName()));
        command.Transaction = tx;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var e = Decode(reader);
            var target = e.Target ?? string.Empty;
            var at = target.IndexOf(SignOffHashSeparator, StringComparison.Ordinal);
            if (target.StartsWith(SignOffTargetPrefix, StringComparison.Ordinal) && at > SignOffTargetPrefix.Length)
            {
                var id = target[SignOffTargetPrefix.Length..at];
                result.TryAdd(id, new SignOff(reader.GetInt64(0), e.Account, target[(at + SignOffHashSeparator.Length)..]));
            }
        }

        return result;
    }

    private ReviewRow ToRow(long seq, AccessEntry e) => new(
        seq,
        e.Time,
        e.Task.ToName(),
        LeafCodec.OutcomeName(e.Outcome),
        e.Account,
        e.Role?.ToName(),
        e.Terminal,
        e.Store,
        e.SourceIp,
        e.Purpose,
        e.Subjects.Select(_tokenizer.TokenizeSubscriber).ToList(),
        e.Fields,
        e.UnmaskedFields,
        e.ErrorCode,
        e.Target,
        e.Reason);

    private sealed record SignOff(long Sequence, string? Reviewer, string Sha256);

    private sealed class Counts
    {
        public long Entries { get; set; }

        public long Denied { get; set; }

        public long Unmasks { get; set; }

        public long Outside { get; set; }

        public long Downloads { get; set; }
    }
}
