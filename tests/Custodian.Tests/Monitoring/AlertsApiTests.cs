using System.Net;
using System.Net.Http.Json;
using Custodian.Access.Approvals;
using Custodian.Approvals;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Monitoring;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;

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

        var officerTerminal = await host.EnrollAsync("HQ", "security-desk");
        var officerStaff = await host.CreateStaffAsync("O0001", StaffRole.SecurityOfficer, null, officerTerminal);
        using var officer = await host.SignInAsync(officerStaff, officerTerminal);

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
            var second = await host.CreateStaffAsync("O0002", StaffRole.SecurityOfficer, null, officerTerminal);
            using var approver = await host.SignInAsync(second, officerTerminal);
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
        var alert = await store.CreateAsync(new NewAlert("distinct-subjects", Principal.Create(PrincipalKind.Clerk, "C0003"), "S001", TimeSpan.FromHours(1), 30, 20, new AlertEvidence(1, 3, [1, 2, 3], 3), AlertSeverity.High));
        var officerTerminal = await host.EnrollAsync("HQ", "security-desk");
        var officerStaff = await host.CreateStaffAsync("O0001", StaffRole.SecurityOfficer, null, officerTerminal);
        using var officer = await host.SignInAsync(officerStaff, officerTerminal);

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
        var alert = await store.CreateAsync(new NewAlert("distinct-subjects", Principal.Create(PrincipalKind.Clerk, "C0003"), "S001", TimeSpan.FromHours(1), 30, 20, new AlertEvidence(1, 3, [1, 2, 3], 3), AlertSeverity.High));
        var officerTerminal = await host.EnrollAsync("HQ", "security-desk");
        var officerStaff = await host.CreateStaffAsync("O0001", StaffRole.SecurityOfficer, null, officerTerminal);
        using var officer = await host.SignInAsync(officerStaff, officerTerminal);
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
        Assert.DoesNotContain(ledger, e => Classification.FreeText.ContainsPersonalData(e.Entry.Reason) || Classification.FreeText.ContainsPersonalData(e.Entry.Target));
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
}
