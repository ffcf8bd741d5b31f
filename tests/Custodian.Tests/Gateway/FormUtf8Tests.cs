using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Custodian.Access.Approvals;
using Custodian.Hosting;
using Custodian.Ledger;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Gateway;

/// <summary>
/// Web forms refuse bytes that are not UTF-8 instead of storing U+FFFD (found by a README-only evaluation: a console reason
/// posted as <c>\xff\xfe\xc3</c> or <c>%FF</c> was stored as "���"). Over the real pipeline with raw bodies.
/// </summary>
public sealed class FormUtf8Tests
{
    [Fact]
    public async Task A_console_form_or_page_query_that_is_not_utf8_is_refused_and_nothing_is_stored()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5);
        using var officer = await ConsoleFormRefusalTests.ConsoleAsync(host, "O0001");
        var token = Uri.EscapeDataString(await ConsoleFormRefusalTests.TokenAsync(officer, "/console/approvals"));
        var requests = host.Get<PrivilegedActionRequests>();

        HttpContent Raw(byte[] reason)
        {
            var body = Encoding.ASCII.GetBytes($"__csrf={token}&action=enroll-vdi-host&target=VDI%2Fvdi-1&reason=").Concat(reason).ToArray();
            var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
            return content;
        }

        foreach (var reason in new[] { new byte[] { 0xFF, 0xFE, 0xC3 }, "%FF"u8.ToArray(), "ok%C3"u8.ToArray(), "%ED%A0%80"u8.ToArray(), "a%C3&b=%A9"u8.ToArray() })
        {
            var before = (await host.LedgerAsync()).Count;
            using var refused = await officer.PostAsync("/console/approvals?handler=Request", Raw(reason));
            var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.BadRequest, ErrorCodes.FormNotUtf8);
            Assert.Equal("The form must be UTF-8 text: a field holds bytes that are not UTF-8 (reload the page and send it again).", problem.GetProperty("detail").GetString());
            var entry = Assert.Single((await host.LedgerAsync()).Skip(before)).Entry;
            Assert.Equal((AccessTask.Refused, AccessOutcome.Denied, ErrorCodes.FormNotUtf8, "O0001"), (entry.Task, entry.Outcome, entry.ErrorCode, entry.Account));
            Assert.Empty(await requests.ListAsync(null));
        }

        using (var query = await officer.GetAsync("/console/approvals?status=%FF"))
        {
            await ProblemAssert.IsProblemAsync(query, HttpStatusCode.BadRequest, ErrorCodes.FormNotUtf8);
        }

        using (var portal = host.PortalClient())
        {
            using var content = new ByteArrayContent("phone=010%FF"u8.ToArray());
            content.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
            using var refused = await portal.PostAsync("/portal/sign-in?handler=Send", content);
            await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.BadRequest, ErrorCodes.FormNotUtf8);
        }

        // UTF-8, escaped or raw, and a '%' that escapes nothing, go through.
        using (var filed = await officer.PostAsync("/console/approvals?handler=Request", Raw([.. "%EC%82%AC%EC%9C%A0 "u8, .. "확인 100%"u8])))
        {
            Assert.Equal(HttpStatusCode.OK, filed.StatusCode);
        }

        Assert.Equal("사유 확인 100%", Assert.Single(await requests.ListAsync(null)).Reason);
        Assert.True(FormUtf8Middleware.IsUtf8("a=%E2%82%AC&b=+%zz%"u8));
        Assert.False(FormUtf8Middleware.IsUtf8("a=%E2%82"u8));
    }
}
