using System.Globalization;
using Custodian.Events;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Monitoring;
using Microsoft.Extensions.Logging;

namespace Custodian.Portal;

/// <summary>
/// Hosted service of the server: the immediate notice when the monitor flags an access to a subscriber's data
/// (docs/portal.md, "Notices"). It hooks the alert-raised seam that exists today — the monitor's
/// <see cref="AccessTask.AlertRaised"/> ledger entry, whose target is the alert id — reads the alert from
/// <see cref="AlertStore"/>, reads the entries its evidence names (at most <see cref="AlertEvidence.MaxSequences"/>),
/// and delivers one <see cref="NoticeKind.FlaggedAccess"/> notice (inbox and SMS) to every subscriber those entries
/// name, with reference <c>alert:&lt;id&gt;</c> so that a repeat never notifies twice; a subject already notified by
/// another alert whose evidence names the same entry (the clerk's and the terminal's alert for one read) is not
/// notified again: one access, one notice. An entry held back from a
/// subscriber by a deferral (<see cref="HistoryDeferrals"/>) does not notify that subscriber. At start it also notifies
/// the alerts of the last <see cref="CatchUpWindow"/> (at most 1,000), so an alert raised just before a crash or a
/// restart is not left unnoticed; delivery is idempotent per alert, so nobody is notified twice. The notice does not
/// claim a suspension: an alert may have led to an alert only, a step-up or a suspension.
/// </summary>
public sealed class FlaggedAccessNotifier(
    IAccessEventStream events,
    IAccessLedgerReader reader,
    AlertStore alerts,
    HistoryDeferrals deferrals,
    SubscriberInbox inbox,
    TimeProvider time,
    ILogger<FlaggedAccessNotifier> logger) : BackgroundService
{
    /// <summary>How far back the start-up catch-up looks: 7 days.</summary>
    public static readonly TimeSpan CatchUpWindow = TimeSpan.FromDays(7);

    /// <summary>Name of the subscription to the access event stream.</summary>
    public const string SubscriptionName = "portal-notices";

    private IAccessEventSubscription? _subscription;

    /// <inheritdoc />
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _subscription = events.Subscribe(SubscriptionName);
        return base.StartAsync(cancellationToken);
    }

    /// <summary>Notifies the subscribers whose data the alert's evidence entries name; returns how many notices were new.</summary>
    /// <param name="alertId">The alert.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    public async Task<int> NotifyAsync(string alertId, CancellationToken cancellationToken = default)
    {
        var alert = await alerts.GetAsync(alertId, cancellationToken);
        if (alert is null)
        {
            return 0;
        }

        var now = time.GetUtcNow();
        var subjects = new Dictionary<SubscriberId, HashSet<long>>(); // subject → the evidence entries naming it
        foreach (var sequence in alert.Evidence.Sequences)
        {
            var entry = await HistoryDeferrals.ReadEntryAsync(reader, sequence, cancellationToken);
            foreach (var subject in entry?.Entry.Subjects ?? [])
            {
                if (!(await deferrals.ActiveAsync(subject, now, cancellationToken)).ContainsKey(sequence))
                {
                    (subjects.TryGetValue(subject, out var named) ? named : subjects[subject] = []).Add(sequence);
                }
            }
        }

        var day = alert.RaisedAt.ToOffset(Transparency.AccessHistory.KoreaOffset).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
        var store = alert.Store ?? "?";
        var (detectedKo, detectedEn) = WhatWasDetected(alert.Detector);
        var text = new NoticeText(
            "내 정보가 포함된 이상 조회가 감지되었습니다",
            $"{day} (한국 시간), {store} 매장의 직원 계정이 {detectedKo} 감지되었습니다. 이 조회에 회원님의 정보가 포함되어 있습니다.\n" +
            "보안 담당자가 이 조회를 검토하고 있습니다. 검토 결과와 회원님이 할 수 있는 조치는 다시 알려 드립니다.\n" +
            "'내 이용내역'에서 해당 조회를 확인하고, 처리자 공개를 요청할 수 있습니다.",
            "Unusual access to your data was detected",
            $"On {day} (Korea time) a staff account at store {store} was detected {detectedEn}. Your data was among it.\n" +
            "A security officer is reviewing it. We will tell you the outcome and what you can do.\n" +
            "You can see the access under 'My access history' and ask who made it.");
        var created = 0;
        var others = new Dictionary<string, Alert?>(StringComparer.Ordinal) { [alert.Id] = alert };
        foreach (var (subject, named) in subjects)
        {
            // One access, one notice: the monitor may raise several alerts over the same entries (the clerk's and the
            // terminal's, or two detectors); a subject already told about any of these entries is not told again.
            if (await ToldAboutAsync(subject, named, alert.Id, others, cancellationToken))
            {
                continue;
            }

            if ((await inbox.DeliverAsync(subject, NoticeKind.FlaggedAccess, text, "alert:" + alert.Id, cancellationToken: cancellationToken)).Created)
            {
                created++;
            }
        }

        if (created > 0)
        {
            PortalLog.FlaggedAccessNotified(logger, alert.Id, created); // quiet when a start-up catch-up finds every notice delivered already
        }

        return created;
    }

    /// <summary>
    /// What the notice says the staff account was detected doing, by the alert's detector (docs/monitoring.md, "Detectors
    /// and their defaults"), in plain words and without the detector's thresholds: Korean (ending in <c>것이</c> or
    /// <c>정황이</c>, before <c>감지되었습니다</c>) and English (after <c>was detected</c>). A detector this list does not
    /// know gets a general phrase rather than a wrong specific one.
    /// </summary>
    /// <param name="detector">The alert's detector name, e.g. <c>machine-timing</c>.</param>
    /// <returns>The Korean and English phrases.</returns>
    public static (string Korean, string English) WhatWasDetected(string detector) => detector switch
    {
        DistinctSubjectsDetector.DetectorName => ("짧은 시간에 많은 가입자의 정보를 조회한 것이", "reading many subscribers' data in a short time"),
        Monitoring.Detection.BaselineDetector.DetectorName => ("평소나 같은 매장의 다른 직원보다 훨씬 많은 가입자의 정보를 조회한 것이", "reading far more subscribers' data than it or its peers usually do"),
        Monitoring.Detection.TimingDetector.DetectorName => ("영업시간 밖에 또는 기계처럼 일정한 속도로 가입자의 정보를 조회한 것이", "reading subscribers' data outside store hours or at a steady, machine-like pace"),
        Monitoring.Detection.EnumerationDetector.DetectorName => ("전화번호를 차례로 바꿔 가며 가입자를 조회한 것이", "searching for subscribers by trying phone numbers one after another"),
        Monitoring.Detection.OpenLookupsDetector.DetectorName => ("가입자의 정보를 조회하고 응대를 마치지 않은 일이 잦은 것이", "looking up many customers without serving them"),
        Monitoring.Detection.SideLookupsDetector.DetectorName => ("다른 고객을 응대하는 도중에 다른 가입자의 정보를 조회한 것이", "looking up other subscribers' data while serving a customer"),
        Monitoring.Detection.HouseholdDetector.DetectorName => ("직원 본인 가구의 가입자 정보를 응대 없이 조회한 것이", "looking up data of its holder's own household without serving them"),
        Monitoring.Detection.CollusionDetector.DetectorName => ("다른 매장의 직원 계정과 같은 가입자의 정보를 응대 없이 조회한 것이", "looking up, as did a staff account of another store, the same subscribers without serving them"),
        Monitoring.Detection.TargetingDetector.DetectorName => ("계약 만료가 가까운 가입자나 다른 지역 가입자의 정보를 집중적으로 조회한 것이", "reading mostly the data of subscribers whose contracts are ending or who live in another area"),
        Monitoring.Detection.WatchListDetector.DetectorName => ("특별 보호 대상 가입자의 정보를 조회한 것이", "reading the data of a subscriber under special protection"),
        Monitoring.Detection.IdentityDetector.DetectorName => ("계정 주인이 아닌 사람이 사용한 것으로 보이는 정황이", "being used in a way that suggests someone other than its holder"),
        _ => ("평소와 다른 방식으로 가입자의 정보를 조회한 것이", "reading subscribers' data in an unusual way"),
    };

    // Whether the subject holds a flagged-access notice of another alert whose evidence names one of these entries.
    private async Task<bool> ToldAboutAsync(SubscriberId subject, HashSet<long> entries, string alertId, Dictionary<string, Alert?> cache, CancellationToken cancellationToken)
    {
        foreach (var notice in await inbox.ListAsync(subject, 200, cancellationToken))
        {
            if (notice.Kind != NoticeKind.FlaggedAccess.ToName() || notice.Reference is not { } reference
                || !reference.StartsWith("alert:", StringComparison.Ordinal) || reference == "alert:" + alertId)
            {
                continue;
            }

            var otherId = reference["alert:".Length..];
            if (!cache.TryGetValue(otherId, out var other))
            {
                cache[otherId] = other = await alerts.GetAsync(otherId, cancellationToken);
            }

            if (other is not null && other.Evidence.Sequences.Any(entries.Contains))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Notifies the alerts raised in the last <see cref="CatchUpWindow"/>; returns how many notices were new.</summary>
    /// <param name="cancellationToken">Cancels the work.</param>
    public async Task<int> CatchUpAsync(CancellationToken cancellationToken = default)
    {
        var since = time.GetUtcNow() - CatchUpWindow;
        var created = 0;
        foreach (var alert in await alerts.ListAsync(null, 1_000, cancellationToken))
        {
            if (alert.RaisedAt < since)
            {
                break; // newest first
            }

            try
            {
                created += await NotifyAsync(alert.Id, cancellationToken);
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or IOException or InvalidOperationException or ArgumentException)
            {
                PortalLog.FlaggedAccessFailed(logger, alert.Id, ex);
            }
        }

        return created;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var subscription = _subscription ?? throw new InvalidOperationException("The notifier must be started with StartAsync.");
        try
        {
            await CatchUpAsync(stoppingToken);
            await foreach (var committed in subscription.Reader.ReadAllAsync(stoppingToken))
            {
                if (committed.Entry.Task != AccessTask.AlertRaised || committed.Entry.Target is not { } alertId)
                {
                    continue;
                }

                try
                {
                    await NotifyAsync(alertId, stoppingToken);
                }
                catch (Exception ex) when (ex is System.Data.Common.DbException or IOException or InvalidOperationException or ArgumentException)
                {
                    PortalLog.FlaggedAccessFailed(logger, alertId, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host shutdown.
        }
        finally
        {
            subscription.Dispose();
        }
    }
}
