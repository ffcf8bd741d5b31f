using System.Globalization;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Problems;
using Custodian.Storage;
using Custodian.Transparency;

namespace Custodian.Portal;

/// <summary>How often the periodic usage-history notice is sent. PIPA Art. 20-2 and its Enforcement Decree Art. 15-3 require at least once a year.</summary>
public enum NoticeCycle
{
    /// <summary>Once a year, for the previous calendar year (the legal minimum; the default).</summary>
    Yearly = 1,

    /// <summary>Twice a year, for the previous half-year.</summary>
    HalfYearly = 2,

    /// <summary>Four times a year, for the previous quarter.</summary>
    Quarterly = 3,

    /// <summary>Every month, for the previous month.</summary>
    Monthly = 4,
}

/// <summary>A notice period of Korean calendar days (UTC+9).</summary>
/// <param name="Id">Stable name: <c>2025</c>, <c>2026-H1</c>, <c>2026-Q3</c>, <c>2026-10</c>; part of the inbox reference, so one notice per subscriber per period.</param>
/// <param name="From">First day, inclusive.</param>
/// <param name="To">Last day, inclusive.</param>
public sealed record NoticePeriod(string Id, DateOnly From, DateOnly To)
{
    /// <summary>The last complete period of <paramref name="cycle"/> before <paramref name="asOf"/>.</summary>
    /// <param name="cycle">The cycle.</param>
    /// <param name="asOf">The day of the run (Korea time).</param>
    public static NoticePeriod Previous(NoticeCycle cycle, DateOnly asOf)
    {
        switch (cycle)
        {
            case NoticeCycle.Yearly:
                var y = asOf.Year - 1;
                return new NoticePeriod(y.ToString(CultureInfo.InvariantCulture), new DateOnly(y, 1, 1), new DateOnly(y, 12, 31));
            case NoticeCycle.HalfYearly:
                var (hy, h) = asOf.Month <= 6 ? (asOf.Year - 1, 2) : (asOf.Year, 1);
                var hStart = new DateOnly(hy, h == 1 ? 1 : 7, 1);
                return new NoticePeriod(string.Create(CultureInfo.InvariantCulture, $"{hy}-H{h}"), hStart, hStart.AddMonths(6).AddDays(-1));
            case NoticeCycle.Quarterly:
                var thisQuarter = new DateOnly(asOf.Year, (((asOf.Month - 1) / 3) * 3) + 1, 1);
                var qStart = thisQuarter.AddMonths(-3);
                return new NoticePeriod(string.Create(CultureInfo.InvariantCulture, $"{qStart.Year}-Q{((qStart.Month - 1) / 3) + 1}"), qStart, thisQuarter.AddDays(-1));
            case NoticeCycle.Monthly:
                var mStart = new DateOnly(asOf.Year, asOf.Month, 1).AddMonths(-1);
                return new NoticePeriod(mStart.ToString("yyyy-MM", CultureInfo.InvariantCulture), mStart, mStart.AddMonths(1).AddDays(-1));
            default:
                throw new ArgumentOutOfRangeException(nameof(cycle));
        }
    }
}

/// <summary>What a run did.</summary>
/// <param name="Period">The period's id.</param>
/// <param name="Subscribers">Subscribers visited.</param>
/// <param name="Delivered">New notices delivered.</param>
/// <param name="AlreadyDelivered">Subscribers who already had this period's notice (a re-run).</param>
/// <param name="SmsOptedOut">New notices delivered to the inbox only, because the subscriber opted out of the SMS copy.</param>
/// <param name="LedgerSequence">The sequence of the run's <see cref="AccessTask.UsageNoticeRun"/> entry.</param>
public sealed record UsageNoticeRunResult(string Period, int Subscribers, int Delivered, int AlreadyDelivered, int SmsOptedOut, long LedgerSequence);

/// <summary>
/// The subscriber's notice preferences (table <c>portal_notice_preferences</c>). Only the SMS copy of the periodic
/// usage-history notice can be turned off (docs/portal.md, "Opt-out"): the notice itself is the controller's duty
/// under PIPA Art. 20-2 and always reaches the inbox; security notices (flagged access, incidents under Art. 34)
/// cannot be turned off. Default: SMS copy on. Thread-safe.
/// </summary>
public sealed class NoticePreferences(CustodianDatabase db, TimeProvider time)
{
    /// <summary>Whether <paramref name="subject"/> wants the SMS copy of the periodic notice (true unless they turned it off).</summary>
    public async Task<bool> UsageNoticeSmsAsync(SubscriberId subject, CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT usage_notice_sms FROM portal_notice_preferences WHERE subscriber_id = @s", ("@s", subject.Value));
        return await command.ExecuteScalarAsync(cancellationToken) is not long value || value != 0;
    }

    /// <summary>Turns the SMS copy of the periodic notice on or off for <paramref name="subject"/>.</summary>
    public async Task SetUsageNoticeSmsAsync(SubscriberId subject, bool enabled, CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "INSERT INTO portal_notice_preferences (subscriber_id, usage_notice_sms, updated_ms) VALUES (@s, @v, @t) " +
            "ON CONFLICT (subscriber_id) DO UPDATE SET usage_notice_sms = excluded.usage_notice_sms, updated_ms = excluded.updated_ms",
            ("@s", subject.Value),
            ("@v", enabled ? 1 : 0),
            ("@t", time.GetUtcNow().ToUnixTimeMilliseconds()));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>
/// The periodic usage-history notice of PIPA Art. 20-2 (docs/portal.md, "Periodic notice"): for every subscriber,
/// the purposes their data was used for, the items (fields) used, who handled it (stores, as the carrier's processors)
/// and third-party provision, over one <see cref="NoticePeriod"/>, from the ledger. Delivered to the inbox with
/// reference <c>usage-history:&lt;period&gt;</c>, so a re-run of the same period delivers nothing twice; with an SMS copy
/// unless the subscriber opted out (<see cref="NoticePreferences"/>). Entries held back by a deferral are left out.
/// Each run ends with a <see cref="AccessTask.UsageNoticeRun"/> ledger entry. Works on subscriber IDs only.
/// </summary>
public sealed class UsageNotices(CustodianDatabase db, IAccessLedgerReader reader, IAccessLedger ledger, HistoryDeferrals deferrals, SubscriberInbox inbox, NoticePreferences preferences, TimeProvider time)
{
    /// <summary>How many subscribers there are (the run visits each).</summary>
    public async Task<long> CountSubscribersAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT COUNT(*) FROM subscribers");
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Delivers the notice of <paramref name="period"/> to every subscriber, in ID order. A period that ended by the
    /// deployment's start (<see cref="DeploymentStart">the first ledger entry</see>), or any period while the ledger is
    /// empty, is refused before anything is delivered or recorded: the ledger holds nothing of it, and a notice saying
    /// "no store staff used your data" would state what Custodian cannot know.
    /// </summary>
    /// <param name="period">The period; it must end after the first ledger entry.</param>
    /// <param name="operatorAccount">Who ran it, for the ledger (an account code).</param>
    /// <param name="sendSms">False to deliver to inboxes only (e.g. when the notice also goes by post).</param>
    /// <param name="progress">Receives the number of subscribers visited so far.</param>
    /// <param name="cancellationToken">Cancels the run; what was delivered stays delivered, and a re-run continues.</param>
    /// <returns>What the run did, or <see cref="PortalErrors.NoticePeriodBeforeDeployment"/> (409).</returns>
    /// <exception cref="LedgerUnavailableException">When the run's ledger entry could not be written (the notices were delivered).</exception>
    public async Task<Result<UsageNoticeRunResult>> RunAsync(NoticePeriod period, string operatorAccount, bool sendSms, IProgress<int>? progress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(period);
        Codes.Require(operatorAccount, "operator");
        if (await CheckDeployedAsync(period, cancellationToken) is { } beforeDeployment)
        {
            return beforeDeployment;
        }

        int visited = 0, delivered = 0, already = 0, optedOut = 0;
        long after = 0;
        while (true)
        {
            var ids = new List<SubscriberId>(1000);
            await using (var connection = await db.OpenAsync(cancellationToken))
            await using (var command = connection.Command("SELECT id FROM subscribers WHERE id > @after ORDER BY id LIMIT 1000", ("@after", after)))
            await using (var rows = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await rows.ReadAsync(cancellationToken))
                {
                    ids.Add(new SubscriberId(rows.GetInt64(0)));
                }
            }

            if (ids.Count == 0)
            {
                break;
            }

            foreach (var subject in ids)
            {
                var text = await ComposeAsync(subject, period, cancellationToken);
                var sms = sendSms && await preferences.UsageNoticeSmsAsync(subject, cancellationToken);
                var result = await inbox.DeliverAsync(subject, NoticeKind.UsageHistory, text, "usage-history:" + period.Id, sms, cancellationToken);
                if (result.Created)
                {
                    delivered++;
                    optedOut += sendSms && !sms ? 1 : 0;
                }
                else
                {
                    already++;
                }

                progress?.Report(++visited);
            }

            after = ids[^1].Value;
        }

        var committed = await ledger.AppendAsync(
            new AccessEntry
            {
                Time = time.GetUtcNow(),
                Task = AccessTask.UsageNoticeRun,
                Outcome = AccessOutcome.Allowed,
                Account = operatorAccount,
                Target = string.Create(CultureInfo.InvariantCulture, $"usage-history:{period.Id};delivered:{delivered};skipped:{already}"),
                Reason = "PIPA Art. 20-2 periodic usage-history notice",
            },
            cancellationToken);
        return new UsageNoticeRunResult(period.Id, visited, delivered, already, optedOut, committed.Sequence);
    }

    /// <summary>
    /// Null when <paramref name="period"/> ends after the deployment's start (<see cref="DeploymentStart">the first
    /// ledger entry</see>); otherwise the <see cref="PortalErrors.NoticePeriodBeforeDeployment"/> (409) refusal that
    /// <see cref="RunAsync"/> gives, naming the period and the deployment's start. Also refused while the ledger is empty.
    /// </summary>
    /// <param name="period">The period.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<CustodianError?> CheckDeployedAsync(NoticePeriod period, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(period);
        var periodEnd = DateTimeOffset.FromUnixTimeMilliseconds(AccessHistory.Bounds(period.From, period.To).To);
        var deployedAt = await DeploymentStart.FirstEntryTimeAsync(db, cancellationToken);
        if (deployedAt is { } since && periodEnd > since)
        {
            return null;
        }

        var start = deployedAt is { } d
            ? string.Create(CultureInfo.InvariantCulture, $"Custodian's first ledger entry ({d.ToOffset(AccessHistory.KoreaOffset):yyyy-MM-dd HH:mm} Korea time)")
            : "Custodian's first ledger entry (the ledger is empty)";
        return new CustodianError(
            PortalErrors.NoticePeriodBeforeDeployment,
            409,
            string.Create(CultureInfo.InvariantCulture, $"Usage notice {period.Id} ({period.From:yyyy-MM-dd} to {period.To:yyyy-MM-dd}) covers a period that ended before {start}: the ledger holds nothing of it, so nothing was sent."));
    }

    /// <summary>The notice of <paramref name="period"/> for <paramref name="subject"/>, from the ledger.</summary>
    public async Task<NoticeText> ComposeAsync(SubscriberId subject, NoticePeriod period, CancellationToken cancellationToken = default)
    {
        var (fromMs, toMs) = AccessHistory.Bounds(period.From, period.To);
        var held = await deferrals.ActiveAsync(subject, time.GetUtcNow(), cancellationToken);
        var purposes = new SortedSet<string>(StringComparer.Ordinal);
        var fields = new List<string>();
        var stores = new SortedSet<string>(StringComparer.Ordinal);
        long? before = null;
        var done = false;
        while (!done)
        {
            var batch = await reader.ReadBySubjectAsync(subject, before, 500, cancellationToken);
            done = batch.Count < 500;
            foreach (var c in batch)
            {
                before = c.Sequence;
                var ms = c.Entry.Time.ToUnixTimeMilliseconds();
                if (ms < fromMs - (long)AccessHistory.PeriodSlack.TotalMilliseconds)
                {
                    done = true;
                    break;
                }

                if (ms < fromMs || ms >= toMs || c.Entry.Outcome != AccessOutcome.Allowed || !AccessHistory.IsShownTask(c.Entry.Task) || held.ContainsKey(c.Sequence))
                {
                    continue;
                }

                if (c.Entry.Purpose is { } p)
                {
                    purposes.Add(p);
                }

                foreach (var f in c.Entry.Fields.Where(f => !fields.Contains(f, StringComparer.Ordinal)))
                {
                    fields.Add(f);
                }

                if (c.Entry.Store is { } s)
                {
                    stores.Add(s);
                }
            }
        }

        // Bounded so that a subscriber served at very many stores still gets a notice within NoticeText.MaxBodyLength.
        const int MaxStores = 30;
        string Stores(bool ko) => stores.Count <= MaxStores
            ? string.Join(ko ? ", " : "; ", stores)
            : string.Join(ko ? ", " : "; ", stores.Take(MaxStores)) + (ko ? " 외 " : " and ") + (stores.Count - MaxStores).ToString(CultureInfo.InvariantCulture) + (ko ? "곳" : " more");
        var from = period.From.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var to = period.To.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        string Body(bool ko)
        {
            if (purposes.Count == 0 && fields.Count == 0)
            {
                return ko
                    ? $"{from}부터 {to}까지 회원님의 개인정보 이용내역을 알려 드립니다 (개인정보 보호법 제20조의2).\n- 이 기간에 매장 직원이 회원님의 정보를 이용한 기록이 없습니다.\n- 제3자 제공: 접근 기록에 제3자 제공이 없습니다.\n자세한 내용은 '내 이용내역'에서 확인하세요."
                    : $"Your personal data usage from {from} to {to} (Personal Information Protection Act, Art. 20-2).\n- No store staff used your data in this period.\n- Provided to third parties: none recorded in the access ledger.\nSee 'My access history' for details.";
            }

            var sep = ko ? ", " : "; ";
            return ko
                ? $"{from}부터 {to}까지 회원님의 개인정보 이용내역을 알려 드립니다 (개인정보 보호법 제20조의2).\n" +
                  $"- 이용 목적: {string.Join(sep, purposes.Select(p => PortalWords.Purpose(p, true)))}\n" +
                  $"- 이용한 항목: {string.Join(sep, fields.Select(f => PortalWords.Field(f, true)))}\n" +
                  $"- 처리한 곳 (위탁 매장): {Stores(true)}\n" +
                  "- 제3자 제공: 접근 기록에 제3자 제공이 없습니다.\n자세한 내용은 '내 이용내역'에서 확인하세요."
                : $"Your personal data usage from {from} to {to} (Personal Information Protection Act, Art. 20-2).\n" +
                  $"- Purposes: {string.Join(sep, purposes.Select(p => PortalWords.Purpose(p, false)))}\n" +
                  $"- Items used: {string.Join(sep, fields.Select(f => PortalWords.Field(f, false)))}\n" +
                  $"- Handled by (stores acting for the carrier): {Stores(false)}\n" +
                  "- Provided to third parties: none recorded in the access ledger.\nSee 'My access history' for details.";
        }

        return new NoticeText($"개인정보 이용내역 안내 ({period.Id})", Body(true), $"Your personal data usage notice ({period.Id})", Body(false));
    }
}
