using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Custodian.Hosting;
using Custodian.Identity;
using Custodian.Incidents;
using Custodian.Ledger;
using Custodian.Messaging;
using Custodian.Monitoring;
using Custodian.Problems;
using Custodian.Protection.Keys;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Custodian.Tests.Incidents;

/// <summary>
/// Incident cases over a real SQLite data directory with a fabricated November 2026 ledger (KST) and fake time; the clock
/// stands at 2026-12-01 12:00 KST. Subscribers 1–10 are internal IDs chosen by the test.
/// </summary>
public sealed class IncidentServiceTests : IAsyncLifetime
{
    private static readonly TimeSpan Kst = TimeSpan.FromHours(9);
    private static readonly DateTimeOffset November = new(2026, 11, 1, 0, 0, 0, Kst);
    private static readonly DateTimeOffset December = new(2026, 12, 1, 0, 0, 0, Kst);
    private static readonly IncidentActor Officer = new("sec1", StaffRole.SecurityOfficer, "S000-back-office", "S000", "10.9.9.9");
    private static readonly NoticeFacts Facts = new("매장 단말기 원격 조종", "단말기 폐기, 계정 정지", "고객센터 114");
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-incidents-");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, Kst));
    private readonly FlakySms _sms = new();
    private ServiceProvider _services = null!;
    private Infrastructure.PostgresSchema? _schema;

    private IncidentService Service => _services.GetRequiredService<IncidentService>();

    public async Task InitializeAsync()
    {
        var services = new ServiceCollection();
        services.AddLogging();

        // SQLite by default; CUSTODIAN_TEST_BACKEND=postgres runs the class on a fresh PostgreSQL schema (docs/storage.md).
        _schema = Infrastructure.TestStorage.Default == Infrastructure.TestBackend.Postgres ? await Infrastructure.TestStorage.CreateSchemaAsync() : null;
        services.AddCustodianCore(new CustodianOptions { DataDirectory = _dir.FullName, PasswordIterations = 1_000, Storage = _schema?.ConnectionString ?? "sqlite" }, _time);
        services.AddSingleton<ISmsSender>(sp => _sms.Wrap(new OutboxSmsSender(sp.GetRequiredService<Storage.CustodianDatabase>(), _time, sp.GetRequiredService<Custodian.Protection.Keys.SmsBodyCipher>())));
        _services = services.BuildServiceProvider();
        await CustodianComposition.InitialiseAsync(_services);

        await Add("2026-10-31 23:59", AccessTask.View, "C0001", "T1", "S001", [9], ["name", "phone"]);                 // before the window
        await Add("2026-11-02 10:00", AccessTask.View, "C0001", "T1", "S001", [1], ["name", "rrn", "phone"]);         // 1 masked …
        await Add("2026-11-02 10:05", AccessTask.Unmask, "C0001", "T1", "S001", [1], ["rrn"], unmasked: ["rrn"]);     // … then its RRN in full
        await Add("2026-11-02 11:00", AccessTask.Unmask, "C0001", "T1", "S001", [2], ["phone"], unmasked: ["phone"]); // 2: phone in full
        await Add("2026-11-03 09:30", AccessTask.Search, "C0001", "T1", "S001", [3, 4], ["name", "phone", "rate-plan"]); // 3, 4 masked
        await Add("2026-11-03 09:31", AccessTask.Export, "C0001", "T1", "S001", [5], []);                               // 5: token only
        await Add("2026-11-03 09:32", AccessTask.View, "C0001", "T1", "S001", [6], [], denied: "purpose-required");     // refused: no exposure
        await Add("2026-11-03 09:33", AccessTask.ConsentRequest, "C0001", "T1", "S001", [7], []);                       // not a read
        await Add("2026-11-04 12:00", AccessTask.View, "C0002", "T2", "S002", [8], ["name"]);                           // another store
        await Add("2026-11-05 12:00", AccessTask.View, "C0003", "T1", "S001", [10], ["name"]);                          // another clerk on T1
        await Add("2026-12-01 00:00", AccessTask.View, "C0001", "T1", "S001", [1], ["name"]);                           // after the window
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        if (_schema is not null)
        {
            await _schema.DisposeAsync();
        }

        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    [Fact]
    public async Task Scoping_grades_every_subscriber_counts_exactly_and_records_the_set_hash_in_the_ledger()
    {
        var declared = await Service.DeclareAsync(new DeclareIncident("C0001 scraping at S001", [], Scope(clerks: ["C0001"])), Officer);
        Assert.True(declared.IsSuccess, declared.Error?.Message);
        var id = declared.Value.Id;
        Assert.Matches("^INC-20261201-[0-9A-HJKMNP-TV-Z]{6}$", id);
        Assert.Equal(IncidentState.Open, declared.Value.State);
        Assert.Equal(declared.Value.DeclaredAt + TimeSpan.FromHours(72), declared.Value.NoticeDeadline);

        var scoped = await Service.ScopeAsync(id, null, Officer);
        Assert.True(scoped.IsSuccess, scoped.Error?.Message);
        var s = scoped.Value.Summary!;
        Assert.Equal(new GradeCounts(RrnUnmasked: 1, Unmasked: 1, Masked: 2, TokenOnly: 1), s.Counts);
        Assert.Equal((7L, 5L, 13L), (s.EntriesMatched, s.EntriesExposing, s.LedgerSize)); // 11 fabricated + the first officer + the declaration
        var canonical = "1,rrn-unmasked\n2,unmasked\n3,masked\n4,masked\n5,token-only\n";
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical))), s.SetSha256);
        Assert.Equal(new Dictionary<string, long> { ["name"] = 3, ["phone"] = 4, ["rate-plan"] = 2, ["rrn"] = 1 }, s.Fields);
        Assert.Equal(new Dictionary<string, long> { ["phone"] = 1, ["rrn"] = 1 }, s.UnmaskedFields);
        Assert.Equal([new TimelineDay("2026-11-02", 3, 2), new TimelineDay("2026-11-03", 2, 3)], s.Timeline);
        Assert.Equal(["clerk:C0001"], s.Principals);
        var sample = IncidentApi.Drafts(Service, scoped.Value, Facts with { How = "a remote-controlled counter PC" }, NoticeLanguage.English).Value.SampleSms;
        Assert.Contains("Your phone number, RRN (in full); name, rate plan (masked) were viewed.", sample, StringComparison.Ordinal); // this case's fields, not every field

        var ledger = await LedgerAsync();
        var scopedEntry = ledger[^1].Entry;
        Assert.Equal(AccessTask.IncidentScoped, scopedEntry.Task);
        Assert.Equal($"incident:{id} ledger-size=13 sha256:{s.SetSha256}", scopedEntry.Target);
        Assert.Equal("subscribers=5 rrn-unmasked=1 unmasked=1 masked=2 token-only=1 entries=5", scopedEntry.Reason);
        Assert.Equal(("sec1", "S000-back-office", "10.9.9.9"), (scopedEntry.Account, scopedEntry.Terminal, scopedEntry.SourceIp));
        Assert.Equal((AccessTask.IncidentDeclared, $"incident:{id}", "C0001 scraping at S001"), (ledger[^2].Entry.Task, ledger[^2].Entry.Target, ledger[^2].Entry.Reason));
        Assert.Equal(
            [(ledger[^2].Sequence, "incident-declared"), (ledger[^1].Sequence, "incident-scoped")],
            (await Service.ActionsAsync(id)).Select(a => (a.Sequence, a.Action)));

        // Reproducible: entries appended later (even back-dated into the window) do not change a verification.
        await Add("2026-11-20 10:00", AccessTask.View, "C0001", "T1", "S001", [42], ["name"]);
        var verified = await Service.VerifyAsync(id);
        Assert.True(verified.Value.Same);
        Assert.Equal(s.SetSha256, verified.Value.Recomputed);

        // A re-scope with the terminal too takes the other clerk's read on T1 and the new entry.
        var rescoped = await Service.ScopeAsync(id, Scope(clerks: ["C0001"], terminals: ["T1"]), Officer);
        Assert.Equal(new GradeCounts(1, 1, 4, 1), rescoped.Value.Summary!.Counts);
        Assert.Equal(["clerk:C0001", "terminal:T1"], rescoped.Value.Summary.Principals);
        Assert.Equal(9L, rescoped.Value.Summary.EntriesMatched);
    }

    [Fact]
    public async Task The_export_names_subscribers_only_by_token_sorted_and_is_recorded_first()
    {
        var id = await ScopedAsync();
        var size = await _services.GetRequiredService<IAccessLedgerReader>().GetSizeAsync();
        Assert.Equal(IncidentErrors.ReasonRequired, (await Service.ExportAsync(id, " ", Officer, new StringWriter())).Error!.Code);
        Assert.Equal(size, await _services.GetRequiredService<IAccessLedgerReader>().GetSizeAsync());

        var csv = new StringWriter();
        var rows = await Service.ExportAsync(id, "hand over to the regulator", Officer, csv);
        Assert.Equal(5L, rows.Value);
        var lines = csv.ToString().Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("token,grade,fields,unmasked,entries,first_utc,last_utc", lines[0]);
        var tokenizer = _services.GetRequiredService<Tokenizer>();
        var expected = new (long Id, string Line)[]
        {
            (1, "rrn-unmasked,name phone rrn,rrn,2,2026-11-02T01:00:00.000Z,2026-11-02T01:05:00.000Z"),
            (2, "unmasked,phone,phone,1,2026-11-02T02:00:00.000Z,2026-11-02T02:00:00.000Z"),
            (3, "masked,name phone rate-plan,,1,2026-11-03T00:30:00.000Z,2026-11-03T00:30:00.000Z"),
            (4, "masked,name phone rate-plan,,1,2026-11-03T00:30:00.000Z,2026-11-03T00:30:00.000Z"),
            (5, "token-only,,,1,2026-11-03T00:31:00.000Z,2026-11-03T00:31:00.000Z"),
        }.Select(e => tokenizer.TokenizeSubscriber(new SubscriberId(e.Id)) + "," + e.Line).Order(StringComparer.Ordinal);
        Assert.Equal(expected, lines.Skip(1));
        var recorded = (await LedgerAsync())[^1].Entry;
        Assert.Equal((AccessTask.IncidentExport, $"incident:{id} tokens=5", "hand over to the regulator"), (recorded.Task, recorded.Target, recorded.Reason));
    }

    [Fact]
    public async Task Transitions_are_enforced_and_notices_reach_every_exposed_subscriber_once()
    {
        var declared = (await Service.DeclareAsync(new DeclareIncident("T1 remote-controlled", [], Scope(clerks: ["C0001"])), Officer)).Value;
        var id = declared.Id;
        Assert.Equal(IncidentErrors.StateConflict, (await Service.NotifyAsync(id, Facts, Officer)).Error!.Code);
        Assert.Equal(IncidentErrors.StateConflict, (await Service.ExportAsync(id, "why", Officer, new StringWriter())).Error!.Code);
        Assert.Equal(IncidentErrors.NotFound, (await Service.ScopeAsync("INC-20261201-NOPE00", null, Officer)).Error!.Code);
        var future = await Service.ScopeAsync(id, Scope(clerks: ["C0001"]) with { To = _time.GetUtcNow().AddMinutes(1) }, Officer);
        Assert.Equal(IncidentErrors.ScopeIncomplete, future.Error!.Code);
        Assert.Equal(
            (IncidentErrors.ScopeIncomplete, "Scoping needs a window that has ended: its 'to' is after now, so the run would not be reproducible."),
            (future.Error!.Code, future.Error.Message));
        var bad = await Service.ScopeAsync(id, Scope(clerks: ["bad code!"]) with { From = December, To = November }, Officer);
        Assert.Equal(["clerks", "to"], bad.Error!.Errors!.Keys.Order());

        Assert.True((await Service.ScopeAsync(id, null, Officer)).IsSuccess);
        Assert.Equal(IncidentErrors.StateConflict, (await Service.CloseAsync(id, "nothing to see", Officer)).Error!.Code);
        var badFacts = await Service.NotifyAsync(id, Facts with { How = new string('x', IncidentNotices.MaxHow + 1), Contact = " " }, Officer);
        Assert.Equal(["contact", "how"], badFacts.Error!.Errors!.Keys.Order());
        // A landline in the contact would be refused by the ledger's reason check after the notices went out: it is refused
        // first, and nothing is sent.
        var landline = await Service.NotifyAsync(id, Facts with { Contact = "Privacy desk 02-123-4567" }, Officer);
        Assert.Equal((ErrorCodes.PersonalDataInText, "contact: " + Custodian.Classification.FreeText.Rule + "."), (landline.Error!.Code, landline.Error.Message));
        Assert.Empty(await Service.DeliveriesAsync(id));

        _sms.FailFor = 2;
        _time.Advance(TimeSpan.FromHours(5));
        var first = await Service.NotifyAsync(id, Facts, Officer);
        Assert.Equal((7L, 1L, 1L, 0L), (first.Value.Sent, first.Value.Failed, first.Value.NotRequired, first.Value.AlreadySent)); // 4 subscribers x (inbox, sms)
        var deliveries = await Service.DeliveriesAsync(id);
        Assert.Equal(
            [
                (1L, "inbox", "sent"), (1L, "sms", "sent"), (2L, "inbox", "sent"), (2L, "sms", "failed"), (3L, "inbox", "sent"), (3L, "sms", "sent"),
                (4L, "inbox", "sent"), (4L, "sms", "sent"), (5L, "inbox", "not-required"), (5L, "sms", "not-required"),
            ],
            deliveries.Select(d => (d.Subscriber.Value, d.Channel, d.Status)));
        Assert.Equal("InvalidOperationException", deliveries[3].Error);
        var notified = (await Service.GetAsync(id)).Value;
        Assert.Equal((IncidentState.Notified, Facts), (notified.State, notified.Notice));
        var clock = Service.Clock(notified);
        Assert.Equal((true, TimeSpan.FromHours(67), "notified with 67h 00m to spare"), (clock.Met, clock.Remaining, clock.Describe()));
        Assert.Equal(IncidentErrors.StateConflict, (await Service.ScopeAsync(id, null, Officer)).Error!.Code);

        // A retry sends only the failed notice; the notification time stays the first one.
        _sms.FailFor = null;
        _time.Advance(TimeSpan.FromHours(1));
        var retry = await Service.NotifyAsync(id, Facts, Officer);
        Assert.Equal((1L, 0L, 1L, 7L), (retry.Value.Sent, retry.Value.Failed, retry.Value.NotRequired, retry.Value.AlreadySent));
        Assert.Equal(notified.NotifiedAt, (await Service.GetAsync(id)).Value.NotifiedAt);

        var outbox = await ((OutboxSmsSender)_sms.Inner!).ReadAsync(null, SmsKind.Notice, 100);
        Assert.Equal([1L, 2L, 3L, 4L], outbox.Select(m => m.Recipient.Value).Order());
        var rrn = outbox.Single(m => m.Recipient.Value == 1).Body;
        Assert.Equal($"[개인정보 유출 안내 {id}] 2026-11-01~2026-11-30 매장 단말기 원격 조종(으)로 고객님의 주민등록번호(전체), 이름, 휴대전화번호(일부 가림)이(가) 조회되었습니다. 조치: 단말기 폐기, 계정 정지. 의심 연락에 응하지 마세요. 피해 신고·문의: 고객센터 114", rrn);
        Assert.All(outbox, m => Assert.True(m.Body.Length <= IncidentNotices.MaxSms));
        var inbox = _services.GetRequiredService<Custodian.Portal.SubscriberInbox>();
        var notice = Assert.Single(await inbox.ListAsync(new SubscriberId(1)));
        Assert.Equal(("incident", $"incident:{id}", $"개인정보 유출 통지 {id}"), (notice.Kind, notice.Reference, notice.Text.TitleKo));
        Assert.StartsWith(rrn + "\n\n# 개인정보 유출 통지", notice.Text.BodyKo, StringComparison.Ordinal);
        Assert.Contains("Your RRN (in full); name, phone number (masked) were viewed.", notice.Text.BodyEn, StringComparison.Ordinal);
        Assert.Empty(await inbox.ListAsync(new SubscriberId(5)));

        var closed = await Service.CloseAsync(id, "notices delivered; terminal destroyed", Officer);
        Assert.Equal(IncidentState.Closed, closed.Value.State);
        Assert.Equal(IncidentErrors.StateConflict, (await Service.CloseAsync(id, "again", Officer)).Error!.Code);
        Assert.Equal(IncidentErrors.StateConflict, (await Service.NotifyAsync(id, Facts, Officer)).Error!.Code);
        Assert.Equal(
            ["incident-declared", "incident-scoped", "incident-notified", "incident-notified", "incident-closed"],
            (await Service.ActionsAsync(id)).Select(a => a.Action));
        var notifiedEntry = (await LedgerAsync()).First(e => e.Entry.Task == AccessTask.IncidentNotified).Entry;
        Assert.Equal($"incident:{id} sent=7 failed=1 not-required=1 already-sent=0", notifiedEntry.Target);
    }

    [Fact]
    public async Task An_open_case_declared_in_error_closes_and_a_scope_with_nobody_exposed_closes_without_notices()
    {
        var open = (await Service.DeclareAsync(new DeclareIncident("false alarm", [], IncidentScope.Empty), Officer)).Value;
        Assert.Equal(IncidentErrors.ReasonRequired, (await Service.CloseAsync(open.Id, "", Officer)).Error!.Code);
        Assert.Equal(IncidentState.Closed, (await Service.CloseAsync(open.Id, "declared in error", Officer)).Value.State);

        var empty = (await Service.DeclareAsync(new DeclareIncident("quiet store", [], Scope(stores: ["S404"])), Officer)).Value;
        var scoped = await Service.ScopeAsync(empty.Id, null, Officer);
        Assert.Equal(0L, scoped.Value.Summary!.Counts.Total);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData([])), scoped.Value.Summary.SetSha256);
        Assert.Equal(IncidentState.Closed, (await Service.CloseAsync(empty.Id, "no exposure found", Officer)).Value.State);

        Assert.Equal(Problems.ErrorCodes.ValidationFailed, (await Service.DeclareAsync(new DeclareIncident("  ", [], IncidentScope.Empty), Officer)).Error!.Code);
        Assert.Equal(IncidentErrors.AlertUnknown, (await Service.DeclareAsync(new DeclareIncident("from alert", ["A-NOPE"], IncidentScope.Empty), Officer)).Error!.Code);
    }

    [Fact]
    public async Task A_case_from_an_alert_takes_its_principal_and_window_and_detectors_add_the_principals_they_flagged()
    {
        // The monitor raised it on 2 November (its own clock; the case's clock is already in December).
        var alerts = new AlertStore(_services.GetRequiredService<Storage.CustodianDatabase>(), new FakeTimeProvider(new DateTimeOffset(2026, 11, 2, 10, 30, 0, Kst)));
        var alert = await alerts.CreateAsync(new NewAlert(DistinctSubjectsDetector.DetectorName, Principal.Create(PrincipalKind.Clerk, "C0001"), "S001", TimeSpan.FromHours(1), 30, 20, new AlertEvidence(1, 3, [1, 2, 3], 3), AlertSeverity.High));

        var fromAlert = (await Service.DeclareAsync(new DeclareIncident("alert follow-up", [alert.Id], IncidentScope.Empty), Officer)).Value;
        Assert.Equal([alert.Id], fromAlert.Alerts);
        Assert.Equal(["C0001"], fromAlert.Scope.Clerks);
        Assert.Equal((alert.RaisedAt.AddHours(-1), alert.RaisedAt.AddMilliseconds(1)), (fromAlert.Scope.From, fromAlert.Scope.To));
        var scoped = (await Service.ScopeAsync(fromAlert.Id, null, Officer)).Value.Summary!;
        Assert.Equal(new GradeCounts(1, 0, 0, 0), scoped.Counts); // the 10:00 view and 10:05 unmask of 1; 11:00 is outside

        var byDetector = (await Service.DeclareAsync(new DeclareIncident("every scraper in November", [], Scope(detectors: [DistinctSubjectsDetector.DetectorName])), Officer)).Value;
        var detected = (await Service.ScopeAsync(byDetector.Id, null, Officer)).Value.Summary!;
        Assert.Equal(["clerk:C0001"], detected.Principals);
        Assert.Equal(5L, detected.Counts.Total);
    }

    [Fact]
    public async Task Drafts_state_the_five_items_in_both_languages_and_the_longest_sms_fits()
    {
        var id = await ScopedAsync();
        var incident = (await Service.GetAsync(id)).Value;
        var longest = new NoticeFacts(new string('가', IncidentNotices.MaxHow), new string('나', IncidentNotices.MaxMeasures), new string('다', IncidentNotices.MaxContact));
        string[] all = ["address", "contract-dates", "name", "phone", "rate-plan", "rrn"];
        foreach (var language in new[] { NoticeLanguage.Korean, NoticeLanguage.English })
        {
            var sms = IncidentNotices.Sms(incident, longest, ExposureGrade.RrnUnmasked, all, ["rrn", "phone", "name"], language, Kst);
            Assert.True(sms.Length <= IncidentNotices.MaxSms, $"{language}: {sms.Length} characters");
        }

        Assert.Throws<ArgumentException>(() => IncidentNotices.Sms(incident, Facts, ExposureGrade.TokenOnly, [], [], NoticeLanguage.Korean, Kst));
        var drafts = IncidentApi.Drafts(Service, incident, Facts, NoticeLanguage.Korean).Value;
        foreach (var heading in new[] { "유출된 항목", "유출 시점과 경위", "고객님이 하실 수 있는 일", "회사의 조치", "피해 신고·상담" })
        {
            Assert.Contains(heading, drafts.Subscribers, StringComparison.Ordinal);
        }

        Assert.Contains("정보주체 4명 (주민등록번호 전체 노출 1, 기타 항목 전체 노출 1, 가림 처리 조회 2); 식별번호(토큰)만 노출 1명 별도", drafts.Regulator, StringComparison.Ordinal);
        var english = IncidentApi.Drafts(Service, incident, Facts with { How = "a store terminal was remote-controlled" }, NoticeLanguage.English).Value;
        Assert.Contains("2. **When and how**: 2026-11-01 to 2026-11-30, a store terminal was remote-controlled.", english.Subscribers, StringComparison.Ordinal);
        Assert.Contains("Scale: 4 data subjects (RRN in full 1, other items in full 1, masked only 2); token only, separately: 1", english.Regulator, StringComparison.Ordinal);

        var report = IncidentReport.ToMarkdown(incident, Service.Clock(incident), await Service.ActionsAsync(id), "timeline.svg");
        Assert.Contains("| **personal data exposed** (notified) | **4** |", report, StringComparison.Ordinal);
        Assert.Contains("| 2026-11-03 | 2 | 3 |", report, StringComparison.Ordinal);
        Assert.Contains("72h 00m left", report, StringComparison.Ordinal);
        var svg = System.Xml.Linq.XDocument.Parse(IncidentReport.TimelineSvg(incident.Summary!.Timeline, "x <&> y"));
        Assert.Equal(2, svg.Descendants(System.Xml.Linq.XName.Get("rect", "http://www.w3.org/2000/svg")).Count());
    }

    [Fact]
    public async Task The_report_counts_distinct_subscribers_not_the_entries_that_exposed_them()
    {
        // 10:00 a masked view of subscriber 1, 10:05 its RRN unmasked: two exposing entries, one subscriber (found by a
        // README-only evaluation: 'incident show' said "2 exposed subscribers" over a table of 1).
        var declared = await Service.DeclareAsync(new DeclareIncident("one subscriber read twice", [], Scope(clerks: ["C0001"]) with { From = new DateTimeOffset(2026, 11, 2, 10, 0, 0, Kst), To = new DateTimeOffset(2026, 11, 2, 10, 10, 0, Kst) }), Officer);
        var incident = (await Service.ScopeAsync(declared.Value.Id, null, Officer)).Value;
        Assert.Equal((2L, 2L, new GradeCounts(1, 0, 0, 0)), (incident.Summary!.EntriesMatched, incident.Summary.EntriesExposing, incident.Summary.Counts));

        var report = IncidentReport.ToMarkdown(incident, Service.Clock(incident), await Service.ActionsAsync(incident.Id));
        Assert.Contains("principals scanned: clerk:C0001. 2 entries matched, 2 of them exposing; 1 distinct subscriber affected.\n", report, StringComparison.Ordinal);
        Assert.Contains("| total | 1 |", report, StringComparison.Ordinal);
        Assert.DoesNotContain("exposed subscribers", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rescope_keeps_the_parts_of_the_case_it_does_not_name_and_says_which_part_is_missing()
    {
        var declared = (await Service.DeclareAsync(new DeclareIncident("no window yet", [], Scope(clerks: ["C0001"]) with { From = null, To = null }), Officer)).Value;
        var missing = await Service.ScopeAsync(declared.Id, null, Officer);
        Assert.Equal(
            (IncidentErrors.ScopeIncomplete, "Scoping needs a window with both 'from' and 'to'; the scope lacks at least one of them."),
            (missing.Error!.Code, missing.Error.Message));
        var onlyFrom = await Service.ScopeAsync(declared.Id, IncidentScope.Empty with { From = November }, Officer);
        Assert.Equal("Scoping needs a window with both 'from' and 'to'; the scope lacks at least one of them.", onlyFrom.Error!.Message);

        var windowOnly = await Service.ScopeAsync(declared.Id, IncidentScope.Empty with { From = November, To = December }, Officer);
        Assert.True(windowOnly.IsSuccess);
        Assert.Equal(Scope(clerks: ["C0001"]).Describe(), windowOnly.Value.Scope.Describe()); // the case's clerk, the given window

        var clerkOnly = await Service.ScopeAsync(declared.Id, IncidentScope.Empty with { Terminals = ["T-1"] }, Officer);
        Assert.True(clerkOnly.IsSuccess);
        Assert.Equal(Scope(terminals: ["T-1"]).Describe(), clerkOnly.Value.Scope.Describe()); // the principals replaced as a group, the window kept
    }

    private static IncidentScope Scope(string[]? clerks = null, string[]? terminals = null, string[]? stores = null, string[]? detectors = null) =>
        new(clerks ?? [], terminals ?? [], stores ?? [], November, December, detectors ?? []);

    private async Task<string> ScopedAsync()
    {
        var declared = await Service.DeclareAsync(new DeclareIncident("C0001", [], Scope(clerks: ["C0001"])), Officer);
        Assert.True((await Service.ScopeAsync(declared.Value.Id, null, Officer)).IsSuccess);
        return declared.Value.Id;
    }

    private async Task<List<CommittedEntry>> LedgerAsync()
    {
        var list = new List<CommittedEntry>();
        await foreach (var e in _services.GetRequiredService<IAccessLedgerReader>().ReadAsync(0))
        {
            list.Add(e);
        }

        return list;
    }

    private async Task Add(string localTime, AccessTask task, string account, string terminal, string store, long[] subjects, string[] fields, string? denied = null, string[]? unmasked = null) =>
        await _services.GetRequiredService<IAccessLedger>().AppendAsync(new AccessEntry
        {
            Time = new DateTimeOffset(DateTime.ParseExact(localTime, "yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture), Kst),
            Task = task,
            Outcome = denied is null ? AccessOutcome.Allowed : AccessOutcome.Denied,
            ErrorCode = denied,
            Account = account,
            Role = StaffRole.Clerk,
            Terminal = terminal,
            Store = store,
            SourceIp = "10.0.0.1",
            Subjects = subjects.Select(s => new SubscriberId(s)).ToArray(),
            Fields = fields,
            UnmaskedFields = unmasked ?? [],
        });

    /// <summary>An SMS sender that fails for one chosen subscriber and otherwise passes to the outbox.</summary>
    private sealed class FlakySms : ISmsSender
    {
        public long? FailFor { get; set; }

        public ISmsSender? Inner { get; private set; }

        public ISmsSender Wrap(ISmsSender inner)
        {
            Inner = inner;
            return this;
        }

        public Task SendAsync(SubscriberId recipient, SmsKind kind, string body, CancellationToken cancellationToken = default) =>
            recipient.Value == FailFor ? throw new InvalidOperationException("gateway down") : Inner!.SendAsync(recipient, kind, body, cancellationToken);
    }
}
