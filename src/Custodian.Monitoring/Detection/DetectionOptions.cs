namespace Custodian.Monitoring.Detection;

/// <summary>
/// Thresholds of the detectors in <see cref="MonitorEngine"/> and of the <see cref="RiskPolicy"/>. The defaults come
/// from the evaluation in docs/monitoring.md ("Detectors" and "Evaluation"): tuned on simulated 30-day workloads of
/// 300+ clerks over several seeds so that normal work raises at most one alert per 1,000 clerk-days and no
/// suspension. Call <see cref="Validate"/> before use; treat as immutable once an engine is built.
/// </summary>
public sealed class DetectionOptions
{
    /// <summary>Offset of store-local time from UTC, used for store days and store hours.</summary>
    /// <value>The default is +9 hours (Korea Standard Time).</value>
    public TimeSpan LocalOffset { get; set; } = TimeSpan.FromHours(9);

    /// <summary>
    /// Days ahead within which a subscriber's contract end makes the guard set the <c>ending</c> signal of a read's ledger
    /// entry (<c>AccessSignals.ContractEnding</c>, docs/ledger-format.md §1.1): set when the contract ends on the read's
    /// date in Korea (UTC+9) or up to this many days after it. Targeting of expiring contracts (issue 5) is judged on it.
    /// </summary>
    /// <value>The default is 60; 1–365.</value>
    public int ContractEndingDays { get; set; } = 60;

    /// <summary>A lookup with no <c>service-complete</c> for the same subscriber by the same clerk within this time is an orphan.</summary>
    /// <value>The default is 60 minutes (the longest normal service in the simulator is 25 minutes).</value>
    public TimeSpan OrphanAfter { get; set; } = TimeSpan.FromMinutes(60);

    /// <summary>Open lookups (customers — a search and the views of what it found — read within <see cref="OrphanAfter"/> and not yet served) a principal may hold before the open-lookups detector scores; each one more adds <see cref="OpenLookupsStep"/> points.</summary>
    /// <value>The default is 6 (the customer being served plus 5 who left without a transaction in the last hour; at a 7 % walk-away rate and 8 customers an hour that is about 3 in a million clerk-hours).</value>
    public int OpenLookupsAllowed { get; set; } = 6;

    /// <summary>Points each open lookup beyond <see cref="OpenLookupsAllowed"/> adds to the open-lookups score (capped at 100).</summary>
    /// <value>The default is 25: the 7th open lookup scores 25, the 8th 50 (alert), the 9th 75 (step-up), the 10th 100 (suspend).</value>
    public int OpenLookupsStep { get; set; } = 25;

    /// <summary>Minutes out of the last 15 with at least one read from which the timing detector scores "sustained rate without idle".</summary>
    /// <value>The default is 13.</value>
    public int ActiveMinutesAlert { get; set; } = 13;

    /// <summary>Store opening time, store-local.</summary>
    /// <value>The default is 09:00.</value>
    public TimeSpan StoreOpens { get; set; } = TimeSpan.FromHours(9);

    /// <summary>Store closing time, store-local.</summary>
    /// <value>The default is 21:00.</value>
    public TimeSpan StoreCloses { get; set; } = TimeSpan.FromHours(21);

    /// <summary>Grace before opening and after closing during which reads still count as in hours.</summary>
    /// <value>The default is 45 minutes.</value>
    public TimeSpan HoursGrace { get; set; } = TimeSpan.FromMinutes(45);

    /// <summary>Not-found searches within one hour from which the enumeration detector scores (40 at this count, +15 per search more).</summary>
    /// <value>The default is 5.</value>
    public int NotFoundSearchesAlert { get; set; } = 5;

    /// <summary>
    /// Searches by one clerk or terminal within one hour whose searched numbers lie in the same 100-number block
    /// (<see cref="Custodian.Ledger.AccessSignals.NumberBlock"/>) from which the enumeration detector scores (40 at this
    /// count, +15 per search more, capped at 100): near-sequential numbers worked through one by one.
    /// </summary>
    /// <value>The default is 5: at the counter one customer gives at most two searches in their number's block (a
    /// mistyped last digit, then the number), and a family's several numbers are seldom in one block; in the simulated
    /// normal workload (30 days × 300 clerks, seeds 1–5, 1.03 million searches) no clerk had more than 3 in one block
    /// within an hour (docs/monitoring.md, "Enumeration by number block"). Range 2–10,000.</value>
    public int BlockSearchesAlert { get; set; } = 5;

    /// <summary>
    /// Distinct subscribers read over 7 days (subscriber-days, the baseline's <c>distinct-7d</c>) a clerk needs before the
    /// targeting detector judges the share of them with a contract ending or from another area: fewer, and a handful of
    /// reads would make any share.
    /// </summary>
    /// <value>The default is 100 (about two working days of an average clerk); range 10–100,000.</value>
    public int TargetingMinSubjects { get; set; } = 100;

    /// <summary>Robust-threshold multiplier k of the baseline detector: threshold = median + k × max(1.4826 × MAD, minimum spread).</summary>
    /// <value>The default is 5 (with the 1.4826 consistency factor, about 5 standard deviations for normally distributed counts).</value>
    public double BaselineK { get; set; } = 5;

    /// <summary>Days of the principal's own history (active days) needed before its own baseline is used; before that only the peer group judges.</summary>
    /// <value>The default is 7.</value>
    public int BaselineMinDays { get; set; } = 7;

    /// <summary>
    /// How often the live monitor stores the open (current) local day of each principal whose baseline counts changed
    /// since the last write (<see cref="BaselineDetector.DrainChangedOpenDays"/>; docs/monitoring.md, "Restart"): at most
    /// once per interval, measured with the monitor's <see cref="TimeProvider"/>, and once more at a graceful stop. A crash
    /// loses at most the last interval's changes of a principal's last active day; 1 second to 1 hour.
    /// </summary>
    /// <value>The default is 1 minute.</value>
    public TimeSpan BaselineOpenDayInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Peers (same store, same kind and role) needed for a store peer group; with fewer, all principals of the kind and role form the group.</summary>
    /// <value>The default is 4.</value>
    public int PeerGroupMinSize { get; set; } = 4;

    /// <summary>Subscriber IDs on the watch list (public figures, staff's own family, subscribers under protection): any read of them scores.</summary>
    /// <value>The default is empty.</value>
    public ISet<long> WatchList { get; init; } = new HashSet<long>();

    /// <summary>Distinct subscribers whose orphan lookups a pair of clerks of DIFFERENT stores share within 7 days from which the collusion detector suspends both.</summary>
    /// <value>The default is 4.</value>
    public int SharedOrphansSuspend { get; set; } = 4;

    /// <summary>
    /// Side lookups (never-served lookups that began while the clerk was serving another customer) a clerk may have within 7
    /// days before the side-lookups detector scores: one more scores 70 (step-up), <see cref="SideLookupsAllowed"/> + 3 score
    /// 100 (suspend).
    /// </summary>
    /// <value>The default is 3 (the most any innocent clerk had in 7 days over 11 simulated 30-day workloads of 300 clerks; docs/monitoring.md).</value>
    public int SideLookupsAllowed { get; set; } = 3;

    /// <summary>Risk from which an alert is raised (0–100).</summary>
    /// <value>The default is 40.</value>
    public int AlertRisk { get; set; } = 40;

    /// <summary>Risk from which the clerk and terminal are stepped up: every view needs the subscriber's consent.</summary>
    /// <value>The default is 60.</value>
    public int StepUpRisk { get; set; } = 60;

    /// <summary>Risk from which the clerk and terminal are suspended.</summary>
    /// <value>The default is 90.</value>
    public int SuspendRisk { get; set; } = 90;

    /// <summary>Checks the ranges and ordering of the settings.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Naming the first setting out of range.</exception>
    public void Validate()
    {
        Check(LocalOffset >= TimeSpan.FromHours(-14) && LocalOffset <= TimeSpan.FromHours(14), nameof(LocalOffset), "must be within ±14 hours");
        Check(ContractEndingDays is >= 1 and <= 365, nameof(ContractEndingDays), "must be 1-365");
        Check(OrphanAfter >= TimeSpan.FromMinutes(5) && OrphanAfter <= TimeSpan.FromDays(1), nameof(OrphanAfter), "must be 5 minutes to 1 day");
        Check(OpenLookupsAllowed is >= 1 and <= 10_000, nameof(OpenLookupsAllowed), "must be 1-10000");
        Check(OpenLookupsStep is >= 1 and <= 100, nameof(OpenLookupsStep), "must be 1-100");
        Check(ActiveMinutesAlert is >= 2 and <= 15, nameof(ActiveMinutesAlert), "must be 2-15");
        Check(StoreOpens >= TimeSpan.Zero && StoreCloses <= TimeSpan.FromDays(1) && StoreOpens < StoreCloses, nameof(StoreOpens), "must be before StoreCloses, both within one day");
        Check(HoursGrace >= TimeSpan.Zero && HoursGrace <= TimeSpan.FromHours(3), nameof(HoursGrace), "must be 0-3 hours");
        Check(NotFoundSearchesAlert is >= 1 and <= 10_000, nameof(NotFoundSearchesAlert), "must be 1-10000");
        Check(BlockSearchesAlert is >= 2 and <= 10_000, nameof(BlockSearchesAlert), "must be 2-10000");
        Check(TargetingMinSubjects is >= 10 and <= 100_000, nameof(TargetingMinSubjects), "must be 10-100000");
        Check(BaselineK is >= 1 and <= 100, nameof(BaselineK), "must be 1-100");
        Check(BaselineMinDays is >= 3 and <= 30, nameof(BaselineMinDays), "must be 3-30");
        Check(BaselineOpenDayInterval >= TimeSpan.FromSeconds(1) && BaselineOpenDayInterval <= TimeSpan.FromHours(1), nameof(BaselineOpenDayInterval), "must be 1 second to 1 hour");
        Check(PeerGroupMinSize is >= 2 and <= 1000, nameof(PeerGroupMinSize), "must be 2-1000");
        Check(WatchList is not null, nameof(WatchList), "must not be null");
        Check(SharedOrphansSuspend is >= 1 and <= 1000, nameof(SharedOrphansSuspend), "must be 1-1000");
        Check(SideLookupsAllowed is >= 0 and <= 1000, nameof(SideLookupsAllowed), "must be 0-1000");
        Check(AlertRisk is >= 1 and <= 100 && AlertRisk <= StepUpRisk && StepUpRisk <= SuspendRisk && SuspendRisk <= 100, nameof(AlertRisk), "must satisfy 1 <= AlertRisk <= StepUpRisk <= SuspendRisk <= 100");
    }

    private static void Check(bool ok, string name, string rule)
    {
        if (!ok)
        {
            throw new ArgumentOutOfRangeException(name, $"{name} {rule}.");
        }
    }
}
