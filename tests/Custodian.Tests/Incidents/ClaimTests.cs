using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Custodian.Identity;
using Custodian.Incidents;
using Custodian.Incidents.Claims;
using Custodian.Ledger;
using Custodian.Ledger.Checkpoints;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;
using Custodian.Tests.Transparency;

namespace Custodian.Tests.Incidents;

/// <summary>Compensation claims through the real pipeline: the subscriber files from the portal, officers decide over the terminal API.</summary>
[Collection(nameof(Cli.CliCollection))]
public sealed class ClaimTests
{
    [Fact]
    public async Task A_claim_is_filed_with_its_evidence_decided_paid_and_reported_and_outsiders_and_duplicates_get_clear_answers()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var start = host.Time.GetUtcNow();
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        var victim = host.Population[0];
        var handle = await GuardedLookupTests.SearchAsync(clerk, victim.Phone);
        using (var view = await clerk.GetAsync($"/api/v1/subscribers/{handle}?purpose=in-store-service"))
        {
            Assert.True(view.IsSuccessStatusCode);
        }

        var terminal = await host.EnrollAsync("S001", "back-office");
        var officer = await host.SignInAsync(await host.CreateStaffAsync("privacy1", StaffRole.PrivacyOfficer, null, terminal), terminal);
        var incidents = host.Get<IncidentService>();
        var actor = new IncidentActor("privacy1", StaffRole.PrivacyOfficer);
        var declared = await incidents.DeclareAsync(new DeclareIncident("C0001", [], new IncidentScope(["C0001"], [], [], start, host.Time.GetUtcNow(), [])), actor);
        var open = await incidents.DeclareAsync(new DeclareIncident("still open", [], IncidentScope.Empty), actor);
        var id = declared.Value.Id;
        Assert.True((await incidents.ScopeAsync(id, null, actor)).IsSuccess);
        await host.Get<LedgerCheckpoints>().SignLatestAsync();
        var victimId = await GuardedLookupTests.IdOf(host, victim.Phone);
        var exposing = (await host.LedgerAsync()).Where(e => e.Entry.Account == "C0001" && e.Entry.Subjects.Contains(victimId)).Select(e => e.Sequence).ToList();
        Assert.Equal(2, exposing.Count); // the search and the view

        using var portal = await PortalTests.SignInAsync(host, victim.Phone);
        using var outsider = await PortalTests.SignInAsync(host, host.Population[5].Phone);
        var bodies = new List<string>();

        foreach (var (client, incident) in new[] { (outsider, id), (portal, open.Value.Id), (portal, "INC-20000101-AAAAAA") })
        {
            using var refused = await client.PostAsJsonAsync("/portal/api/v1/claims", new { incidentId = incident, kind = "phishing", description = "d", amount = 1000 });
            await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Forbidden, ClaimErrors.NotInScope);
        }

        using (var bad = await portal.PostAsJsonAsync("/portal/api/v1/claims", new { incidentId = id, kind = "lottery", description = " ", amount = 0 }))
        {
            var problem = await ProblemAssert.IsProblemAsync(bad, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
            Assert.Equal(["amount", "description", "kind"], problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order());
        }

        using (var smuggled = await portal.PostAsJsonAsync("/portal/api/v1/claims", new { incidentId = id, kind = "fraud", description = "d", amount = 1, subscriberId = 1 }))
        {
            var problem = await ProblemAssert.IsProblemAsync(smuggled, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
            Assert.Equal(
                "The request is malformed: the JSON body has a member this endpoint does not take (at $.subscriberId); see the API's documented request shape.",
                problem.GetProperty("detail").GetString());
        }

        string claimId;
        using (var filed = await portal.PostAsJsonAsync("/portal/api/v1/claims", new { incidentId = id, kind = "phishing", description = "스미싱 문자로 결제 피해", amount = 350_000 }))
        {
            Assert.Equal(HttpStatusCode.Created, filed.StatusCode);
            var body = await ReadAsync(filed, bodies);
            claimId = body.GetProperty("claim").GetProperty("id").GetString()!;
            Assert.Equal("submitted", body.GetProperty("claim").GetProperty("state").GetString());
            var evidence = body.GetProperty("evidence").EnumerateArray().ToList();
            Assert.Equal(exposing, evidence.Select(e => e.GetProperty("sequence").GetInt64()));
            Assert.Equal(["search", "view"], evidence.Select(e => e.GetProperty("task").GetString()));
            Assert.All(evidence, e => Assert.Equal("clerk", e.GetProperty("role").GetString()));
            var receipt = LedgerReceipt.Parse(evidence[1].GetProperty("receipt").GetString());
            Assert.Equal(exposing[1], receipt.Value.Sequence);
            Assert.DoesNotContain("C0001", body.GetProperty("evidence").GetRawText(), StringComparison.Ordinal);
        }

        using (var duplicate = await portal.PostAsJsonAsync("/portal/api/v1/claims", new { incidentId = id, kind = "fraud", description = "again", amount = 1 }))
        {
            var problem = await ProblemAssert.IsProblemAsync(duplicate, HttpStatusCode.Conflict, ClaimErrors.Duplicate);
            Assert.Contains(claimId, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        using (var notYours = await outsider.GetAsync($"/portal/api/v1/claims/{claimId}"))
        {
            await ProblemAssert.IsProblemAsync(notYours, HttpStatusCode.NotFound, ClaimErrors.NotFound);
        }

        using (var early = await officer.PostAsJsonAsync($"/api/v1/claims/{claimId}/payout", new { reference = "TX-1" }))
        {
            await ProblemAssert.IsProblemAsync(early, HttpStatusCode.Conflict, ClaimErrors.StateConflict);
        }

        // The officers' list is not recorded, so it carries no free text: the description is read only through the recorded GET …/{id}.
        var unrecorded = (await host.LedgerAsync()).Count;
        var listed = Assert.Single((await ReadAsync(await officer.GetAsync("/api/v1/claims"), bodies)).EnumerateArray());
        Assert.Equal((claimId, "submitted", 350_000L), (listed.GetProperty("id").GetString(), listed.GetProperty("state").GetString(), listed.GetProperty("amountClaimed").GetInt64()));
        Assert.False(listed.TryGetProperty("description", out _));
        Assert.DoesNotContain("스미싱", listed.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(unrecorded, (await host.LedgerAsync()).Count);

        // An officer opening the claim is recorded first, with the claimant as subject; a claim that does not exist is a recorded refusal.
        var before = (await host.LedgerAsync()).Count;
        var shown = await ReadAsync(await officer.GetAsync($"/api/v1/claims/{claimId}"), bodies);
        Assert.Equal("스미싱 문자로 결제 피해", shown.GetProperty("claim").GetProperty("description").GetString());
        var read = await host.LastRequestEntryAsync();
        Assert.Equal((AccessTask.ClaimView, "privacy1", StaffRole.PrivacyOfficer, "claim:" + claimId), (read.Entry.Task, read.Entry.Account, read.Entry.Role!.Value, read.Entry.Target));
        Assert.Equal([victimId], read.Entry.Subjects);
        using (var none = await officer.GetAsync("/api/v1/claims/CLM-NONE"))
        {
            await ProblemAssert.IsProblemAsync(none, HttpStatusCode.NotFound, ClaimErrors.NotFound);
        }

        Assert.Equal(before + 2, (await host.LedgerAsync()).Count);
        var refusedRead = (await host.LedgerAsync())[^1].Entry;
        Assert.Equal((AccessTask.ClaimView, AccessOutcome.Denied, (string?)ClaimErrors.NotFound, (string?)null), (refusedRead.Task, refusedRead.Outcome, refusedRead.ErrorCode, refusedRead.Target));
        var history = (await portal.GetFromJsonAsync<Custodian.Transparency.HistoryPage>("/portal/api/v1/history"))!;
        var seen = Assert.Single(history.Items, i => i.Sequence == read.Sequence); // the claimant sees the security office read the claim
        Assert.Equal(("claim-view", "privacy-officer"), (seen.Task, seen.Role));
        Assert.Equal("Your compensation claim read by the security office", Custodian.Portal.PortalWords.Task(seen.Task, korean: false));

        foreach (var (question, code) in new[] { ("  ", ErrorCodes.ValidationFailed), (new string('q', LeafCodec.MaxReasonLength + 1), ErrorCodes.ValidationFailed), ("010-1234-5678로 연락 주세요", ErrorCodes.PersonalDataInText) })
        {
            using var refused = await officer.PostAsJsonAsync($"/api/v1/claims/{claimId}/information-requests", new { question });
            var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.BadRequest, code);
            Assert.Equal(["question"], problem.GetProperty("errors").EnumerateObject().Select(p => p.Name));
        }

        await ReadAsync(await officer.PostAsJsonAsync($"/api/v1/claims/{claimId}/information-requests", new { question = "결제 내역 사본을 올려 주세요" }), bodies);
        using (var mine = await portal.GetAsync("/portal/api/v1/claims"))
        {
            var claim = Assert.Single((await ReadAsync(mine, bodies)).EnumerateArray());
            Assert.Equal(("information-requested", "결제 내역 사본을 올려 주세요"), (claim.GetProperty("state").GetString(), claim.GetProperty("question").GetString()));
        }

        await ReadAsync(await portal.PostAsJsonAsync($"/portal/api/v1/claims/{claimId}/answer", new { answer = "카드사 확인서 번호 2026-1130" }), bodies);
        using (var tooMuch = await officer.PostAsJsonAsync($"/api/v1/claims/{claimId}/approval", new { amount = 350_001 }))
        {
            await ProblemAssert.IsProblemAsync(tooMuch, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
        }

        var approved = await ReadAsync(await officer.PostAsJsonAsync($"/api/v1/claims/{claimId}/approval", new { amount = 300_000, reason = "확인된 피해액" }), bodies);
        Assert.False(approved.TryGetProperty("answer", out _)); // a decision's entry names no subject: its answer is the summary
        Assert.DoesNotContain("카드사", approved.GetRawText(), StringComparison.Ordinal);
        var paid = await ReadAsync(await officer.PostAsJsonAsync($"/api/v1/claims/{claimId}/payout", new { reference = "TX-20261130-01" }), bodies);
        Assert.Equal(("paid", 300_000L), (paid.GetProperty("state").GetString(), paid.GetProperty("amountApproved").GetInt64()));
        using (var rejectPaid = await officer.PostAsJsonAsync($"/api/v1/claims/{claimId}/rejection", new { reason = "late" }))
        {
            await ProblemAssert.IsProblemAsync(rejectPaid, HttpStatusCode.Conflict, ClaimErrors.StateConflict);
        }

        var report = (await ReadAsync(await officer.GetAsync("/api/v1/claims/report"), bodies)).EnumerateArray()
            .Select(r => (r.GetProperty("state").GetString(), r.GetProperty("claims").GetInt64(), r.GetProperty("claimed").GetInt64(), r.GetProperty("approved").GetInt64(), r.GetProperty("paid").GetInt64()));
        Assert.Equal(
            [("submitted", 0L, 0L, 0L, 0L), ("information-requested", 0L, 0L, 0L, 0L), ("approved", 0L, 0L, 0L, 0L), ("rejected", 0L, 0L, 0L, 0L), ("paid", 1L, 350_000L, 300_000L, 300_000L)],
            report);
        using (var clerkTries = await clerk.GetAsync("/api/v1/claims"))
        {
            await ProblemAssert.IsProblemAsync(clerkTries, HttpStatusCode.Forbidden, ErrorCodes.RoleNotPermitted);
        }

        var claimEntries = (await host.LedgerAsync()).Where(e => e.Entry.Outcome == AccessOutcome.Allowed && e.Entry.Target?.StartsWith("claim:" + claimId, StringComparison.Ordinal) == true).Select(e => (e.Entry.Task, e.Entry.Account)).ToList();
        Assert.Equal(
            [(AccessTask.ClaimFiled, "subscriber"), (AccessTask.ClaimView, "privacy1"), (AccessTask.ClaimInformationRequested, "privacy1"), (AccessTask.ClaimAnswered, "subscriber"), (AccessTask.ClaimDecided, "privacy1"), (AccessTask.ClaimPaid, "privacy1")],
            claimEntries.Select(e => (e.Task, e.Account!)));
        Assert.All(bodies, b => Assert.DoesNotContain(victim.Phone, b, StringComparison.Ordinal));
        Assert.Equal(0, await Custodian.Cli.CustodianCli.RunAsync(["incident", "claims", "report", "--data", host.Directory.FullName]));
    }

    [Fact]
    public async Task An_officer_reading_a_claim_that_does_not_exist_is_recorded_as_one_denied_claim_view_entry_without_the_id()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        var terminal = await host.EnrollAsync("S001", "back-office");
        using var officer = await host.SignInAsync(await host.CreateStaffAsync("privacy1", StaffRole.PrivacyOfficer, null, terminal), terminal);
        var before = (await host.LedgerAsync()).Count;

        using (var none = await officer.GetAsync("/api/v1/claims/CLM-0000000000"))
        {
            await ProblemAssert.IsProblemAsync(none, HttpStatusCode.NotFound, ClaimErrors.NotFound);
        }

        // As a refused step is recorded (ClaimRefusals): the read's own task, the code, the officer and device; the unknown ID
        // is outside input and is not recorded, nor is any reason or subject.
        var entry = Assert.Single((await host.LedgerAsync()).Skip(before)).Entry;
        Assert.Equal(
            (AccessTask.ClaimView, AccessOutcome.Denied, (string?)ClaimErrors.NotFound, "privacy1", (StaffRole?)StaffRole.PrivacyOfficer, (string?)null, (string?)null, "S001-back-office", "S001", 0),
            (entry.Task, entry.Outcome, entry.ErrorCode, entry.Account, entry.Role, entry.Target, entry.Reason, entry.Terminal, entry.Store, entry.Subjects.Count));
        Assert.NotNull(entry.SourceIp);
    }

    [Fact]
    public async Task Refused_officer_steps_on_a_claim_are_each_recorded_as_one_denied_entry_with_the_error_code_and_never_the_text()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 3);
        var start = host.Time.GetUtcNow();
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        var victim = host.Population[0];
        await GuardedLookupTests.SearchAsync(clerk, victim.Phone);
        host.Time.Advance(TimeSpan.FromMinutes(1)); // the window [start, now) must hold the search
        var incidents = host.Get<IncidentService>();
        var actor = new IncidentActor("privacy0", StaffRole.PrivacyOfficer);
        var declared = await incidents.DeclareAsync(new DeclareIncident("C0001", [], new IncidentScope(["C0001"], [], [], start, host.Time.GetUtcNow(), [])), actor);
        Assert.True((await incidents.ScopeAsync(declared.Value.Id, null, actor)).IsSuccess);
        using var portal = await PortalTests.SignInAsync(host, victim.Phone);
        string claimId;
        using (var filed = await portal.PostAsJsonAsync("/portal/api/v1/claims", new { incidentId = declared.Value.Id, kind = "phishing", description = "결제 피해", amount = 350_000 }))
        {
            Assert.Equal(HttpStatusCode.Created, filed.StatusCode);
            claimId = JsonDocument.Parse(await filed.Content.ReadAsStringAsync()).RootElement.GetProperty("claim").GetProperty("id").GetString()!;
        }

        using (var duplicate = await portal.PostAsJsonAsync("/portal/api/v1/claims", new { incidentId = declared.Value.Id, kind = "fraud", description = "again", amount = 1 }))
        {
            await ProblemAssert.IsProblemAsync(duplicate, HttpStatusCode.Conflict, ClaimErrors.Duplicate); // the subscriber's refusals are not officer actions: not recorded
        }

        var terminal = await host.EnrollAsync("S001", "back-office");
        using var officer = await host.SignInAsync(await host.CreateStaffAsync("privacy1", StaffRole.PrivacyOfficer, null, terminal), terminal);
        var phone = host.Population[1].Phone;

        async Task RefusedAsync(string path, object body, HttpStatusCode status, string code, AccessTask task, string? target, string? reason)
        {
            var before = (await host.LedgerAsync()).Count;
            using var refused = await officer.PostAsJsonAsync(path, body);
            await ProblemAssert.IsProblemAsync(refused, status, code);
            var entry = Assert.Single((await host.LedgerAsync()).Skip(before)).Entry;
            Assert.Equal(
                (task, AccessOutcome.Denied, code, "privacy1", (StaffRole?)StaffRole.PrivacyOfficer, target, reason, "S001-back-office", 0),
                (entry.Task, entry.Outcome, entry.ErrorCode, entry.Account, entry.Role, entry.Target, entry.Reason, entry.Terminal, entry.Subjects.Count));
        }

        var claim = "/api/v1/claims/" + claimId;
        var target = "claim:" + claimId;
        await RefusedAsync($"{claim}/information-requests", new { question = $"{phone}로 연락 주세요" }, HttpStatusCode.BadRequest, ErrorCodes.PersonalDataInText, AccessTask.ClaimInformationRequested, target, null);
        await RefusedAsync($"{claim}/information-requests", new { question = " " }, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed, AccessTask.ClaimInformationRequested, target, null);
        await RefusedAsync($"{claim}/approval", new { amount = 350_001 }, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed, AccessTask.ClaimDecided, target, "approved");
        await RefusedAsync($"{claim}/approval", new { amount = 1, reason = "\u202Efdp.exe" }, HttpStatusCode.BadRequest, ErrorCodes.BidiControlInText, AccessTask.ClaimDecided, target, "approved");
        await RefusedAsync($"{claim}/rejection", new { reason = "called " + phone }, HttpStatusCode.BadRequest, ErrorCodes.PersonalDataInText, AccessTask.ClaimDecided, target, "rejected");
        await RefusedAsync($"{claim}/payout", new { reference = "TX-1" }, HttpStatusCode.Conflict, ClaimErrors.StateConflict, AccessTask.ClaimPaid, target, null);
        await RefusedAsync("/api/v1/claims/CLM-NONE/approval", new { amount = 1 }, HttpStatusCode.NotFound, ClaimErrors.NotFound, AccessTask.ClaimDecided, null, "approved"); // an unknown ID is outside input: not recorded
        using (var approved = await officer.PostAsJsonAsync($"{claim}/approval", new { amount = 300_000 }))
        {
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        }

        await RefusedAsync($"{claim}/rejection", new { reason = "late" }, HttpStatusCode.Conflict, ClaimErrors.StateConflict, AccessTask.ClaimDecided, target, "rejected");
        await RefusedAsync($"{claim}/information-requests", new { question = "more?" }, HttpStatusCode.Conflict, ClaimErrors.StateConflict, AccessTask.ClaimInformationRequested, target, null);
        await RefusedAsync($"{claim}/payout", new { reference = "TX 1/2" }, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed, AccessTask.ClaimPaid, target, null);

        var ledger = await host.LedgerAsync();
        Assert.Equal(10, ledger.Count(e => e.Entry.Outcome == AccessOutcome.Denied && e.Entry.Task is >= AccessTask.ClaimFiled and <= AccessTask.ClaimPaid));
        Assert.Equal(
            [(AccessTask.ClaimFiled, AccessOutcome.Allowed), (AccessTask.ClaimDecided, AccessOutcome.Allowed)],
            ledger.Where(e => e.Entry.Outcome == AccessOutcome.Allowed && e.Entry.Task is >= AccessTask.ClaimFiled and <= AccessTask.ClaimPaid).Select(e => (e.Entry.Task, e.Entry.Outcome)));
        Assert.DoesNotContain(ledger, e => Infrastructure.LedgerText.HoldsPersonalData(e.Entry));
        Assert.DoesNotContain(ledger, e => (e.Entry.Target ?? string.Empty).Contains("TX 1/2", StringComparison.Ordinal) || (e.Entry.Reason ?? string.Empty).Contains('\u202E'));
    }

    private static async Task<JsonElement> ReadAsync(HttpResponseMessage response, List<string> bodies)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, text);
            bodies.Add(text);
            return JsonDocument.Parse(text).RootElement.Clone();
        }
    }
}
