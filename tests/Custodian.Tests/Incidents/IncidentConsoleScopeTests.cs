using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Custodian.Incidents;
using Custodian.Ledger;
using Custodian.Problems;
using Custodian.Tests.Gateway;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;

namespace Custodian.Tests.Incidents;

/// <summary>
/// A case declared in the console without a window is scoped in the console: the scope form takes from and to (found by a
/// README-only evaluation: the form posted nothing, the handler passed no window, and only the CLI could scope such a case).
/// Over the real pipeline (mTLS terminal, officer session cookie, antiforgery token, SQLite, fake time) after real lookups.
/// </summary>
public sealed partial class IncidentConsoleScopeTests
{
    [Fact]
    public async Task A_case_declared_without_a_window_is_scoped_with_one_entered_in_the_console()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var start = host.Time.GetUtcNow();
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        foreach (var subscriber in host.Population.Take(3))
        {
            await GuardedLookupTests.SearchAsync(clerk, subscriber.Phone);
        }

        using var officer = await ConsoleFormRefusalTests.ConsoleAsync(host, "O0001");
        var end = host.Time.GetUtcNow(); // after the last lookup: 'to' is exclusive
        var token = await ConsoleFormRefusalTests.TokenAsync(officer, "/console/incidents?lang=en");
        var offset = host.Get<IncidentService>().Offset;
        string Local(DateTimeOffset time) => time.ToOffset(offset).ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture);
        string Minutes(DateTimeOffset time) => time.ToOffset(offset).ToString("yyyy-MM-ddTHH:mm", CultureInfo.InvariantCulture); // the form drops zero seconds

        string id;
        using (var declared = await officer.PostAsync("/console/incidents?handler=Declare", ConsoleFormRefusalTests.Form(token, ("title", "C0001 at S001"), ("clerks", "C0001"), ("from", ""), ("to", ""))))
        {
            Assert.Equal(HttpStatusCode.OK, declared.StatusCode);
            id = declared.RequestMessage!.RequestUri!.AbsolutePath["/console/incidents/".Length..];
            var page = await declared.Content.ReadAsStringAsync();
            Assert.Equal(["", ""], ScopeInputs().Matches(page).Select(m => m.Groups[2].Value));
        }

        Assert.Equal((IncidentState.Open, null, null), await StateAsync(host, id));

        // Without a window, the service's rule and message, as for the API and the CLI; a malformed time as the declare form.
        foreach (var (from, to, expected) in new[]
        {
            ("", "", "Scoping needs a window with both 'from' and 'to'; the scope lacks at least one of them."),
            (Local(start), "", "Scoping needs a window with both 'from' and 'to'; the scope lacks at least one of them."),
            (Local(start), Local(end.AddHours(1)), "Scoping needs a window that has ended: its 'to' is after now, so the run would not be reproducible."),
            (Local(end), Local(start), "The incident request is invalid. to: must be after 'from' (exclusive)"),
            ("yesterday", Local(end), "The incident request is invalid. from: must be a local date and time yyyy-MM-ddTHH:mm"),
        })
        {
            var before = (await host.LedgerAsync()).Count;
            using var refused = await officer.PostAsync($"/console/incidents/{id}?handler=Scope", ConsoleFormRefusalTests.Form(token, ("from", from), ("to", to)));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal(expected, WebUtility.HtmlDecode(IncidentError().Match(await refused.Content.ReadAsStringAsync()).Groups[1].Value));
            var entry = Assert.Single((await host.LedgerAsync()).Skip(before)).Entry;
            Assert.Equal((AccessTask.IncidentScoped, AccessOutcome.Denied), (entry.Task, entry.Outcome));
        }

        Assert.Equal((IncidentState.Open, null, null), await StateAsync(host, id));

        using (var scoped = await officer.PostAsync($"/console/incidents/{id}?handler=Scope", ConsoleFormRefusalTests.Form(token, ("from", Local(start)), ("to", Local(end)))))
        {
            Assert.Equal(HttpStatusCode.OK, scoped.StatusCode);
            Assert.Equal($"/console/incidents/{id}", scoped.RequestMessage!.RequestUri!.AbsolutePath);

            // The form now shows the case's window.
            Assert.Equal([Minutes(start), Minutes(end)], ScopeInputs().Matches(await scoped.Content.ReadAsStringAsync()).Select(m => m.Groups[2].Value));
        }

        Assert.Equal((IncidentState.Scoped, start, end), await StateAsync(host, id));
        var summary = (await host.Get<IncidentService>().GetAsync(id)).Value.Summary!;
        Assert.Equal(new GradeCounts(0, 0, 3, 0), summary.Counts);

        // Scoping again with the prefilled window (as the browser posts it) gives the same counts.
        using (var again = await officer.PostAsync($"/console/incidents/{id}?handler=Scope", ConsoleFormRefusalTests.Form(token, ("from", Local(start)), ("to", Local(end)))))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }

        Assert.Equal(new GradeCounts(0, 0, 3, 0), (await host.Get<IncidentService>().GetAsync(id)).Value.Summary!.Counts);
    }

    private static async Task<(IncidentState State, DateTimeOffset? From, DateTimeOffset? To)> StateAsync(CustodianTestHost host, string id)
    {
        var incident = (await host.Get<IncidentService>().GetAsync(id)).Value;
        return (incident.State, incident.Scope.From, incident.Scope.To);
    }

    [GeneratedRegex("<input id=\"scope-(from|to)\" name=\"(?:from|to)\" type=\"datetime-local\" step=\"1\" value=\"([^\"]*)\">")]
    private static partial Regex ScopeInputs();

    [GeneratedRegex("<p class=\"error\" role=\"alert\" id=\"incident-error\">([^<]*)</p>")]
    private static partial Regex IncidentError();
}
