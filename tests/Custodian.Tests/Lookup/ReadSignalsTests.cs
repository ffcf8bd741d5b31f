using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Monitoring.Detection;
using Custodian.Protection.Subscribers;
using Custodian.Protection.Validation;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Custodian.Tests.Lookup;

/// <summary>
/// The signals the guard writes into read entries (docs/ledger-format.md §1.1): the searched number's block pseudonym,
/// contract ending and other area — through the real server pipeline, SQLite or PostgreSQL.
/// </summary>
public sealed class ReadSignalsTests
{
    private static readonly TimeSpan Kst = TimeSpan.FromHours(9);

    [Fact]
    public async Task Search_entries_carry_the_keyed_block_of_the_number_searched_and_no_number()
    {
        await using var host = await CustodianTestHost.StartAsync();
        var (client, _, _) = await host.ClerkAsync("C0001");
        var e164 = PhoneNumbers.NormalizeKorean(host.Population[3].Phone).Value;
        var sameBlock = await UnusedNumberAsync(host, e164[..^2]); // another number of the same 100-number block, nobody's
        var nextBlockPrefix = (long.Parse(e164[1..^2], CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture);
        var nextBlock = await UnusedNumberAsync(host, "+" + nextBlockPrefix);
        var before = (await host.LedgerAsync()).Count;

        Assert.Single((await SearchAsync(client, e164)).Results);
        Assert.Empty((await SearchAsync(client, sameBlock)).Results);
        Assert.Empty((await SearchAsync(client, nextBlock)).Results);
        using (var invalid = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = "12345" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        }

        var entries = (await host.LedgerAsync()).Skip(before).Select(e => e.Entry).ToList();
        Assert.Equal([AccessTask.Search, AccessTask.Search, AccessTask.Search, AccessTask.Search], entries.Select(e => e.Task));
        var expected = ExpectedBlock(host, e164[..^2]);
        Assert.Equal(expected, entries[0].Signals!.NumberBlock);
        Assert.Equal(expected, entries[1].Signals!.NumberBlock); // found or not, one block, one value
        Assert.Equal(ExpectedBlock(host, "+" + nextBlockPrefix), entries[2].Signals!.NumberBlock);
        Assert.NotEqual(expected, entries[2].Signals!.NumberBlock);
        Assert.Null(entries[3].Signals); // a number that did not normalise has no block
        Assert.Matches("^[0-9a-f]{16}$", expected);

        // No form of any searched number is in a stored payload: not E.164, not national, not the block's digits.
        var payloads = await PayloadsAsync(host);
        foreach (var number in new[] { e164, sameBlock, nextBlock })
        {
            var digits = number[1..];
            foreach (var form in new[] { digits, "0" + digits[2..], digits[..^2], "0" + digits[2..^2], PhoneNumbers.FormatNational(number) })
            {
                Assert.DoesNotContain(payloads, p => p.Contains(form, StringComparison.Ordinal));
            }
        }
    }

    [Theory]
    [InlineData(-1, false)] // ended yesterday
    [InlineData(0, true)] // ends today
    [InlineData(59, true)]
    [InlineData(60, true)]
    [InlineData(61, false)]
    public async Task Ending_is_set_when_the_contract_ends_within_the_configured_days_of_the_korean_date(int daysAhead, bool ending)
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 20);
        var (client, _, _) = await host.ClerkAsync("C0001");
        var subscriber = host.Population[2];
        var id = await IdOfAsync(host, subscriber.Phone);
        var today = DateOnly.FromDateTime(host.Time.GetUtcNow().ToOffset(Kst).DateTime);
        await SetAsync(host, id, "contract_end", today.AddDays(daysAhead).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        var before = (await host.LedgerAsync()).Count;

        var search = await SearchAsync(client, subscriber.Phone);
        using var view = await client.GetAsync($"/api/v1/subscribers/{search.Results[0].Handle}?purpose=plan-change");
        using var complete = await client.PostAsJsonAsync($"/api/v1/subscribers/{search.Results[0].Handle}/service-completions", new { purpose = "plan-change" });

        Assert.Equal(HttpStatusCode.OK, view.StatusCode);
        Assert.True(complete.IsSuccessStatusCode);
        var entries = (await host.LedgerAsync()).Skip(before).Select(e => e.Entry).Where(e => e.Task is AccessTask.Search or AccessTask.View or AccessTask.ServiceComplete).ToList();
        Assert.Equal([AccessTask.Search, AccessTask.View, AccessTask.ServiceComplete], entries.Select(e => e.Task));
        Assert.All(entries, e => Assert.Equal(ending, e.Signals?.ContractEnding ?? false));
        Assert.All(entries, e => Assert.Equal([id], e.Subjects));
    }

    [Fact]
    public async Task The_days_are_a_setting_and_the_korean_date_changes_at_15_00_utc()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5, services: s => s.AddSingleton(new DetectionOptions { LocalOffset = CustodianTestHost.StoreUtcOffset, ContractEndingDays = 30 }));
        var signals = host.Get<ReadSignals>();
        var id = await IdOfAsync(host, host.Population[0].Phone);
        await SetAsync(host, id, "contract_end", "2027-03-02");
        var entry = new AccessEntry { Time = DateTimeOffset.UnixEpoch, Task = AccessTask.View, Outcome = AccessOutcome.Allowed, Store = "S001", Subjects = [id] };

        // 2027-01-31 14:59:59 UTC is 23:59:59 on 2027-01-31 in Korea: 30 days before 2027-03-02, ending.
        Assert.True((await signals.ApplyAsync(entry with { Time = new DateTimeOffset(2027, 1, 31, 14, 59, 59, TimeSpan.Zero) }, null, CancellationToken.None)).Signals?.ContractEnding);
        // One second later it is 2027-02-01 in Korea, still within: 29 days.
        Assert.True((await signals.ApplyAsync(entry with { Time = new DateTimeOffset(2027, 1, 31, 15, 0, 0, TimeSpan.Zero) }, null, CancellationToken.None)).Signals?.ContractEnding);
        // 2027-01-30 15:00 UTC is already 2027-01-31 in Korea (30 days: ending); 14:59:59 is still 2027-01-30 (31 days: not).
        Assert.True((await signals.ApplyAsync(entry with { Time = new DateTimeOffset(2027, 1, 30, 15, 0, 0, TimeSpan.Zero) }, null, CancellationToken.None)).Signals?.ContractEnding);
        Assert.Null((await signals.ApplyAsync(entry with { Time = new DateTimeOffset(2027, 1, 30, 14, 59, 59, TimeSpan.Zero) }, null, CancellationToken.None)).Signals);
        // The last day of the contract in Korea counts; the day after does not (2027-03-02 15:00 UTC is 2027-03-03 KST).
        Assert.True((await signals.ApplyAsync(entry with { Time = new DateTimeOffset(2027, 3, 2, 14, 59, 59, TimeSpan.Zero) }, null, CancellationToken.None)).Signals?.ContractEnding);
        Assert.Null((await signals.ApplyAsync(entry with { Time = new DateTimeOffset(2027, 3, 2, 15, 0, 0, TimeSpan.Zero) }, null, CancellationToken.None)).Signals);
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))] // the stores table and the one-query read on SQLite and PostgreSQL
    [Trait("Backend", "Both")]
    public async Task Away_is_set_only_when_both_stores_have_areas_and_they_differ(TestBackend backend)
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 20, backend: backend);
        var far = await IdOfAsync(host, host.Population[0].Phone);
        var near = await IdOfAsync(host, host.Population[1].Phone);
        var unknown = await IdOfAsync(host, host.Population[2].Phone);
        await SetAsync(host, far, "home_store", "S002");
        await SetAsync(host, near, "home_store", "S005");
        await SetAsync(host, unknown, "home_store", "S003");
        foreach (var id in new[] { far, near, unknown })
        {
            await SetAsync(host, id, "contract_end", "2099-12-31"); // never ending: only 'away' is under test
        }

        var imported = await host.Get<StoreAreas>().ImportAsync(new StringReader("store,area\nS001,seoul-gangnam\nS002,busan-jin\nS005,seoul-gangnam\n"));
        Assert.Equal(new StoreAreaImport(true, 3, []), imported);
        var (client, _, _) = await host.ClerkAsync("C0001"); // store S001, area seoul-gangnam
        var (elsewhere, _, _) = await host.ClerkAsync("C0002", store: "S009"); // a store without an area

        var away = await ReadAsync(host, client, host.Population[0].Phone);
        var sameArea = await ReadAsync(host, client, host.Population[1].Phone);
        var homeUnknown = await ReadAsync(host, client, host.Population[2].Phone);
        var readerUnknown = await ReadAsync(host, elsewhere, host.Population[0].Phone);

        Assert.All(away, e => Assert.True(e.Signals!.OtherArea));
        Assert.All(away, e => Assert.False(e.Signals!.ContractEnding));
        Assert.All(sameArea.Concat(homeUnknown).Concat(readerUnknown), e => Assert.False(e.Signals?.OtherArea ?? false));
        Assert.All(sameArea.Concat(homeUnknown).Concat(readerUnknown).Where(e => e.Task == AccessTask.View), e => Assert.Null(e.Signals)); // nothing else set: no signals at all
    }

    [Fact]
    public async Task Areas_imported_by_another_process_apply_within_a_minute_and_refusals_naming_a_subject_carry_signals()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 20);
        var far = await IdOfAsync(host, host.Population[0].Phone);
        await SetAsync(host, far, "home_store", "S002");
        await SetAsync(host, far, "contract_end", "2099-12-31");
        await host.Get<StoreAreas>().ImportAsync(new StringReader("store,area\nS001,seoul-gangnam\nS002,busan-jin\n"));
        var (client, _, _) = await host.ClerkAsync("C0001");
        Assert.True((await ReadAsync(host, client, host.Population[0].Phone))[1].Signals!.OtherArea);

        // Another StoreAreas over the same database (as the CLI beside the server): this server's copy is up to a minute old.
        await new StoreAreas(host.Get<CustodianDatabase>(), host.Clock).ImportAsync(new StringReader("store,area\nS002,seoul-gangnam\n"));
        Assert.True((await ReadAsync(host, client, host.Population[0].Phone))[1].Signals!.OtherArea);
        host.Time.Advance(StoreAreas.RefreshInterval);
        Assert.Null((await ReadAsync(host, client, host.Population[0].Phone))[1].Signals);

        // A refusal that names the subject (unknown purpose) carries the subject's signals too.
        await SetAsync(host, far, "home_store", "S001");
        await host.Get<StoreAreas>().ImportAsync(new StringReader("store,area\nS001,busan-jin\n")); // in-process: applies at once
        var handle = (await SearchAsync(client, host.Population[0].Phone)).Results[0].Handle;
        using var refused = await client.GetAsync($"/api/v1/subscribers/{handle}?purpose=curiosity");
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var entry = (await host.LastRequestEntryAsync()).Entry;
        Assert.Equal((AccessTask.View, AccessOutcome.Denied), (entry.Task, entry.Outcome));
        Assert.Null(entry.Signals); // home S001 = reading store S001: no flag
        await SetAsync(host, far, "home_store", "S002");
        using var refusedAway = await client.GetAsync($"/api/v1/subscribers/{handle}?purpose=curiosity");
        Assert.True((await host.LastRequestEntryAsync()).Entry.Signals!.OtherArea); // S001 busan-jin, S002 seoul-gangnam
    }

    [Fact]
    public void The_sample_store_file_is_deterministic_and_groups_several_stores_per_area()
    {
        var csv = Custodian.Cli.SampleStores.Csv(7, seed: 3);
        Assert.Equal(csv, Custodian.Cli.SampleStores.Csv(7, seed: 3));
        var rows = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("store,area", rows[0]);
        Assert.Equal(["S001", "S002", "S003", "S004", "S005", "S006", "S007"], rows.Skip(1).Select(r => r.Split(',')[0]));
        var areas = rows.Skip(1).Select(r => r.Split(',')[1]).ToList();
        Assert.Equal(3, areas.Distinct().Count()); // (7 + 2) / 3 areas, 2-3 stores each
        Assert.All(areas.GroupBy(a => a), g => Assert.InRange(g.Count(), 2, 3));
        Assert.All(areas, a => Assert.True(StoreAreas.IsArea(a)));
        Assert.Equal(["busan-haeundae", "seoul-gangnam", "seoul-mapo"], areas.Distinct().Order(StringComparer.Ordinal));
        Assert.Equal("seoul-gangnam-2", Custodian.Cli.SampleStores.Csv(60, 1).Split('\n').Select(r => r.Split(',').Last()).Distinct().Single(a => a.StartsWith("seoul-gangnam-", StringComparison.Ordinal)));
    }

    /// <summary>Searches and views <paramref name="phone"/>; returns the search and the view entries.</summary>
    private static async Task<List<AccessEntry>> ReadAsync(CustodianTestHost host, HttpClient client, string phone)
    {
        var before = (await host.LedgerAsync()).Count;
        var search = await SearchAsync(client, phone);
        using var view = await client.GetAsync($"/api/v1/subscribers/{search.Results[0].Handle}?purpose=in-store-service");
        Assert.Equal(HttpStatusCode.OK, view.StatusCode);
        using var complete = await client.PostAsJsonAsync($"/api/v1/subscribers/{search.Results[0].Handle}/service-completions", new { purpose = "in-store-service" });
        var entries = (await host.LedgerAsync()).Skip(before).Select(e => e.Entry).Where(e => e.Task is AccessTask.Search or AccessTask.View).ToList();
        Assert.Equal([AccessTask.Search, AccessTask.View], entries.Select(e => e.Task));
        return entries;
    }

    // Computed from the key file as docs/monitoring.md ("Signals") states it, not through the product's DeriveKey: HKDF-SHA256
    // of the access-secrets key, empty salt, info "Custodian access-secrets subkey v1|number-block"; then HMAC-SHA256.
    private static string ExpectedBlock(CustodianTestHost host, string blockPrefix)
    {
        var secrets = Convert.FromBase64String(File.ReadAllText(Path.Combine(host.Directory.FullName, "access", "secrets.key")).Trim());
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, secrets, 32, salt: [], info: Encoding.UTF8.GetBytes("Custodian access-secrets subkey v1|number-block"));
        Assert.Equal(key, host.Get<Custodian.Access.Staff.SecretProtector>().DeriveKey(ReadSignals.NumberBlockKeyPurpose));
        var mac = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(blockPrefix));
        return Convert.ToHexString(mac, 0, 8).ToLowerInvariant();
    }

    private static async Task<string> UnusedNumberAsync(CustodianTestHost host, string blockPrefix)
    {
        for (var last = 0; last < 100; last++)
        {
            var number = blockPrefix + last.ToString("00", CultureInfo.InvariantCulture);
            if ((await host.Get<SubscriberVault>().FindByPhoneAsync(number)).Count == 0)
            {
                return number;
            }
        }

        throw new InvalidOperationException("the block is full");
    }

    private static async Task<SearchResponse> SearchAsync(HttpClient client, string phone)
    {
        using var response = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<SearchResponse>())!;
    }

    private static async Task<SubscriberId> IdOfAsync(CustodianTestHost host, string phone) =>
        Assert.Single(await host.Get<SubscriberVault>().FindByPhoneAsync(PhoneNumbers.NormalizeKorean(phone).Value));

    private static async Task SetAsync(CustodianTestHost host, SubscriberId id, string column, string value)
    {
        await using var connection = await host.Get<CustodianDatabase>().OpenAsync();
        await using var command = connection.Command($"UPDATE subscribers SET {column} = @value WHERE id = @id", ("@value", value), ("@id", id.Value));
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }

    private static async Task<List<string>> PayloadsAsync(CustodianTestHost host)
    {
        var list = new List<string>();
        await using var connection = await host.Get<CustodianDatabase>().OpenAsync();
        await using var command = connection.Command("SELECT payload FROM ledger_entries WHERE payload IS NOT NULL");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            list.Add(Encoding.UTF8.GetString((byte[])reader.GetValue(0)));
        }

        Assert.NotEmpty(list);
        return list;
    }
}
