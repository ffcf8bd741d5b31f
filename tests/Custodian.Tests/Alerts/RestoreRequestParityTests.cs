using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Custodian.Ledger;
using Custodian.Monitoring;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Monitoring;
using Custodian.Web;

namespace Custodian.Tests.Alerts;

/// <summary>
/// A restore request is checked in one place (<c>RestoreAction.RequestCheckedAsync</c>) for the officer API and the
/// console's alert page: the same bad request gets the same status and error code from both, and both record it as
/// the same denied entry.
/// </summary>
public sealed class RestoreRequestParityTests
{
    [Fact]
    public async Task The_alert_page_and_the_api_refuse_the_same_restore_request_with_the_same_code()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5);
        var alert = await AlertsApiTests.NewAlertAsync(host.Get<AlertStore>());
        using var officer = (await AlertsApiTests.OfficerAsync(host, "O0001")).Officer;
        officer.DefaultRequestHeaders.Add("Cookie", $"{StaffPageModel.CookieName}={officer.DefaultRequestHeaders.Authorization!.Parameter}"); // the console's session cookie is the same token
        var rrn = host.Population[0].Rrn;

        async Task<(HttpStatusCode Status, string? Code, string? Target)> RefusedAsync(Func<Task<HttpResponseMessage>> send)
        {
            var before = (await host.LedgerAsync()).Count;
            using var response = await send();
            var entry = Assert.Single((await host.LedgerAsync()).Skip(before), e => e.Entry.Task == AccessTask.PrivilegedActionRequested).Entry;
            Assert.Equal(AccessOutcome.Denied, entry.Outcome);
            return (response.StatusCode, entry.ErrorCode, entry.Target);
        }

        async Task<HttpResponseMessage> PagePostAsync(string kind, string id, string reason)
        {
            using var page = await officer.GetAsync($"/console/alerts/{alert.Id}");
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            var token = Regex.Match(await page.Content.ReadAsStringAsync(), $"name=\"{ListenerAntiforgery.FormFieldName}\"[^>]*value=\"([^\"]+)\"").Groups[1].Value; // its cookie is kept by the client
            Assert.NotEmpty(token);
            return await officer.PostAsync($"/console/alerts/{alert.Id}?handler=Restore", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                [ListenerAntiforgery.FormFieldName] = token,
                ["kind"] = kind,
                ["principal"] = id,
                ["reason"] = reason,
            }));
        }

        (string Kind, string Id, string Reason, HttpStatusCode Status, string Code, string? Target)[] cases =
        [
            ("clerk", "C0003", "script removed", HttpStatusCode.NotFound, ErrorCodes.NotFound, "action:restore-clerk;target:C0003"), // not suspended: the page said validation-failed (400)
            ("terminal", "S001-t-C0003", "reviewed", HttpStatusCode.NotFound, ErrorCodes.NotFound, "action:restore-terminal;target:S001-t-C0003"),
            ("robot", "C0003", "script removed", HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed, null),
            ("clerk", "bad id!", "script removed", HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed, null),
            ("clerk", "C0003", " ", HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed, "action:restore-clerk;target:C0003"),
            ("clerk", "C0003", $"rrn {rrn} checked", HttpStatusCode.BadRequest, ErrorCodes.PersonalDataInText, "action:restore-clerk;target:C0003"), // checked before the suspension
        ];
        foreach (var (kind, id, reason, status, code, target) in cases)
        {
            var api = await RefusedAsync(() => officer.PostAsJsonAsync("/api/v1/alerts/restorations", new RestoreRequest(kind, id, reason)));
            var page = await RefusedAsync(() => PagePostAsync(kind, id, reason));
            Assert.Equal((status, code, target), api);
            Assert.Equal(api, page);
        }
    }
}
