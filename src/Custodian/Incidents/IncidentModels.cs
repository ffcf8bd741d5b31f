using System.Text.Json;
using System.Text.Json.Serialization;
using Custodian.Classification;

namespace Custodian.Incidents;

/// <summary>
/// Where an incident case stands. Transitions (enforced by <see cref="IncidentService"/>): open → scoped; scoped → scoped
/// (re-scoped with a changed scope); scoped → notified; notified → closed; open → closed (declared in error);
/// scoped → closed only when the scope found no affected subscriber. Stored by the names of <see cref="IncidentStates.ToName"/>.
/// </summary>
[JsonConverter(typeof(KebabCaseEnumConverter<IncidentState>))]
public enum IncidentState
{
    /// <summary>Declared; no affected set computed yet.</summary>
    Open = 1,

    /// <summary>The affected subscribers were computed from the ledger.</summary>
    Scoped = 2,

    /// <summary>Notices were sent to the affected subscribers (PIPA Art. 34).</summary>
    Notified = 3,

    /// <summary>Closed by an officer. Final.</summary>
    Closed = 4,
}

/// <summary>Stable names of <see cref="IncidentState"/>: <c>open</c>, <c>scoped</c>, <c>notified</c>, <c>closed</c>.</summary>
public static class IncidentStates
{
    /// <summary>The stable name.</summary>
    /// <exception cref="ArgumentOutOfRangeException">For a value outside the enum.</exception>
    public static string ToName(this IncidentState state) => state switch
    {
        IncidentState.Open => "open",
        IncidentState.Scoped => "scoped",
        IncidentState.Notified => "notified",
        IncidentState.Closed => "closed",
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };

    /// <summary>Parses a stable name (exact, lower case); false for anything else.</summary>
    public static bool TryParse(string? name, out IncidentState state)
    {
        foreach (var candidate in Enum.GetValues<IncidentState>())
        {
            if (string.Equals(candidate.ToName(), name, StringComparison.Ordinal))
            {
                state = candidate;
                return true;
            }
        }

        state = default;
        return false;
    }
}

/// <summary>
/// How badly one subscriber's data was exposed in an incident, most severe first. A subscriber's grade is the most severe
/// grade of any allowed personal-data read (or export) in scope that names them (docs/incidents.md, "Grades").
/// Stored by number; named by <see cref="ExposureGrades.ToName"/>.
/// </summary>
[JsonConverter(typeof(KebabCaseEnumConverter<ExposureGrade>))]
public enum ExposureGrade
{
    /// <summary>The resident registration number was shown in full (an <c>unmask</c> entry listing <c>rrn</c>).</summary>
    RrnUnmasked = 1,

    /// <summary>Another field (phone, name, address) was shown in full, but not the RRN.</summary>
    Unmasked = 2,

    /// <summary>Fields were shown masked only (search summaries, masked views).</summary>
    Masked = 3,

    /// <summary>No personal field was shown: only the subscriber's token or internal reference (e.g. an access-log export). Not a leak of personal information under PIPA Art. 34; counted and reported separately, not sent a breach notice.</summary>
    TokenOnly = 4,
}

/// <summary>Stable names of <see cref="ExposureGrade"/>: <c>rrn-unmasked</c>, <c>unmasked</c>, <c>masked</c>, <c>token-only</c>.</summary>
public static class ExposureGrades
{
    /// <summary>The stable name.</summary>
    /// <exception cref="ArgumentOutOfRangeException">For a value outside the enum.</exception>
    public static string ToName(this ExposureGrade grade) => grade switch
    {
        ExposureGrade.RrnUnmasked => "rrn-unmasked",
        ExposureGrade.Unmasked => "unmasked",
        ExposureGrade.Masked => "masked",
        ExposureGrade.TokenOnly => "token-only",
        _ => throw new ArgumentOutOfRangeException(nameof(grade)),
    };
}

/// <summary>
/// What an incident covers: ledger entries by any of the principals (staff accounts, terminals, stores), within the
/// time window, plus the principals of every alert that one of <see cref="Detectors"/> raised within the window.
/// Principal codes follow <see cref="Identity.Codes"/> rules. Not personal data.
/// </summary>
/// <param name="Clerks">Staff account codes.</param>
/// <param name="Terminals">Terminal codes.</param>
/// <param name="Stores">Store codes.</param>
/// <param name="From">Start of the window (inclusive), or null while not yet known.</param>
/// <param name="To">End of the window (exclusive), or null while not yet known.</param>
/// <param name="Detectors">Detector names (e.g. <c>distinct-subjects</c>) whose alerts add principals; empty for none.</param>
public sealed record IncidentScope(
    IReadOnlyList<string> Clerks,
    IReadOnlyList<string> Terminals,
    IReadOnlyList<string> Stores,
    DateTimeOffset? From,
    DateTimeOffset? To,
    IReadOnlyList<string> Detectors)
{
    /// <summary>An empty scope.</summary>
    public static IncidentScope Empty { get; } = new([], [], [], null, null, []);

    /// <summary>Whether any principal or detector is named.</summary>
    public bool HasPrincipals => Clerks.Count + Terminals.Count + Stores.Count + Detectors.Count > 0;

    /// <summary>
    /// This scope laid over <paramref name="current"/>: the parts named here replace those of <paramref name="current"/>, the
    /// rest is kept. The principals go together — any clerk, terminal, store or detector here replaces all four lists — and
    /// each end of the window on its own (<see cref="From"/>, <see cref="To"/>). So a re-scope that gives only a window keeps
    /// the case's principals, and one that gives only a clerk keeps its window.
    /// </summary>
    /// <param name="current">The case's scope.</param>
    /// <returns>The merged scope.</returns>
    public IncidentScope Over(IncidentScope current)
    {
        ArgumentNullException.ThrowIfNull(current);
        var principals = HasPrincipals ? this : current;
        return new IncidentScope(principals.Clerks, principals.Terminals, principals.Stores, From ?? current.From, To ?? current.To, principals.Detectors);
    }

    /// <summary>One-line description, e.g. <c>clerks=C0001 terminals=T-1 from=… to=…</c>, for ledger targets and listings.</summary>
    public string Describe()
    {
        var parts = new List<string>();
        Add("clerks", Clerks);
        Add("terminals", Terminals);
        Add("stores", Stores);
        Add("detectors", Detectors);
        if (From is { } f)
        {
            parts.Add("from=" + f.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
        }

        if (To is { } t)
        {
            parts.Add("to=" + t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
        }

        return string.Join(' ', parts);

        void Add(string name, IReadOnlyList<string> values)
        {
            if (values.Count > 0)
            {
                parts.Add(name + "=" + string.Join(',', values));
            }
        }
    }

    /// <summary>Value equality over the lists' elements.</summary>
    public bool Equals(IncidentScope? other) =>
        other is not null && Clerks.SequenceEqual(other.Clerks) && Terminals.SequenceEqual(other.Terminals) && Stores.SequenceEqual(other.Stores)
        && From == other.From && To == other.To && Detectors.SequenceEqual(other.Detectors);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Clerks.Count, Terminals.Count, Stores.Count, From, To, Detectors.Count);
}

/// <summary>Counts of affected subscribers per <see cref="ExposureGrade"/>.</summary>
/// <param name="RrnUnmasked">Subscribers whose RRN was shown in full.</param>
/// <param name="Unmasked">Subscribers with another field shown in full (not the RRN).</param>
/// <param name="Masked">Subscribers shown masked only.</param>
/// <param name="TokenOnly">Subscribers exposed by token only.</param>
public sealed record GradeCounts(long RrnUnmasked, long Unmasked, long Masked, long TokenOnly)
{
    /// <summary>All affected subscribers.</summary>
    public long Total => RrnUnmasked + Unmasked + Masked + TokenOnly;

    /// <summary>Subscribers whose personal information was exposed (every grade but token-only): those who get a breach notice.</summary>
    public long PersonalData => RrnUnmasked + Unmasked + Masked;
}

/// <summary>One day of the exposure timeline (days at the review offset, default KST).</summary>
/// <param name="Day">The day, <c>yyyy-MM-dd</c>.</param>
/// <param name="Entries">Ledger entries in scope that exposed someone that day.</param>
/// <param name="Subscribers">Distinct subscribers exposed that day.</param>
public sealed record TimelineDay(string Day, long Entries, long Subscribers);

/// <summary>The summary of a scoping run, stored with the case. Holds no subscriber identifiers.</summary>
/// <param name="LedgerSize">The ledger size (tree size) when scoped: only entries with a lower sequence were considered, so a re-run gives the same set.</param>
/// <param name="EntriesMatched">Ledger entries by the scope's principals in the window (any task and outcome).</param>
/// <param name="EntriesExposing">Of those, allowed personal-data reads and exports naming at least one subscriber.</param>
/// <param name="Counts">Affected subscribers per grade.</param>
/// <param name="SetSha256">SHA-256 (64 lower-case hex digits) of the canonical affected set (docs/incidents.md, "Reproducibility").</param>
/// <param name="Fields">Per field name, how many affected subscribers had it shown (masked or in full), ordinal order.</param>
/// <param name="UnmaskedFields">Per field name, how many affected subscribers had it shown in full.</param>
/// <param name="Timeline">Per-day counts, ascending.</param>
/// <param name="Principals">The principals actually scanned (scope plus those added from detectors' alerts), as <c>clerk:X</c>, <c>terminal:X</c>, <c>store:X</c>.</param>
/// <param name="ScopedAt">When the run finished.</param>
/// <param name="ScopedBy">The officer who ran it.</param>
public sealed record ScopeSummary(
    long LedgerSize,
    long EntriesMatched,
    long EntriesExposing,
    GradeCounts Counts,
    string SetSha256,
    IReadOnlyDictionary<string, long> Fields,
    IReadOnlyDictionary<string, long> UnmaskedFields,
    IReadOnlyList<TimelineDay> Timeline,
    IReadOnlyList<string> Principals,
    DateTimeOffset ScopedAt,
    string ScopedBy);

/// <summary>What the officer states for the notices (PIPA Art. 34(1) items 2, 4 and 5); never personal data.</summary>
/// <param name="How">How the leak happened (e.g. "a store terminal was remote-controlled"), 1–300 characters.</param>
/// <param name="Measures">What the company did (e.g. "revoked the terminal, suspended the account"), 1–300 characters.</param>
/// <param name="Contact">Where to get help (e.g. "고객센터 114, privacy@carrier.example"), 1–200 characters.</param>
public sealed record NoticeFacts(string How, string Measures, string Contact);

/// <summary>An incident case. Carries no personal data: principals are staff, terminal and store codes; subscribers are counted, not named.</summary>
/// <param name="Id">Identifier <c>INC-yyyyMMdd-XXXXXX</c> (declaration date UTC and 6 random Crockford base-32 characters).</param>
/// <param name="Title">Short description given at declaration, 1–200 characters.</param>
/// <param name="State">Where it stands.</param>
/// <param name="DeclaredAt">When it was declared; the 72-hour notice clock (PIPA Art. 34) runs from here.</param>
/// <param name="DeclaredBy">The declaring officer's account.</param>
/// <param name="Alerts">Monitor alert IDs it was declared from, possibly none.</param>
/// <param name="Scope">The current scope.</param>
/// <param name="Summary">The latest scoping run, or null while open.</param>
/// <param name="Notice">The facts the notices state, once notified.</param>
/// <param name="NotifiedAt">When notices were sent.</param>
/// <param name="ClosedAt">When it was closed.</param>
/// <param name="CloseNote">The closing note.</param>
public sealed record Incident(
    string Id,
    string Title,
    IncidentState State,
    DateTimeOffset DeclaredAt,
    string DeclaredBy,
    IReadOnlyList<string> Alerts,
    IncidentScope Scope,
    ScopeSummary? Summary,
    NoticeFacts? Notice,
    DateTimeOffset? NotifiedAt,
    DateTimeOffset? ClosedAt,
    string? CloseNote)
{
    /// <summary>The PIPA Art. 34 notice deadline: 72 hours after declaration (Personal Information Protection Act Art. 34(1) and its Enforcement Decree Art. 39(1), "without delay, within 72 hours").</summary>
    public static readonly TimeSpan NoticeWindow = TimeSpan.FromHours(72);

    /// <summary>When notices are due: <see cref="DeclaredAt"/> + 72 hours.</summary>
    public DateTimeOffset NoticeDeadline => DeclaredAt + NoticeWindow;
}

/// <summary>The 72-hour notice clock at one moment.</summary>
/// <param name="Deadline">Declaration + 72 hours.</param>
/// <param name="Remaining">Time left (negative once overdue); when notified, the margin that was left at notification.</param>
/// <param name="Met">True when notices went out before the deadline, false when after, null while not yet notified.</param>
public sealed record NoticeClock(DateTimeOffset Deadline, TimeSpan Remaining, bool? Met)
{
    /// <summary>The clock of <paramref name="incident"/> at <paramref name="now"/>.</summary>
    public static NoticeClock For(Incident incident, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(incident);
        var at = incident.NotifiedAt ?? now;
        return new NoticeClock(incident.NoticeDeadline, incident.NoticeDeadline - at, incident.NotifiedAt is null ? null : at <= incident.NoticeDeadline);
    }

    /// <summary>Text such as <c>41h 12m left</c>, <c>overdue by 3h 05m</c>, <c>notified with 20h 01m to spare</c>, <c>notified 2h 00m late</c>.</summary>
    public string Describe()
    {
        var span = Remaining.Duration();
        var text = $"{(long)span.TotalHours}h {span.Minutes:00}m";
        return Met switch
        {
            null when Remaining >= TimeSpan.Zero => text + " left",
            null => "overdue by " + text,
            true => "notified with " + text + " to spare",
            false => "notified " + text + " late",
        };
    }
}

/// <summary>One affected subscriber as exported: by FF1 token only.</summary>
/// <param name="Token">The subscriber token (<see cref="Protection.Keys.Tokenizer.TokenizeSubscriber"/>, 19 digits).</param>
/// <param name="Grade">The exposure grade.</param>
/// <param name="Fields">Fields shown (masked or not), ordinal order.</param>
/// <param name="Unmasked">Fields shown in full, ordinal order.</param>
/// <param name="Entries">Ledger entries in scope that exposed them.</param>
/// <param name="First">The first such entry's time.</param>
/// <param name="Last">The last such entry's time.</param>
public sealed record AffectedSubscriber(
    [property: Pseudonymous] string Token,
    ExposureGrade Grade,
    IReadOnlyList<string> Fields,
    IReadOnlyList<string> Unmasked,
    long Entries,
    DateTimeOffset First,
    DateTimeOffset Last);

/// <summary>Who does something to a case: the officer's account and role, and where from when over the network (all recorded in the ledger).</summary>
/// <param name="Account">Officer's account code.</param>
/// <param name="Role">Officer's role.</param>
/// <param name="Terminal">Terminal, when over the network.</param>
/// <param name="Store">That terminal's store.</param>
/// <param name="SourceIp">Source IP, when over the network.</param>
public sealed record IncidentActor(string Account, Identity.StaffRole Role, string? Terminal = null, string? Store = null, string? SourceIp = null);

/// <summary>One recorded action on a case, with the ledger entry that records it.</summary>
/// <param name="Sequence">The ledger sequence.</param>
/// <param name="Time">When.</param>
/// <param name="Action">The ledger task name (<c>incident-declared</c>, …).</param>
/// <param name="Account">The officer.</param>
/// <param name="Detail">Target text of the entry.</param>
public sealed record IncidentAction(long Sequence, DateTimeOffset Time, string Action, string Account, string Detail);

/// <summary>Writes and reads an enum in JSON by its kebab-case name (<c>rrn-unmasked</c>, <c>token-only</c>, <c>open</c>), the same names as the stable <c>ToName</c> methods.</summary>
/// <typeparam name="T">The enum.</typeparam>
public sealed class KebabCaseEnumConverter<T>() : JsonStringEnumConverter<T>(JsonNamingPolicy.KebabCaseLower, allowIntegerValues: false)
    where T : struct, Enum;
