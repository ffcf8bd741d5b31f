using System.Globalization;
using System.Security.Cryptography;
using Custodian.Access.Staff;
using Custodian.Hosting;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Protection.Keys;
using Custodian.Review;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Custodian.Tests.Review;

/// <summary>
/// The review service over a real SQLite data directory with fake time, on a fabricated November 2026
/// (Korea Standard Time, the default review offset). The clock stands at 2026-12-01 12:00 KST.
/// </summary>
public sealed class LedgerReviewTests : IAsyncLifetime
{
    private static readonly TimeSpan Kst = TimeSpan.FromHours(9);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-review-");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, Kst));
    private ServiceProvider _services = null!;
    private readonly Dictionary<string, long> _seq = new(StringComparer.Ordinal);

    private LedgerReview Review => _services.GetRequiredService<LedgerReview>();

    public async Task InitializeAsync()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddCustodianCore(new CustodianOptions { DataDirectory = _dir.FullName, PasswordIterations = 1_000 }, _time);
        _services = services.BuildServiceProvider();
        await CustodianComposition.InitialiseAsync(_services);
        Assert.True((await _services.GetRequiredService<StaffDirectory>().CreateAsync("privacy1", StaffRole.PrivacyOfficer, null)).IsSuccess);

        await Add("before", "2026-10-31 23:59", AccessTask.View, "C0001", "S001", "T1", [1]);
        await Add("first", "2026-11-01 00:00", AccessTask.View, "C0004", "S003", "T4", [6]);
        await Add("view", "2026-11-02 10:00", AccessTask.View, "C0001", "S001", "T1", [1]);
        await Add("unmask", "2026-11-02 10:05", AccessTask.Unmask, "C0001", "S001", "T1", [1], unmasked: ["phone"]);
        await Add("late", "2026-11-02 22:30", AccessTask.View, "C0001", "S001", "T1", [2]);
        await Add("early", "2026-11-03 08:59", AccessTask.Search, "C0002", "S002", "T2", [3]);
        await Add("denied", "2026-11-03 23:00", AccessTask.View, "C0002", "S002", "T2", [], denied: "purpose-required");
        await Add("device", "2026-11-03 23:01", AccessTask.DeviceRefused, null, null, "T9", [], denied: "device-unknown");
        await Add("download", "2026-11-04 09:00", AccessTask.Download, "C0003", "S001", "T3", [4], reason: "고객 요청: 요금 내역 사본");
        await Add("unmask2", "2026-11-04 21:00", AccessTask.Unmask, "C0003", "S001", "T3", [5], unmasked: ["rrn", "phone"]);
        await Add("alert", "2026-11-05 03:00", AccessTask.AlertRaised, "monitor", null, null, [], target: "alert-1", reason: "distinct subjects");
        await Add("suspend", "2026-11-05 03:00", AccessTask.Suspended, "monitor", null, null, [], target: "clerk:C0002", reason: "alert-1");
        await Add("restore", "2026-11-06 10:00", AccessTask.Restored, "officer", null, null, [], target: "clerk:C0002", reason: "reviewed");
        await Add("after", "2026-12-01 00:00", AccessTask.View, "C0001", "S001", "T1", [1]);
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    [Fact]
    public async Task Report_of_a_fabricated_month_has_exact_counts()
    {
        var period = Review.ParsePeriod("2026-11").Value;
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 0, 0, 0, Kst), period.Start);
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 0, 0, 0, Kst), period.End);

        var report = await Review.BuildReportAsync(period);

        Assert.Equal(("2026-11", "monthly", 12L, 0L), (report.Period, report.Cycle, report.Entries, report.ErasedEntries));
        Assert.Equal(
            [
                new ReportTaskCount("alert-raised", 1, 0),
                new ReportTaskCount("device-refused", 0, 1),
                new ReportTaskCount("download", 1, 0),
                new ReportTaskCount("restored", 1, 0),
                new ReportTaskCount("search", 1, 0),
                new ReportTaskCount("suspended", 1, 0),
                new ReportTaskCount("unmask", 2, 0),
                new ReportTaskCount("view", 3, 1),
            ],
            report.ByTask);
        Assert.Equal(
            [
                new ReportGroupCount("C0001", 3, 0, 1, 1, 0),
                new ReportGroupCount("C0002", 2, 1, 0, 1, 0),
                new ReportGroupCount("C0003", 2, 0, 1, 1, 1),
                new ReportGroupCount("C0004", 1, 0, 0, 1, 0),
                new ReportGroupCount("monitor", 2, 0, 0, 0, 0),
                new ReportGroupCount("officer", 1, 0, 0, 0, 0),
            ],
            report.ByAccount);
        Assert.Equal(
            [
                new ReportGroupCount("S001", 5, 0, 2, 2, 1),
                new ReportGroupCount("S002", 2, 1, 0, 1, 0),
                new ReportGroupCount("S003", 1, 0, 0, 1, 0),
            ],
            report.ByStore);
        Assert.Equal(2, report.Denied.Total);
        Assert.Equal(new Dictionary<string, long> { ["device-unknown"] = 1, ["purpose-required"] = 1 }, report.Denied.ByError);
        Assert.Equal([_seq["denied"], _seq["device"]], report.Denied.Items.Select(i => i.Sequence));
        Assert.Equal(2, report.Unmasks.Total);
        Assert.Equal(new Dictionary<string, long> { ["phone"] = 2, ["rrn"] = 1 }, report.Unmasks.ByField);
        Assert.Equal(4, report.OutsideStoreHours.Total); // not the refused view at 23:00 (listed under denied accesses)
        Assert.Equal([_seq["first"], _seq["late"], _seq["early"], _seq["unmask2"]], report.OutsideStoreHours.Items.Select(i => i.Sequence));
        Assert.Equal([_seq["alert"]], report.Alerts.Select(i => i.Sequence));
        Assert.Equal([_seq["suspend"]], report.Suspensions.Select(i => i.Sequence));
        Assert.Equal([_seq["restore"]], report.Restorations.Select(i => i.Sequence));
        var download = Assert.Single(report.Downloads);
        Assert.Equal((_seq["download"], true, "고객 요청: 요금 내역 사본"), (download.Sequence, download.Flagged, download.Reason));
        Assert.Empty(report.RetentionErasures);
        // Earlier periods go back only to the one holding the first ledger entry (2026-10-31 23:59), not 12 months before it.
        Assert.Equal(("2026-10", false), (Assert.Single(report.EarlierPeriods).Period, report.EarlierPeriods[0].SignedOff));

        // Deterministic: the same ledger gives the same bytes and hash; the JSON holds no internal subscriber ID.
        var again = await Review.BuildReportAsync(period);
        Assert.Equal(report.ToJson(), again.ToJson());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(report.ToJson())), report.Sha256Hex());
        Assert.DoesNotContain("\"subjects\"", System.Text.Encoding.UTF8.GetString(report.ToJson()), StringComparison.Ordinal);
        Assert.Contains("FLAGGED", report.ToMarkdown(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_download_and_export_task_is_flagged()
    {
        // A README-only evaluation found incident-export listed under tasks but not under "FLAGGED downloads and exports".
        await Add("review-export", "2026-11-07 10:00", AccessTask.Export, "officer", null, null, [], reason: "audit request", target: "access-log rows=3 account=C0001");
        await Add("incident-export", "2026-11-07 11:00", AccessTask.IncidentExport, "officer", null, null, [], reason: "notify the regulator", target: "incident:I-1 tokens=2");
        await Add("claim-view", "2026-11-07 12:00", AccessTask.ClaimView, "officer", null, null, [7], target: "claim:K-1");
        var report = await Review.BuildReportAsync(Review.ParsePeriod("2026-11").Value);

        Assert.Equal(
            [(_seq["download"], "download", true), (_seq["review-export"], "export", true), (_seq["incident-export"], "incident-export", true)],
            report.Downloads.Select(d => (d.Sequence, d.Task, d.Flagged)));
        Assert.Equal(new ReportGroupCount("officer", 4, 0, 0, 0, 2), report.ByAccount.Single(g => g.Key == "officer"));
        Assert.Contains("## FLAGGED downloads and exports: 3\n", report.ToMarkdown(), StringComparison.Ordinal);
        Assert.Equal(
            [AccessTask.Download, AccessTask.Export, AccessTask.IncidentExport],
            Enum.GetValues<AccessTask>().Where(t => t.IsDownloadOrExport()));
    }

    [Fact]
    public async Task Weekly_periods_follow_iso_weeks()
    {
        Assert.True(ReviewPeriod.TryParse("2026-W45", Kst, out var week));
        Assert.Equal(new DateTimeOffset(2026, 11, 2, 0, 0, 0, Kst), week.Start);
        Assert.Equal(new DateTimeOffset(2026, 11, 9, 0, 0, 0, Kst), week.End);
        Assert.Equal("2026-W44", week.Previous().Id);
        Assert.Equal("2020-W53", ReviewPeriod.Containing(ReviewCycle.Weekly, new DateTimeOffset(2021, 1, 3, 12, 0, 0, Kst), Kst).Id);
        Assert.False(ReviewPeriod.TryParse("2026-W54", Kst, out _));
        Assert.False(ReviewPeriod.TryParse("2026-13", Kst, out _));
        Assert.False(ReviewPeriod.TryParse("26-11", Kst, out _));

        var report = await Review.BuildReportAsync(week);
        Assert.Equal(("weekly", 11L), (report.Cycle, report.Entries));
        Assert.Equal("2026-W44", report.EarlierPeriods[0].Period);
    }

    [Fact]
    public async Task Queries_filter_by_each_criterion_newest_first_with_paging()
    {
        var tokenizer = _services.GetRequiredService<Tokenizer>();
        Assert.Equal(S("after", "late", "unmask", "view", "before"), await Seqs(new ReviewFilter { Clerk = "C0001" }));
        Assert.Equal(S("denied", "early"), await Seqs(new ReviewFilter { Terminal = "T2" }));
        Assert.Equal(S("unmask2", "download", "late", "unmask", "view"), await Seqs(new ReviewFilter { Store = "S001", From = Local(2026, 11, 1), To = Local(2026, 12, 1) }));
        Assert.Equal(S("unmask2", "unmask"), await Seqs(new ReviewFilter { Task = AccessTask.Unmask }));
        Assert.Equal(S("late", "unmask", "view"), await Seqs(new ReviewFilter { Clerk = "C0001", From = Local(2026, 11, 1), To = Local(2026, 12, 1) }));

        var subject = Review.ResolveToken(tokenizer.TokenizeSubscriber(new SubscriberId(1)));
        Assert.True(subject.IsSuccess);
        var page = await Review.QueryAsync(new ReviewFilter { Subject = subject.Value });
        Assert.Equal(S("after", "unmask", "view", "before"), page.Rows.Select(r => r.Sequence).ToList());
        Assert.All(page.Rows, r => Assert.Equal([tokenizer.TokenizeSubscriber(new SubscriberId(1))], r.SubjectTokens));
        Assert.All(page.Rows, r => Assert.Equal(19, r.SubjectTokens[0].Length));
        Assert.Equal(ReviewErrors.BadToken, Review.ResolveToken("123").Error!.Code);

        var first = await Review.QueryAsync(new ReviewFilter { Clerk = "C0001", Limit = 2 });
        Assert.Equal(S("after", "late"), first.Rows.Select(r => r.Sequence).ToList());
        var second = await Review.QueryAsync(new ReviewFilter { Clerk = "C0001", Limit = 2, Before = first.NextBefore });
        Assert.Equal(S("unmask", "view"), second.Rows.Select(r => r.Sequence).ToList());
        var third = await Review.QueryAsync(new ReviewFilter { Clerk = "C0001", Limit = 2, Before = second.NextBefore });
        Assert.Equal(S("before"), third.Rows.Select(r => r.Sequence).ToList());
        Assert.Null(third.NextBefore);
    }

    [Fact]
    public async Task Export_requires_a_reason_is_recorded_first_and_flagged_in_the_report()
    {
        var ledger = _services.GetRequiredService<SqliteAccessLedger>();
        var size = await ledger.GetSizeAsync();
        var filter = new ReviewFilter { Store = "S001", From = Local(2026, 11, 1), To = Local(2026, 12, 1) };
        foreach (var blank in new[] { null, "", "   ", new string('x', 501) })
        {
            var refused = await Review.ExportAsync(filter, blank, "officer", StaffRole.SecurityOfficer, new StringWriter());
            Assert.Equal(ReviewErrors.ReasonRequired, refused.Error!.Code);
        }

        Assert.Equal(size, await ledger.GetSizeAsync());

        var token = _services.GetRequiredService<Tokenizer>().TokenizeSubscriber(new SubscriberId(1));
        var csv = new StringWriter();
        var exported = await Review.ExportAsync(filter with { Subject = Review.ResolveToken(token).Value }, "  audit request #17 from the privacy office ", "officer", StaffRole.SecurityOfficer, csv);

        Assert.True(exported.IsSuccess);
        Assert.Equal(2, exported.Value.Rows);
        var lines = csv.ToString().Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("seq,time_utc,task,outcome,account,role,terminal,store,ip,purpose,subject_tokens,fields,unmasked,error,target,reason", lines[0]);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith($"{_seq["unmask"]},2026-11-02T01:05:00.000Z,unmask,allowed,C0001,clerk,T1,S001,10.0.0.1,in-store-service,{token},name phone,phone,,,", lines[1], StringComparison.Ordinal);

        var entry = exported.Value.Entry;
        Assert.Equal(size, entry.Sequence);
        Assert.Equal((AccessTask.Export, "audit request #17 from the privacy office", "officer"), (entry.Entry.Task, entry.Entry.Reason, entry.Entry.Account));
        Assert.Equal([new SubscriberId(1)], entry.Entry.Subjects);
        Assert.Equal("access-log rows=2 store=S001 from=2026-10-31T15:00:00Z to=2026-11-30T15:00:00Z subscriber=(subject)", entry.Entry.Target);

        var december = await Review.BuildReportAsync(Review.ParsePeriod("2026-12").Value);
        var flagged = Assert.Single(december.Downloads);
        Assert.Equal((entry.Sequence, "export", true, "audit request #17 from the privacy office"), (flagged.Sequence, flagged.Task, flagged.Flagged, flagged.Reason));
    }

    [Fact]
    public async Task Export_escapes_cells_a_spreadsheet_would_run_as_formulas()
    {
        await Add("formula", "2026-12-01 10:00", AccessTask.Print, "C0777", "S001", "T1", [], reason: "=HYPERLINK(\"http://x\")", target: "+1");
        var csv = new StringWriter();

        var exported = await Review.ExportAsync(new ReviewFilter { Clerk = "C0777" }, "check", "officer", StaffRole.SecurityOfficer, csv);

        Assert.Equal(1, exported.Value.Rows);
        var row = csv.ToString().Split("\r\n")[1];
        Assert.EndsWith(",\"'+1\",\"'=HYPERLINK(\"\"http://x\"\")\"", row, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_export_is_a_monitor_replay_file_as_it_is()
    {
        // A reason with a comma, quotes and a line break, and cells escaped against formulas: RFC 4180 on both sides.
        await Add("formula", "2026-12-01 10:00", AccessTask.Print, "C0777", "S001", "T1", [7], reason: "=HYPERLINK(\"http://x\"), then\nmore", target: "+1");
        var csv = new StringWriter();
        var exported = await Review.ExportAsync(new ReviewFilter { Store = "S001" }, "backtest the new rules", "officer", StaffRole.SecurityOfficer, csv);

        var (rows, errors) = Custodian.Monitoring.Replay.ReplayFile.Read(new StringReader(csv.ToString()), json: false);

        Assert.Empty(errors);
        Assert.Equal(8, exported.Value.Rows);
        static DateTimeOffset At(string local) => DateTimeOffset.Parse(local + " +09:00", CultureInfo.InvariantCulture);
        Assert.Equal(
            [
                (At("2026-10-31 23:59"), AccessTask.View, "C0001", "T1", 1, ""),
                (At("2026-11-02 10:00"), AccessTask.View, "C0001", "T1", 1, ""),
                (At("2026-11-02 10:05"), AccessTask.Unmask, "C0001", "T1", 1, "phone"),
                (At("2026-11-02 22:30"), AccessTask.View, "C0001", "T1", 1, ""),
                (At("2026-11-04 09:00"), AccessTask.Download, "C0003", "T3", 1, ""),
                (At("2026-11-04 21:00"), AccessTask.Unmask, "C0003", "T3", 1, "rrn phone"),
                (At("2026-12-01 00:00"), AccessTask.View, "C0001", "T1", 1, ""),
                (At("2026-12-01 10:00"), AccessTask.Print, "C0777", "T1", 1, ""),
            ],
            rows.Select(r => (r.Entry.Time, r.Entry.Task, r.Entry.Account!, r.Entry.Terminal!, r.Entry.Subjects.Count, string.Join(' ', r.Entry.UnmaskedFields))));
        Assert.All(rows, r => Assert.Equal(("S001", AccessOutcome.Allowed), (r.Entry.Store, r.Entry.Outcome)));
        Assert.Equal(rows[0].Entry.Subjects, rows[1].Entry.Subjects); // one subscriber token, one replay subscriber
        Assert.NotEqual(rows[0].Entry.Subjects, rows[3].Entry.Subjects);
        // Lines as in the file (header line 1, newest first): the print's record spans lines 2-3 (its reason's line break).
        Assert.Equal((2, 4), (rows.Single(r => r.Entry.Task == AccessTask.Print).Line, rows.Single(r => r.Entry.Time == At("2026-12-01 00:00")).Line));
    }

    [Fact]
    public async Task Sign_off_is_recorded_once_for_a_finished_period_and_verifies()
    {
        Assert.Equal(ReviewErrors.PeriodNotOver, (await Review.SignOffAsync("2026-12", "privacy1", "ok", null)).Error!.Code);
        Assert.Equal(ReviewErrors.CycleMismatch, (await Review.SignOffAsync("2026-W45", "privacy1", "ok", null)).Error!.Code);
        Assert.Equal(ReviewErrors.BadPeriod, (await Review.SignOffAsync("2026/11", "privacy1", "ok", null)).Error!.Code);
        Assert.Equal(ReviewErrors.ReviewerNotOfficer, (await Review.SignOffAsync("2026-11", "C0001", "ok", null)).Error!.Code);
        Assert.Equal(ReviewErrors.ReviewerNotOfficer, (await Review.SignOffAsync("2026-11", "nobody", "ok", null)).Error!.Code);
        Assert.Equal(ReviewErrors.ReasonRequired, (await Review.SignOffAsync("2026-11", "privacy1", " ", null)).Error!.Code);
        Assert.Equal(ReviewErrors.ReportChanged, (await Review.SignOffAsync("2026-11", "privacy1", "ok", new string('0', 64))).Error!.Code);

        var report = await Review.BuildReportAsync(Review.ParsePeriod("2026-11").Value);
        var signed = await Review.SignOffAsync("2026-11", "privacy1", "C0003 download confirmed with the store manager", report.Sha256Hex());

        Assert.True(signed.IsSuccess, signed.Error?.Message);
        var entry = signed.Value.Entry.Entry;
        Assert.Equal((AccessTask.ReviewSignOff, "privacy1", (StaffRole?)StaffRole.PrivacyOfficer), (entry.Task, entry.Account, entry.Role));
        Assert.Equal("review:2026-11;sha256:" + report.Sha256Hex(), entry.Target);
        Assert.Equal("C0003 download confirmed with the store manager", entry.Reason);
        Assert.Equal(ReviewErrors.AlreadySignedOff, (await Review.SignOffAsync("2026-11", "privacy1", "again", null)).Error!.Code);

        _time.SetUtcNow(new DateTimeOffset(2027, 1, 2, 0, 0, 0, Kst));
        var december = await Review.BuildReportAsync(Review.ParsePeriod("2026-12").Value);
        Assert.Equal(new ReportSignOff("2026-11", true, signed.Value.Entry.Sequence, "privacy1", report.Sha256Hex()), december.EarlierPeriods[0]);
        Assert.False(december.EarlierPeriods[1].SignedOff);

        var verified = await new LedgerVerifier(_services.GetRequiredService<Storage.CustodianDatabase>()).VerifyAsync();
        Assert.True(verified.IsValid, verified.Reason);
    }

    [Fact]
    public async Task Sign_off_of_a_period_ended_before_the_first_ledger_entry_is_refused_with_409()
    {
        // The first entry is at 2026-10-31 23:59 KST: September ended before it, October did not.
        var september = await Review.SignOffAsync("2026-09", "privacy1", "nothing to review", null);
        Assert.Equal(
            (ReviewErrors.PeriodBeforeDeployment, 409, "Period 2026-09 ended before the first ledger entry (the deployment's start); there is nothing to sign off."),
            (september.Error!.Code, september.Error.Status, september.Error.Message));
        Assert.Equal(ReviewErrors.PeriodBeforeDeployment, (await Review.SignOffAsync("2000-01", "privacy1", "ok", null)).Error!.Code);
        var size = await _services.GetRequiredService<IAccessLedgerReader>().GetSizeAsync();

        var october = await Review.SignOffAsync("2026-10", "privacy1", "one view on the last evening", null);
        Assert.True(october.IsSuccess, october.Error?.Message);
        Assert.Equal(size, october.Value.Entry.Sequence);

        // Weekly: week 43 (2026-10-19 to 2026-10-26) ended before the first entry; week 44 (to 2026-11-02) holds it.
        Review.Options.Cycle = ReviewCycle.Weekly;
        Assert.Equal(ReviewErrors.PeriodBeforeDeployment, (await Review.SignOffAsync("2026-W43", "privacy1", "ok", null)).Error!.Code);
        Assert.True((await Review.SignOffAsync("2026-W44", "privacy1", "ok", null)).IsSuccess);
    }

    [Fact]
    public async Task Sign_off_of_a_period_of_another_cycle_is_refused_with_409()
    {
        var weekly = await Review.SignOffAsync("2026-W45", "privacy1", "ok", null);
        Assert.Equal(
            (ReviewErrors.CycleMismatch, 409, "The review cycle is monthly (yyyy-MM); sign off a period of that cycle."),
            (weekly.Error!.Code, weekly.Error.Status, weekly.Error.Message));
        Review.Options.Cycle = ReviewCycle.Weekly;
        var monthly = await Review.SignOffAsync("2026-11", "privacy1", "ok", null);
        Assert.Equal((ReviewErrors.CycleMismatch, 409), (monthly.Error!.Code, monthly.Error.Status));
    }

    private static DateTimeOffset Local(int year, int month, int day) => new(year, month, day, 0, 0, 0, Kst);

    [Fact]
    public async Task Subject_queries_page_exactly_across_the_subject_watermark()
    {
        // Entries up to "after" are projected into ledger_subjects; two more are not (docs/ledger-format.md §3).
        Assert.Equal(_seq["after"] + 1, await _services.GetRequiredService<LedgerSubjectProjector>().CatchUpAsync());
        await Add("tail1", "2026-12-01 00:01", AccessTask.View, "C0002", "S002", "T2", [1]);
        await Add("tail2", "2026-12-01 00:02", AccessTask.View, "C0001", "S001", "T1", [2]);
        var subject = Review.ResolveToken(_services.GetRequiredService<Tokenizer>().TokenizeSubscriber(new SubscriberId(1))).Value;

        var first = await Review.QueryAsync(new ReviewFilter { Subject = subject, Limit = 2 });
        Assert.Equal(S("tail1", "after"), first.Rows.Select(r => r.Sequence).ToList());
        var second = await Review.QueryAsync(new ReviewFilter { Subject = subject, Limit = 2, Before = first.NextBefore });
        Assert.Equal(S("unmask", "view"), second.Rows.Select(r => r.Sequence).ToList());
        var third = await Review.QueryAsync(new ReviewFilter { Subject = subject, Limit = 2, Before = second.NextBefore });
        Assert.Equal(S("before"), third.Rows.Select(r => r.Sequence).ToList());
        Assert.Null(third.NextBefore);

        Assert.Equal(S("after", "unmask", "view", "before"), await Seqs(new ReviewFilter { Subject = subject, Clerk = "C0001" }));
        Assert.Equal(S("tail1"), await Seqs(new ReviewFilter { Subject = subject, Clerk = "C0002" }));
        Assert.Equal(S("tail2", "late"), await Seqs(new ReviewFilter { Subject = Review.ResolveToken(_services.GetRequiredService<Tokenizer>().TokenizeSubscriber(new SubscriberId(2))).Value }));
    }

    private List<long> S(params string[] names) => names.Select(n => _seq[n]).ToList();

    private async Task<List<long>> Seqs(ReviewFilter filter) => (await Review.QueryAsync(filter)).Rows.Select(r => r.Sequence).ToList();

    private async Task Add(string name, string localTime, AccessTask task, string? account, string? store, string? terminal, long[] subjects, string? denied = null, string[]? unmasked = null, string? reason = null, string? target = null)
    {
        var time = new DateTimeOffset(DateTime.ParseExact(localTime, "yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture), TimeSpan.FromHours(9));
        var committed = await _services.GetRequiredService<IAccessLedger>().AppendAsync(new AccessEntry
        {
            Time = time,
            Task = task,
            Outcome = denied is null ? AccessOutcome.Allowed : AccessOutcome.Denied,
            ErrorCode = denied,
            Account = account,
            Role = account is null ? null : account.StartsWith('C') ? StaffRole.Clerk : StaffRole.SecurityOfficer,
            Terminal = terminal,
            Store = store,
            SourceIp = terminal is null ? null : "10.0.0.1",
            Purpose = subjects.Length > 0 ? "in-store-service" : null,
            Subjects = subjects.Select(s => new SubscriberId(s)).ToArray(),
            Fields = subjects.Length > 0 ? ["name", "phone"] : [],
            UnmaskedFields = unmasked ?? [],
            Reason = reason,
            Target = target,
        });
        _seq[name] = committed.Sequence;
    }
}
