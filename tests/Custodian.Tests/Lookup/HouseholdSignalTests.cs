using System.Net;
using System.Net.Http.Json;
using System.Text;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Protection.Households;
using Custodian.Protection.Import;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Lookup;

/// <summary>
/// The snooping signal through the real server pipeline (issue 5): a clerk linked to their own subscription gets
/// <c>"household":true</c> in the stored ledger payload of every read of their household or family plan, nobody else does.
/// </summary>
public sealed class HouseholdSignalTests
{
    private const string Own = "010-9100-0001";
    private const string Sibling = "010-9100-0002";
    private const string PlanMember = "010-9100-0003";
    private const string Stranger = "010-9100-0004";

    private static readonly string[] Rows =
    [
        ImportColumns.FullHeaderLine,
        $"남궁민수,711231-1234567,{Own},서울특별시 강남구 역삼동 123-4 101동 1203호,5G 슬림,2025-01-02,2027-01-01,S001,FP-9",
        $"남궁지우,850615-2000000,{Sibling},\" 서울특별시  강남구 역삼동 123-4\u00A0101동 1203호\",LTE 베이직,2025-01-02,2027-01-01,S001,",
        $"이순자,520101-2000000,{PlanMember},부산광역시 해운대구 우동 7,LTE 베이직,2025-01-02,2027-01-01,S002,fp-9",
        $"남궁철,900101-1000000,{Stranger},서울특별시 강남구 역삼동 999,LTE 베이직,2025-01-02,2027-01-01,S001,FP-10",
    ];

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))] // the migration and the check query on SQLite and PostgreSQL
    [Trait("Backend", "Both")]
    public async Task Reads_of_the_clerks_household_family_plan_and_own_subscription_are_marked_and_no_others(TestBackend backend)
    {
        await using var host = await CustodianTestHost.StartAsync(backend: backend);
        var report = await host.Get<SubscriberImporter>().ImportAsync(new StringReader(string.Join("\n", Rows) + "\n"));
        Assert.Equal([], report.Errors.Select(e => $"{e.Line}: {e.Field}: {e.Rule}"));
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        var (other, _, _) = await host.ClerkAsync("C0002");
        Assert.Equal(HouseholdLinkOutcome.Linked, await host.Get<StaffHouseholds>().LinkAsync("C0001", await GuardedLookupTests.IdOf(host, Own)));

        var sibling = await SearchAsync(host, clerk, Sibling);
        var siblingHandle = sibling.Handle;
        using (var view = await clerk.GetAsync($"/api/v1/subscribers/{siblingHandle}?purpose=plan-change"))
        {
            Assert.Equal(HttpStatusCode.OK, view.StatusCode);
        }

        var siblingView = await host.LastRequestEntryAsync();
        var planMember = await SearchAsync(host, clerk, PlanMember);
        var own = await SearchAsync(host, clerk, Own);
        var stranger = await SearchAsync(host, clerk, Stranger);
        var strangerHandle = stranger.Handle;
        using (var view = await clerk.GetAsync($"/api/v1/subscribers/{strangerHandle}?purpose=plan-change"))
        {
            Assert.Equal(HttpStatusCode.OK, view.StatusCode);
        }

        var strangerView = await host.LastRequestEntryAsync();
        var unlinked = await SearchAsync(host, other, Sibling);
        var populationView = await SearchAsync(host, clerk, host.Population[3].Phone);

        // Decoded from the stored payload, and in the payload's bytes as the ledger format writes the flag (docs/ledger-format.md §1.1).
        foreach (var marked in new[] { sibling.Entry, siblingView, planMember.Entry, own.Entry })
        {
            Assert.Equal((AccessOutcome.Allowed, "C0001", true), (marked.Entry.Outcome, marked.Entry.Account, marked.Entry.Signals?.SameHousehold));
            Assert.Contains("\"household\":true", await PayloadAsync(host, marked.Sequence), StringComparison.Ordinal);
        }

        Assert.Equal(AccessTask.View, siblingView.Entry.Task);
        foreach (var unmarked in new[] { stranger.Entry, strangerView, unlinked.Entry, populationView.Entry })
        {
            Assert.Equal(AccessOutcome.Allowed, unmarked.Entry.Outcome);
            Assert.NotEqual(true, unmarked.Entry.Signals?.SameHousehold);
            Assert.DoesNotContain("household", await PayloadAsync(host, unmarked.Sequence), StringComparison.Ordinal);
        }

        Assert.Equal("C0002", unlinked.Entry.Entry.Account);

        // Nothing personal in clear: not in the payloads, not in the link row, and (SQLite) not anywhere in the data directory.
        string[] needles =
        [
            "남궁민수", "남궁지우", "이순자", "남궁철", "역삼동 123-4", "해운대구 우동 7", "역삼동 999", "FP-9", "fp-9", "FP-10",
            "9100-0001", "91000001", "91000002", "91000003", "91000004",
        ];
        foreach (var entry in await host.LedgerAsync())
        {
            var payload = await PayloadAsync(host, entry.Sequence);
            Assert.DoesNotContain(needles, n => payload.Contains(n, StringComparison.Ordinal));
        }

        Assert.Equal(["account", "subscriber_id", "household_index", "family_plan_index", "linked_at"], await LinkColumnsAsync(host));
        if (backend == TestBackend.Sqlite)
        {
            Assert.Empty(await PlaintextScanner.ScanFilesAsync(host.Directory.FullName, needles));
        }
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))] // the linked-account set's reload on SQLite and PostgreSQL
    [Trait("Backend", "Both")]
    public async Task A_link_made_by_another_process_marks_reads_from_one_second_after_it(TestBackend backend)
    {
        await using var host = await CustodianTestHost.StartAsync(backend: backend);
        var report = await host.Get<SubscriberImporter>().ImportAsync(new StringReader(string.Join("\n", Rows) + "\n"));
        Assert.Equal([], report.Errors.Select(e => $"{e.Line}: {e.Field}: {e.Rule}"));
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        var before = await SearchAsync(host, clerk, Sibling); // the server loads the linked accounts: none

        // `staff link-subscription` runs in another process: its own StaffHouseholds over the same database.
        var cli = new StaffHouseholds(host.Get<CustodianDatabase>(), host.Time);
        Assert.Equal(HouseholdLinkOutcome.Linked, await cli.LinkAsync("C0001", await GuardedLookupTests.IdOf(host, Own)));
        var withinTheSecond = await SearchAsync(host, clerk, Sibling);
        host.Time.Advance(StaffHouseholds.LinkedRefreshInterval);
        var after = await SearchAsync(host, clerk, Sibling);
        var again = await SearchAsync(host, clerk, Sibling);

        Assert.Equal(TimeSpan.FromSeconds(1), StaffHouseholds.LinkedRefreshInterval);
        Assert.Equal(
            [(AccessOutcome.Allowed, (bool?)false), (AccessOutcome.Allowed, false), (AccessOutcome.Allowed, true), (AccessOutcome.Allowed, true)],
            new[] { before, withinTheSecond, after, again }.Select(r => (r.Entry.Entry.Outcome, r.Entry.Entry.Signals?.SameHousehold)).ToArray());
    }

    private static async Task<(string Handle, CommittedEntry Entry)> SearchAsync(CustodianTestHost host, HttpClient client, string phone)
    {
        var handle = await GuardedLookupTests.SearchAsync(client, phone);
        var entry = await host.LastRequestEntryAsync();
        Assert.Equal(AccessTask.Search, entry.Entry.Task);
        return (handle, entry);
    }

    private static async Task<string> PayloadAsync(CustodianTestHost host, long sequence)
    {
        await using var connection = await host.Get<CustodianDatabase>().OpenAsync();
        await using var command = connection.Command("SELECT payload FROM ledger_entries WHERE seq = @seq", ("@seq", sequence));
        return Encoding.UTF8.GetString((byte[])(await command.ExecuteScalarAsync())!);
    }

    private static async Task<List<string>> LinkColumnsAsync(CustodianTestHost host)
    {
        await using var connection = await host.Get<CustodianDatabase>().OpenAsync();
        await using var command = connection.Command("SELECT * FROM staff_households");
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList();
        Assert.False(await reader.ReadAsync());
        return columns;
    }
}
