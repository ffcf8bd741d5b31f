using Custodian.Identity;
using Custodian.Protection.Households;
using Custodian.Protection.Import;
using Custodian.Protection.Subscribers;
using Custodian.Protection.Tests.Support;
using Custodian.Storage;

namespace Custodian.Protection.Tests.Households;

public sealed class HouseholdImportTests
{
    private const string Header = Csv.Header + ",family_plan";

    private static readonly string[] FamilyFile =
    [
        Header,                                                                                                     // 1
        "남궁민수,711231-1234567,010-1234-5678,서울특별시 강남구 역삼동 123-4,5G 슬림,2025-01-02,2027-01-01,S001,FP-77",   // 2
        "남궁지우,850615-2000000,010-2222-3333,\"  서울특별시  강남구 역삼동 123-4 \",LTE 베이직,2025-01-02,2027-01-01,S001,fp-77", // 3 same household, same plan
        "김철수,900101-1000000,010-3333-4444,서울특별시 강남구 역삼동 123-4,LTE 베이직,2025-01-02,2027-01-01,S002,",       // 4 same address, other surname, no plan
        "이영희,820101-2000000,010-4444-5555,부산광역시 해운대구 우동 7,LTE 베이직,2025-01-02,2027-01-01,S002,FP-77",      // 5 other household, same plan
    ];

    [Theory]
    [InlineData(ImportMode.AllOrNothing, ImportConcurrency.Exclusive)] // the bulk path (empty table)
    [InlineData(ImportMode.SkipBadRows, ImportConcurrency.Exclusive)] // row by row
    [InlineData(ImportMode.AllOrNothing, ImportConcurrency.BesideServer)] // staged beside a server
    public async Task Import_stores_the_household_and_family_plan_indexes_of_every_row(ImportMode mode, ImportConcurrency concurrency)
    {
        using var env = await TestEnvironment.CreateAsync();

        var report = await new SubscriberImporter(env.Database, env.Keys, env.Time).ImportAsync(Csv.Of(FamilyFile), mode, concurrency);

        Assert.Empty(report.Errors);
        Assert.Equal(4, report.RowsImported);
        var rows = await IndexesAsync(env);
        var household = Hex(HouseholdIndexTests.ExpectedHousehold("남궁", "서울특별시 강남구 역삼동 123-4"));
        var plan = Hex(HouseholdIndexTests.ExpectedFamilyPlan("FP-77"));
        Assert.Equal(
            [
                (household, plan),
                (household, plan),
                (Hex(HouseholdIndexTests.ExpectedHousehold("김", "서울특별시 강남구 역삼동 123-4")), null),
                (Hex(HouseholdIndexTests.ExpectedHousehold("이", "부산광역시 해운대구 우동 7")), plan),
            ],
            rows);
    }

    [Fact]
    public async Task A_file_without_the_family_plan_column_imports_with_no_family_plan_index()
    {
        using var env = await TestEnvironment.CreateAsync();

        var report = await env.ImportAsync(
            ImportMode.AllOrNothing,
            Csv.Header,
            "선우재덕,711231-1234567,010-1234-5678,대구광역시 수성구 범어동 1,5G 슬림,2025-01-02,2027-01-01,S001");

        Assert.Empty(report.Errors);
        Assert.Equal([(Hex(HouseholdIndexTests.ExpectedHousehold("선우", "대구광역시 수성구 범어동 1")), (string?)null)], await IndexesAsync(env));
    }

    [Fact]
    public async Task Bad_family_plan_codes_are_reported_by_line_and_field_without_the_value()
    {
        using var env = await TestEnvironment.CreateAsync();
        string[] bad = ["FP_SECRET1", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", "가족요금제", "FP 9"];

        var report = await env.ImportAsync(
            ImportMode.SkipBadRows,
            "family_plan," + Csv.Header, // any column order
            $"{bad[0]},김민준,711231-1234567,010-1234-5678,서울특별시 종로구 청운동 1-1,5G 슬림,2025-01-02,2027-01-01,S001",
            "FP-1,이서연,850615-2000000,010-2222-3333,서울특별시 종로구 청운동 1-1,5G 슬림,2025-01-02,2027-01-01,S001",
            $"{bad[1]},박지훈,900101-1000000,010-3333-4444,서울특별시 종로구 청운동 1-1,5G 슬림,2025-01-02,2027-01-01,S001",
            $"{bad[2]},최수아,820101-2000000,010-4444-5555,서울특별시 종로구 청운동 1-1,5G 슬림,2025-01-02,2027-01-01,S001",
            $"\"{bad[3]}\",정우진,830101-1000000,010-5555-6666,서울특별시 종로구 청운동 1-1,5G 슬림,2025-01-02,2027-01-01,S001");

        Assert.Equal(
            [
                new ImportRowError(2, "family_plan", HouseholdIndex.FamilyPlanRule),
                new ImportRowError(4, "family_plan", HouseholdIndex.FamilyPlanRule),
                new ImportRowError(5, "family_plan", HouseholdIndex.FamilyPlanRule),
                new ImportRowError(6, "family_plan", HouseholdIndex.FamilyPlanRule),
            ],
            report.Errors);
        Assert.Equal((5L, 1L, 4L), (report.RowsRead, report.RowsImported, report.RowsRejected));
        Assert.Equal("must be a family-plan group code: 1-32 characters, letters A-Z/a-z, digits and hyphens", HouseholdIndex.FamilyPlanRule);
        foreach (var value in bad)
        {
            Assert.DoesNotContain(report.Errors, e => e.Rule.Contains(value, StringComparison.Ordinal) || e.Field.Contains(value, StringComparison.Ordinal));
        }

        Assert.Equal([(Hex(HouseholdIndexTests.ExpectedHousehold("이", "서울특별시 종로구 청운동 1-1")), (string?)Hex(HouseholdIndexTests.ExpectedFamilyPlan("FP-1")))], await IndexesAsync(env));
    }

    [Fact]
    public async Task A_repeated_family_plan_column_is_a_header_error()
    {
        using var env = await TestEnvironment.CreateAsync();

        var report = await env.ImportAsync(ImportMode.AllOrNothing, Header + ",family_plan");

        Assert.Equal(
            [new ImportRowError(1, "header", "must name exactly the columns name,rrn,phone,address,rate_plan,contract_start,contract_end,home_store, and optionally family_plan (repeated columns: family_plan)")],
            report.Errors);
    }

    [Fact]
    public async Task Linked_clerks_share_household_family_plan_and_own_subscription_and_nobody_else()
    {
        using var env = await TestEnvironment.CreateAsync();
        Assert.Empty((await new SubscriberImporter(env.Database, env.Keys, env.Time).ImportAsync(Csv.Of(FamilyFile))).Errors);
        var vault = new SubscriberVault(env.Database, env.Keys);
        var ids = new List<SubscriberId>();
        foreach (var phone in new[] { "+821012345678", "+821022223333", "+821033334444", "+821044445555" })
        {
            ids.Add(Assert.Single(await vault.FindByPhoneAsync(phone)));
        }

        var households = new StaffHouseholds(env.Database, env.Time);
        Assert.Equal(HouseholdLinkOutcome.Linked, await households.LinkAsync("C0001", ids[0])); // 남궁, 역삼동, FP-77
        Assert.Equal(HouseholdLinkOutcome.Linked, await households.LinkAsync("C0002", ids[3])); // 이, 우동, FP-77
        Assert.Equal(HouseholdLinkOutcome.Linked, await households.LinkAsync("C0003", ids[3]));
        Assert.Equal(HouseholdLinkOutcome.Linked, await households.LinkAsync("C0003", ids[2])); // relinked: 김, 역삼동, no plan
        Assert.Equal(HouseholdLinkOutcome.SubscriberNotFound, await households.LinkAsync("C0004", new SubscriberId(123456789)));

        async Task<bool[]> Each(string account) =>
            [.. await Task.WhenAll(ids.Select(id => households.SharesHouseholdAsync(account, [id])))];

        Assert.Equal(new[] { true, true, false, true }, await Each("C0001")); // own, household + plan, other surname, plan
        Assert.Equal(new[] { true, true, false, true }, await Each("C0002")); // the plan, the plan, nothing shared, own
        Assert.Equal(new[] { false, false, true, false }, await Each("C0003")); // only its own: no plan, no one else named 김 there
        Assert.Equal(new[] { false, false, false, false }, await Each("C0004")); // no link
        Assert.Equal(new[] { false, false, false, false }, await Each("NOBODY"));
        Assert.False(await households.SharesHouseholdAsync("C0001", []));
        Assert.True(await households.SharesHouseholdAsync("C0003", [new SubscriberId(1), ids[0], ids[2]]));
        Assert.Equal(ids[2], await households.LinkedSubscriberAsync("C0003"));
        Assert.Null(await households.LinkedSubscriberAsync("C0004"));
        Assert.Equal(TestEnvironment.Start.ToUnixTimeMilliseconds(), await ScalarAsync(env, "SELECT linked_at FROM staff_households WHERE account = 'C0003'"));
    }

    [Fact]
    public async Task Rows_imported_before_the_indexes_existed_match_nobody_until_imported_again()
    {
        using var env = await TestEnvironment.CreateAsync();
        Assert.Empty((await new SubscriberImporter(env.Database, env.Keys, env.Time).ImportAsync(Csv.Of(FamilyFile))).Errors);
        await ScalarAsync(env, "UPDATE subscribers SET household_index = NULL, family_plan_index = NULL"); // as protection-household-001 leaves old rows
        var vault = new SubscriberVault(env.Database, env.Keys);
        var first = Assert.Single(await vault.FindByPhoneAsync("+821012345678"));
        var second = Assert.Single(await vault.FindByPhoneAsync("+821022223333"));
        var households = new StaffHouseholds(env.Database, env.Time);

        Assert.Equal(HouseholdLinkOutcome.Linked, await households.LinkAsync("C0001", first));

        Assert.True(await households.SharesHouseholdAsync("C0001", [first])); // still the clerk's own subscription
        Assert.False(await households.SharesHouseholdAsync("C0001", [second])); // NULL never equals NULL
    }

    [Fact]
    public async Task Many_subjects_are_checked_in_chunks()
    {
        using var env = await TestEnvironment.CreateAsync();
        Assert.Empty((await new SubscriberImporter(env.Database, env.Keys, env.Time).ImportAsync(Csv.Of(FamilyFile))).Errors);
        var own = Assert.Single(await new SubscriberVault(env.Database, env.Keys).FindByPhoneAsync("+821044445555"));
        var households = new StaffHouseholds(env.Database, env.Time);
        await households.LinkAsync("C0001", own);
        var strangers = Enumerable.Range(1, 250).Select(i => new SubscriberId(i)).ToList();

        Assert.False(await households.SharesHouseholdAsync("C0001", strangers));
        Assert.True(await households.SharesHouseholdAsync("C0001", [.. strangers, own])); // in the third chunk
    }

    /// <summary>Each row's two indexes as hex (the exact bytes, compared by value), in file order.</summary>
    private static async Task<List<(string Household, string? FamilyPlan)>> IndexesAsync(TestEnvironment env)
    {
        var rows = new List<(string, string?)>();
        await using var connection = await env.Database.OpenAsync();
        await using var command = connection.Command("SELECT household_index, family_plan_index FROM subscribers ORDER BY seq");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((Convert.ToHexString((byte[])reader.GetValue(0)), reader.IsDBNull(1) ? null : Convert.ToHexString((byte[])reader.GetValue(1))));
        }

        return rows;
    }

    private static string Hex(byte[] value) => Convert.ToHexString(value);

    private static async Task<object?> ScalarAsync(TestEnvironment env, string sql)
    {
        await using var connection = await env.Database.OpenAsync();
        await using var command = connection.Command(sql);
        return await command.ExecuteScalarAsync();
    }
}
