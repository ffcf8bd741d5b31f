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
        var reviewedEntry = Assert.Single(ledger, e => e.Entry.Task == AccessTask.AlertReviewed);
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
        Assert.DoesNotContain(ledger, e => e.Entry.Task == AccessTask.AlertReviewed); // refused before the review is recorded
        Assert.DoesNotContain(ledger, e => Classification.FreeText.ContainsBidiControl(e.Entry.Reason)); // the text reached no record

        using var accepted = await officer.PostAsJsonAsync($"/api/v1/alerts/{alert.Id}/review", new AlertReviewRequest("false-positive", "checked: the PC runs the store's own stock tool (\u200Fno bidi control)"));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(AlertState.FalsePositive, (await store.GetAsync(alert.Id))!.State);
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
