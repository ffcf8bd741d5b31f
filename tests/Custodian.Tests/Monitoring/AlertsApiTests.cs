using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using Custodian.Access.Approvals;
using Custodian.Approvals;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Monitoring;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Custodian.Tests.Monitoring;

public sealed class AlertsApiTests
{
    [Fact]
    public async Task Officer_lists_reviews_and_requests_a_restore_that_a_second_officer_approves_and_every_action_is_in_the_ledger()
    {
        await using var host = await CustodianTestHost.StartAsync();
        var (clerk, _, _) = await host.ClerkAsync("C0003");
        for (var i = 0; i < 12; i++)
        {
            using var response = await clerk.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = host.Population[i].Phone });
            host.Time.Advance(TimeSpan.FromSeconds(20));
        }

        var (signedIn, officerTerminal) = await OfficerAsync(host, "O0001");
        using var officer = signedIn;

        var open = (await officer.GetFromJsonAsync<List<AlertDto>>("/api/v1/alerts?state=open"))!;
        Assert.NotEmpty(open);
        Assert.All(open, a => Assert.Equal("open-lookups", a.Detector));
        var critical = Assert.Single(open, a => a.Severity == "critical");
        Assert.Equal("clerk", critical.PrincipalKind);
        Assert.Equal("C0003", critical.PrincipalId);
        Assert.NotEmpty(critical.Sequences);
        Assert.Contains("risk 100", critical.Detail, StringComparison.Ordinal);

        using (var review = await officer.PostAsJsonAsync($"/api/v1/alerts/{critical.Id}/review", new AlertReviewRequest("confirmed", "script found on the PC")))
        {
            Assert.Equal(HttpStatusCode.OK, review.StatusCode);
            var reviewed = (await review.Content.ReadFromJsonAsync<AlertDto>())!;
            Assert.Equal("confirmed", reviewed.State);
            Assert.Equal("O0001", reviewed.UpdatedBy);
        }

        using (var again = await officer.PostAsJsonAsync($"/api/v1/alerts/{critical.Id}/review", new AlertReviewRequest("false-positive", null)))
        {
            await ProblemAssert.IsProblemAsync(again, HttpStatusCode.Conflict, MonitoringErrorCodes.AlertStateConflict);
        }

        using (var standing = await officer.GetAsync("/api/v1/alerts/standing/clerk/C0003"))
        {
            var body = (await standing.Content.ReadFromJsonAsync<PrincipalStanding>())!;
            Assert.Equal(new PrincipalStanding("clerk", "C0003", 100, "suspend", true), body);
        }

        // Four eyes: this officer files the restore, a second officer approves it.
        using (var restore = await officer.PostAsJsonAsync("/api/v1/alerts/restorations", new RestoreRequest("clerk", "C0003", "script removed, clerk retrained")))
        {
            Assert.Equal(HttpStatusCode.Accepted, restore.StatusCode);
            var request = (await restore.Content.ReadFromJsonAsync<PrivilegedRequest>())!;
            Assert.Equal(("restore-clerk", "C0003", "O0001"), (request.Action, request.Target, request.RequestedBy));
            using var approver = await SignInOfficerAsync(host, "O0002", officerTerminal);
            using var approved = await approver.PostAsJsonAsync($"/api/v1/approvals/{request.Id}/approve", new ApprovalDecisionBody("agreed"));
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        }

        using (var standing = await officer.GetAsync("/api/v1/alerts/standing/clerk/C0003"))
        {
            var body = (await standing.Content.ReadFromJsonAsync<PrincipalStanding>())!;
            Assert.Equal(new PrincipalStanding("clerk", "C0003", 0, "none", false), body);
        }

        using (var missingReason = await officer.PostAsJsonAsync("/api/v1/alerts/restorations", new RestoreRequest("terminal", "S001-t-C0003", " ")))
        {
            await ProblemAssert.IsProblemAsync(missingReason, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
        }

        var ledger = await host.LedgerAsync();
        var reviewedEntry = Assert.Single(ledger, e => e.Entry.Task == AccessTask.AlertReviewed && e.Entry.Outcome == AccessOutcome.Allowed);
        var refusedReview = Assert.Single(ledger, e => e.Entry.Task == AccessTask.AlertReviewed && e.Entry.Outcome == AccessOutcome.Denied); // the second review, from a final state
        Assert.Equal((MonitoringErrorCodes.AlertStateConflict, critical.Id, "false-positive"), (refusedReview.Entry.ErrorCode, refusedReview.Entry.Target, refusedReview.Entry.Reason));
        Assert.Equal("O0001", reviewedEntry.Entry.Account);
        Assert.Equal(critical.Id, reviewedEntry.Entry.Target);
        Assert.Equal("confirmed: script found on the PC", reviewedEntry.Entry.Reason);
        Assert.Contains(ledger, e => e.Entry.Task == AccessTask.PrivilegedActionRequested && e.Entry.Account == "O0001" && e.Entry.Target!.EndsWith(";action:restore-clerk;target:C0003", StringComparison.Ordinal));
        Assert.Contains(ledger, e => e.Entry.Task == AccessTask.Restored && e.Entry.Account == "O0002" && e.Entry.Target == "clerk:C0003");
    }

    [Fact]
    public async Task A_review_note_with_a_bidi_control_character_is_refused_with_a_stable_code_and_changes_nothing()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5);
        var store = host.Get<AlertStore>();
        var alert = await NewAlertAsync(store);
        using var officer = (await OfficerAsync(host, "O0001")).Officer;

        // Every embedding, override and isolate control (U+202A-U+202E, U+2066-U+2069), e.g. "checked \u202Efdp.exe" showing as "checked exe.pdf".
        char[] controls = ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069'];
        foreach (var control in controls)
        {
            using var refused = await officer.PostAsJsonAsync($"/api/v1/alerts/{alert.Id}/review", new AlertReviewRequest("false-positive", $"checked {control}fdp.exe"));
            var body = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.BadRequest, ErrorCodes.BidiControlInText);
            Assert.Equal(Classification.FreeText.BidiRule, Assert.Single(body.GetProperty("errors").GetProperty("note").EnumerateArray()).GetString());
            Assert.DoesNotContain("fdp.exe", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(AlertState.Open, (await store.GetAsync(alert.Id))!.State);
        var ledger = await host.LedgerAsync();
        var refusals = ledger.Where(e => e.Entry.Task == AccessTask.AlertReviewed).ToList(); // each refusal recorded, none as a review
        Assert.Equal(controls.Length, refusals.Count);
        Assert.All(refusals, e => Assert.Equal((AccessOutcome.Denied, ErrorCodes.BidiControlInText, "false-positive"), (e.Entry.Outcome, e.Entry.ErrorCode, e.Entry.Reason)));
        Assert.DoesNotContain(ledger, e => Classification.FreeText.ContainsBidiControl(e.Entry.Reason)); // the text reached no record

        using var accepted = await officer.PostAsJsonAsync($"/api/v1/alerts/{alert.Id}/review", new AlertReviewRequest("false-positive", "checked: the PC runs the store's own stock tool (\u200Fno bidi control)"));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(AlertState.FalsePositive, (await store.GetAsync(alert.Id))!.State);
    }

    [Fact]
    public async Task Refused_reviews_and_restores_are_each_recorded_as_one_denied_entry_with_the_error_code_and_never_the_note()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5);
        var store = host.Get<AlertStore>();
        var alert = await NewAlertAsync(store);
        using var officer = (await OfficerAsync(host, "O0001")).Officer;
        var rrn = host.Population[0].Rrn;
        var phone = host.Population[1].Phone;

        async Task<CommittedEntry> RefusedAsync(string path, object body, HttpStatusCode status, string code)
        {
            var before = (await host.LedgerAsync()).Count;
            using var refused = await officer.PostAsJsonAsync(path, body);
            await ProblemAssert.IsProblemAsync(refused, status, code);
            var added = (await host.LedgerAsync()).Skip(before).ToList();
            var entry = Assert.Single(added);
            Assert.Equal((AccessOutcome.Denied, code, "O0001", StaffRole.SecurityOfficer, "HQ-security-desk"), (entry.Entry.Outcome, entry.Entry.ErrorCode, entry.Entry.Account, entry.Entry.Role, entry.Entry.Terminal));
            return entry;
        }

        var withRrn = await RefusedAsync($"/api/v1/alerts/{alert.Id}/review", new AlertReviewRequest("false-positive", $"asked the subscriber {rrn}"), HttpStatusCode.BadRequest, ErrorCodes.PersonalDataInText);
        Assert.Equal((AccessTask.AlertReviewed, alert.Id, "false-positive"), (withRrn.Entry.Task, withRrn.Entry.Target, withRrn.Entry.Reason));
        var withPhone = await RefusedAsync($"/api/v1/alerts/{alert.Id}/review", new AlertReviewRequest("acknowledged", $"called {phone}"), HttpStatusCode.BadRequest, ErrorCodes.PersonalDataInText);
        Assert.Equal((AccessTask.AlertReviewed, alert.Id, "acknowledged"), (withPhone.Entry.Task, withPhone.Entry.Target, withPhone.Entry.Reason));
        var badState = await RefusedAsync($"/api/v1/alerts/{alert.Id}/review", new AlertReviewRequest("closed", "looked at it"), HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
        Assert.Equal((AccessTask.AlertReviewed, alert.Id, (string?)null), (badState.Entry.Task, badState.Entry.Target, badState.Entry.Reason));
        var unknown = await RefusedAsync("/api/v1/alerts/A-01KB0000000000000000000000/review", new AlertReviewRequest("confirmed", null), HttpStatusCode.NotFound, ErrorCodes.NotFound);
        Assert.Equal((AccessTask.AlertReviewed, (string?)null, "confirmed"), (unknown.Entry.Task, unknown.Entry.Target, unknown.Entry.Reason)); // an unknown ID is outside input: not recorded

        using (var confirmed = await officer.PostAsJsonAsync($"/api/v1/alerts/{alert.Id}/review", new AlertReviewRequest("confirmed", "script found")))
        {
            Assert.Equal(HttpStatusCode.OK, confirmed.StatusCode);
        }

        var final = await RefusedAsync($"/api/v1/alerts/{alert.Id}/review", new AlertReviewRequest("acknowledged", null), HttpStatusCode.Conflict, MonitoringErrorCodes.AlertStateConflict);
        Assert.Equal((AccessTask.AlertReviewed, alert.Id, "acknowledged"), (final.Entry.Task, final.Entry.Target, final.Entry.Reason));

        var restore = await RefusedAsync("/api/v1/alerts/restorations", new RestoreRequest("clerk", "C0003", $"rrn {rrn} checked"), HttpStatusCode.BadRequest, ErrorCodes.PersonalDataInText);
        Assert.Equal((AccessTask.PrivilegedActionRequested, "action:restore-clerk;target:C0003", (string?)null), (restore.Entry.Task, restore.Entry.Target, restore.Entry.Reason));
        var notSuspended = await RefusedAsync("/api/v1/alerts/restorations", new RestoreRequest("terminal", "S001-t-C0003", "reviewed"), HttpStatusCode.NotFound, ErrorCodes.NotFound);
        Assert.Equal("action:restore-terminal;target:S001-t-C0003", notSuspended.Entry.Target);

        var ledger = await host.LedgerAsync();
        Assert.Equal(AlertState.Confirmed, (await store.GetAsync(alert.Id))!.State);
        Assert.Single(ledger, e => e.Entry.Task == AccessTask.AlertReviewed && e.Entry.Outcome == AccessOutcome.Allowed);
        Assert.DoesNotContain(ledger, e => (e.Entry.Reason ?? string.Empty).Contains(rrn, StringComparison.Ordinal) || (e.Entry.Reason ?? string.Empty).Contains(phone, StringComparison.Ordinal));
        Assert.DoesNotContain(ledger, e => Infrastructure.LedgerText.HoldsPersonalData(e.Entry));
    }

    [Fact]
    public async Task A_review_whose_alert_another_officer_changed_after_the_check_stores_nothing_and_its_allowed_entry_is_followed_by_a_denied_one()
    {
        // The seam: the ledger. Right after officer O0001's allowed alert-reviewed entry is durable (the check passed,
        // the store update not yet run) a second officer's review of the same alert runs through the API to the end.
        var ledger = new CuttingInLedger();
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5, services: s =>
        {
            s.AddSingleton(ledger);
            s.AddSingleton<IAccessLedger>(sp =>
            {
                ledger.Inner = (IAccessLedger)sp.GetRequiredService<IAccessLedgerReader>(); // the backend's writer (SQLite or PostgreSQL), which also reads
                return ledger;
            });
        });
        var store = host.Get<AlertStore>();
        var (signedIn, terminal) = await OfficerAsync(host, "O0001");
        using var first = signedIn;
        using var second = await SignInOfficerAsync(host, "O0002", terminal);

        // Two final states: confirmed (O0001, checked on open) against false-positive (O0002, stored first).
        // Then a final state decided on "open" against an acknowledgement stored in between: refused too (compare-and-set).
        (string Mine, string Theirs)[] pairs = [("confirmed", "false-positive"), ("confirmed", "acknowledged")];
        foreach (var (mine, theirs) in pairs)
        {
            var alert = await NewAlertAsync(store);
            var before = (await host.LedgerAsync()).Count;
            HttpStatusCode? theirStatus = null;
            ledger.CutIn = async () =>
            {
                using var cutIn = await second.PostAsJsonAsync($"/api/v1/alerts/{alert.Id}/review", new AlertReviewRequest(theirs, null));
                theirStatus = cutIn.StatusCode;
            };

            using var review = await first.PostAsJsonAsync($"/api/v1/alerts/{alert.Id}/review", new AlertReviewRequest(mine, "checked"));

            await ProblemAssert.IsProblemAsync(review, HttpStatusCode.Conflict, MonitoringErrorCodes.AlertStateConflict);
            Assert.Equal(HttpStatusCode.OK, theirStatus);
            Assert.Null(ledger.CutIn); // it did cut in
            var stored = (await store.GetAsync(alert.Id))!;
            Assert.Equal((theirs, "O0002"), (stored.State.ToName(), stored.UpdatedBy));
            var added = (await host.LedgerAsync()).Skip(before).Select(e => e.Entry).ToList();
            Assert.Equal(
                [
                    (AccessOutcome.Allowed, "O0001", mine + ": checked", (string?)null),
                    (AccessOutcome.Allowed, "O0002", theirs, null),
                    (AccessOutcome.Denied, "O0001", mine, MonitoringErrorCodes.AlertStateConflict),
                ],
                added.Select(e => (e.Outcome, e.Account!, e.Reason!, e.ErrorCode)).ToList());
            Assert.All(added, e => Assert.Equal((AccessTask.AlertReviewed, alert.Id), (e.Task, e.Target)));
        }
    }

    [Fact]
    public async Task Two_officers_deciding_the_same_alert_at_once_store_one_decision_and_every_allowed_entry_of_the_loser_is_followed_by_a_denied_one()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5);
        var store = host.Get<AlertStore>();
        var (signedIn, terminal) = await OfficerAsync(host, "O0001");
        using var first = signedIn;
        using var second = await SignInOfficerAsync(host, "O0002", terminal);
        for (var round = 0; round < 5; round++)
        {
            var alert = await NewAlertAsync(store);
            var pair = await Task.WhenAll(
                first.PostAsJsonAsync($"/api/v1/alerts/{alert.Id}/review", new AlertReviewRequest("confirmed", null)),
                second.PostAsJsonAsync($"/api/v1/alerts/{alert.Id}/review", new AlertReviewRequest("false-positive", null)));
            var statuses = pair.Select(r => r.StatusCode).ToList();
            foreach (var response in pair)
            {
                response.Dispose();
            }

            // Whichever order they ran in: one stored, one 409, and the loser's ledger record ends denied.
            Assert.Equal([HttpStatusCode.OK, HttpStatusCode.Conflict], statuses.Order().ToList());
            var (winner, loser, state) = statuses[0] == HttpStatusCode.OK ? ("O0001", "O0002", AlertState.Confirmed) : ("O0002", "O0001", AlertState.FalsePositive);
            Assert.Equal((state, winner), ((await store.GetAsync(alert.Id))!.State, (await store.GetAsync(alert.Id))!.UpdatedBy));
            var reviews = (await host.LedgerAsync()).Select(e => e.Entry).Where(e => e.Task == AccessTask.AlertReviewed && e.Target == alert.Id).ToList();
            Assert.Equal([AccessOutcome.Allowed], reviews.Where(e => e.Account == winner).Select(e => e.Outcome).ToList());
            var lost = reviews.Where(e => e.Account == loser).Select(e => (e.Outcome, e.ErrorCode)).ToList();
            Assert.Equal((AccessOutcome.Denied, MonitoringErrorCodes.AlertStateConflict), lost[^1]); // refused at the check, or after its allowed entry
            Assert.Contains(lost.Count, new[] { 1, 2 });
            Assert.All(lost.SkipLast(1), e => Assert.Equal((AccessOutcome.Allowed, (string?)null), e));
        }
    }

    [Fact]
    public async Task A_clerk_may_not_use_the_alert_api_and_the_refusal_is_recorded()
    {
        await using var host = await CustodianTestHost.StartAsync();
        var (clerk, _, _) = await host.ClerkAsync("C0004");
        using var response = await clerk.GetAsync("/api/v1/alerts");
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, ErrorCodes.RoleNotPermitted);
        var last = (await host.LedgerAsync()).Last();
        Assert.Equal(AccessTask.Refused, last.Entry.Task);
        Assert.Equal("monitor-alerts", last.Entry.Target);
        Assert.Equal("C0004", last.Entry.Account);
    }

    /// <summary>A security officer signed in on a new HQ security-desk terminal.</summary>
    internal static async Task<(HttpClient Officer, X509Certificate2 Terminal)> OfficerAsync(CustodianTestHost host, string id)
    {
        var terminal = await host.EnrollAsync("HQ", "security-desk");
        return (await SignInOfficerAsync(host, id, terminal), terminal);
    }

    /// <summary>A new security officer <paramref name="id"/>, signed in on <paramref name="terminal"/>.</summary>
    private static async Task<HttpClient> SignInOfficerAsync(CustodianTestHost host, string id, X509Certificate2 terminal) =>
        await host.SignInAsync(await host.CreateStaffAsync(id, StaffRole.SecurityOfficer, null, terminal), terminal);

    /// <summary>An open high-severity distinct-subjects alert about clerk C0003.</summary>
    internal static Task<Alert> NewAlertAsync(AlertStore store) =>
        store.CreateAsync(new NewAlert("distinct-subjects", Principal.Create(PrincipalKind.Clerk, "C0003"), "S001", TimeSpan.FromHours(1), 30, 20, new AlertEvidence(1, 3, [1, 2, 3], 3), AlertSeverity.High));

    /// <summary>The backend's ledger writer; once, right after an allowed <c>alert-reviewed</c> entry is durable, runs <see cref="CutIn"/>.</summary>
    private sealed class CuttingInLedger : IAccessLedger
    {
        public IAccessLedger? Inner { get; set; }

        public Func<Task>? CutIn;

        public async ValueTask<CommittedEntry> AppendAsync(AccessEntry entry, CancellationToken cancellationToken = default)
        {
            var committed = await Inner!.AppendAsync(entry, cancellationToken);
            if (entry is { Task: AccessTask.AlertReviewed, Outcome: AccessOutcome.Allowed } && Interlocked.Exchange(ref CutIn, null) is { } cutIn)
            {
                await cutIn();
            }

            return committed;
        }
    }
}
