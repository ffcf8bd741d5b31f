using System.Net;
using System.Reflection;
using System.Text.RegularExpressions;
using Custodian.Pages.Console;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Monitoring;
using Custodian.Web;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.Extensions.DependencyInjection;

namespace Custodian.Tests.Gateway;

/// <summary>
/// The officer console's refusals over the real pipeline (mTLS terminal, officer session cookie, antiforgery token), each
/// found by a README-only evaluation: a form post that names no handler, or an unknown one, answered 500 (the page rendered
/// with nothing loaded); and every empty 400 said the form needed its token.
/// </summary>
public sealed partial class ConsoleFormRefusalTests
{
    /// <summary>Every console page with POST handlers (checked against the page models below), at an ID that need not exist.</summary>
    private static readonly (string Path, string Model)[] FormPages =
    [
        ("/console/incidents", "Custodian.Pages.Console.Incidents.IndexModel"),
        ("/console/incidents/INC-20000101-AAAAAA", "Custodian.Pages.Console.Incidents.DetailModel"),
        ("/console/alerts/ALR-0000000001", "Custodian.Pages.Console.Alerts.DetailModel"),
        ("/console/approvals", "Custodian.Pages.Console.Approvals.IndexModel"),
        ("/console/approvals/REQ-0000000001", "Custodian.Pages.Console.Approvals.DetailModel"),
        ("/console/claims/CLM-0000000001", "Custodian.Pages.Console.Claims.DetailModel"),
    ];

    /// <summary>Console pages that only answer GET.</summary>
    private static readonly string[] ListPages = ["/console", "/console/alerts", "/console/claims"];

    [Fact]
    public void The_form_pages_listed_are_every_console_page_with_a_post_handler()
    {
        var models = typeof(ConsolePageModel).Assembly.GetTypes()
            .Where(t => t.IsSubclassOf(typeof(ConsolePageModel)) && t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly).Any(m => m.Name.StartsWith("OnPost", StringComparison.Ordinal)))
            .Select(t => t.FullName!)
            .Order(StringComparer.Ordinal);
        Assert.Equal(FormPages.Select(p => p.Model).Order(StringComparer.Ordinal), models);
    }

    [Fact]
    public async Task A_post_naming_no_handler_or_an_unknown_one_is_refused_on_every_console_page_never_500()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5);
        using var officer = await ConsoleAsync(host, "O0001");
        var token = await TokenAsync(officer, "/console/incidents");

        foreach (var (path, _) in FormPages)
        {
            foreach (var handler in new[] { string.Empty, "?handler=Bogus" })
            {
                using var response = await officer.PostAsync(path + handler, Form(token, ("reason", "checked")));
                var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound, ErrorCodes.NotFound);
                Assert.Equal(PageHandlerGuard.UnknownHandlerMessage, problem.GetProperty("detail").GetString());
            }
        }

        foreach (var path in ListPages)
        {
            foreach (var handler in new[] { string.Empty, "?handler=Bogus" })
            {
                using var response = await officer.PostAsync(path + handler, Form(token));
                var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.MethodNotAllowed, ErrorCodes.MethodNotAllowed);
                Assert.Equal("Method not allowed.", problem.GetProperty("detail").GetString());
                Assert.Equal("GET, HEAD", string.Join(", ", response.Content.Headers.Allow));
            }
        }

        // A named handler still runs, and GET with an unknown handler still shows the page.
        using (var declare = await officer.PostAsync("/console/incidents?handler=Declare&lang=en", Form(token, ("title", " "))))
        {
            Assert.Equal(HttpStatusCode.BadRequest, declare.StatusCode);
            Assert.Equal("text/html", declare.Content.Headers.ContentType!.MediaType);
        }

        using var page = await officer.GetAsync("/console/incidents?handler=Bogus");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
    }

    [Fact]
    public async Task Only_a_failed_antiforgery_check_says_the_form_needs_its_token()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5, services: s => s.Configure<MvcOptions>(o => o.Filters.Add(new EmptyBadRequestFilter())));
        using var officer = await ConsoleAsync(host, "O0001");
        var token = await TokenAsync(officer, "/console/approvals");

        using (var tokenless = await officer.PostAsync("/console/approvals?handler=Request", Form(null, ("action", "restore-clerk"))))
        {
            var problem = await ProblemAssert.IsProblemAsync(tokenless, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
            Assert.Equal("The request was not accepted: a form needs its page's token (reload the page and send it again).", problem.GetProperty("detail").GetString());
        }

        using (var stale = await officer.PostAsync("/console/approvals?handler=Request", Form("not-a-token", ("action", "restore-clerk"))))
        {
            var problem = await ProblemAssert.IsProblemAsync(stale, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
            Assert.Equal("The request was not accepted: a form needs its page's token (reload the page and send it again).", problem.GetProperty("detail").GetString());
        }

        // A bad filter is the page with the rule, as /console/claims?state=… is; in Korean by default, English on request.
        foreach (var (query, expected) in new[]
        {
            ("?status=bogus", "상태: 대기, 승인됨, 거부됨, 실패, 철회됨, 전체 중 하나여야 합니다"),
            ("?status=bogus&lang=en", "status: must be pending, approved, rejected, failed, withdrawn or all"),
            ("?status=Pending&lang=en", "status: must be pending, approved, rejected, failed, withdrawn or all"),
        })
        {
            using var listed = await officer.GetAsync("/console/approvals" + query);
            Assert.Equal(HttpStatusCode.BadRequest, listed.StatusCode);
            Assert.Equal("text/html", listed.Content.Headers.ContentType!.MediaType);
            Assert.Equal(expected, WebUtility.HtmlDecode(ApprovalError().Match(await listed.Content.ReadAsStringAsync()).Groups[1].Value));
        }

        using (var claims = await officer.GetAsync("/console/claims?state=bogus&lang=en"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, claims.StatusCode);
            Assert.Equal("text/html", claims.Content.Headers.ContentType!.MediaType);
        }

        foreach (var status in new[] { "pending", "approved", "rejected", "failed", "withdrawn", "all" })
        {
            using var listed = await officer.GetAsync("/console/approvals?status=" + status);
            Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        }

        // Any other empty 400 names no token: here one a filter answers after the token check passed, and on a GET.
        foreach (var send in new Func<Task<HttpResponseMessage>>[]
        {
            () => officer.PostAsync("/console/approvals?handler=Request&empty400=1", Form(token, ("action", "enroll-vdi-host"))),
            () => officer.GetAsync("/console/approvals?empty400=1"),
        })
        {
            using var empty = await send();
            var problem = await ProblemAssert.IsProblemAsync(empty, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
            Assert.Equal("The request was not accepted: it is malformed.", problem.GetProperty("detail").GetString());
        }
    }

    /// <summary>Answers an empty 400 (as <c>BadRequest()</c> does) for a request whose query has <c>empty400</c>: a stand-in for any 400 not from the token check.</summary>
    private sealed class EmptyBadRequestFilter : IResourceFilter
    {
        public void OnResourceExecuting(ResourceExecutingContext context)
        {
            if (context.HttpContext.Request.Query.ContainsKey("empty400"))
            {
                context.Result = new BadRequestResult();
            }
        }

        public void OnResourceExecuted(ResourceExecutedContext context)
        {
        }
    }

    /// <summary>A security officer signed in at a fresh terminal, carrying the console's session cookie.</summary>
    internal static async Task<HttpClient> ConsoleAsync(CustodianTestHost host, string id)
    {
        var officer = (await AlertsApiTests.OfficerAsync(host, id)).Officer;
        officer.DefaultRequestHeaders.Add("Cookie", $"{StaffPageModel.CookieName}={officer.DefaultRequestHeaders.Authorization!.Parameter}"); // the console's session cookie is the same token
        return officer;
    }

    /// <summary>The antiforgery token of the form on <paramref name="path"/> (its cookie is kept by the client).</summary>
    internal static async Task<string> TokenAsync(HttpClient client, string path)
    {
        using var page = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var token = WebUtility.HtmlDecode(CsrfField().Match(await page.Content.ReadAsStringAsync()).Groups[1].Value);
        Assert.NotEmpty(token);
        return token;
    }

    /// <summary>A form body with the token (none when null) and the fields.</summary>
    internal static FormUrlEncodedContent Form(string? token, params (string Name, string Value)[] fields)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        if (token is not null)
        {
            pairs.Add(new(ListenerAntiforgery.FormFieldName, token));
        }

        pairs.AddRange(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)));
        return new FormUrlEncodedContent(pairs);
    }

    [GeneratedRegex("name=\"__csrf\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();

    [GeneratedRegex("<p class=\"error\" role=\"alert\" id=\"approval-error\">([^<]*)</p>")]
    private static partial Regex ApprovalError();
}
