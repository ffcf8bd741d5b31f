using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using Custodian.Classification;
using Custodian.Identity;
using Custodian.Protection.Import;
using Custodian.Protection.Subscribers;
using Custodian.Protection.Tests.Support;
using Custodian.Storage;
using Xunit.Abstractions;

namespace Custodian.Protection.Tests.Subscribers;

public sealed class SubscriberVaultTests(ITestOutputHelper output)
{
    private static readonly string[] Rows =
    [
        Csv.Header,
        "홍길동,711231-1234567,010-1234-5678,서울특별시 종로구 청운동 1-1,5G 슬림,2025-01-02,2027-01-01,S001",
        "홍길동,7112311234567,+82 10 2222 3333,서울특별시 종로구 청운동 1-1,LTE 베이직,2024-06-01,2026-05-31,S001",
        "김서연,0506154000000,01177778888,\"부산광역시 해운대구 우동 7, 101동 1203호\",키즈 LTE 19,2026-01-01,2026-01-01,S002",
    ];

    [Fact]
    public async Task Finds_by_blind_index_and_decrypts_exact_records()
    {
        using var env = await TestEnvironment.CreateAsync();
        var report = await env.ImportAsync(ImportMode.AllOrNothing, Rows);
        Assert.Equal(3, report.RowsImported);
        var vault = new SubscriberVault(env.Database, env.Keys);

        var first = Assert.Single(await vault.FindByPhoneAsync("+821012345678"));
        var third = Assert.Single(await vault.FindByPhoneAsync("+821177778888"));
        var byRrn = await vault.FindByRrnAsync("7112311234567");

        Assert.Equal(2, byRrn.Count);
        Assert.Contains(first, byRrn);
        Assert.Equal(byRrn.OrderBy(i => i.Value).ToList(), byRrn);
        Assert.Equal(
            new SubscriberRecord(first, "홍길동", "7112311234567", "+821012345678", "서울특별시 종로구 청운동 1-1", "5G 슬림", new DateOnly(2025, 1, 2), new DateOnly(2027, 1, 1), "S001"),
            await vault.DecryptAsync(first));
        Assert.Equal(
            new SubscriberRecord(third, "김서연", "0506154000000", "+821177778888", "부산광역시 해운대구 우동 7, 101동 1203호", "키즈 LTE 19", new DateOnly(2026, 1, 1), new DateOnly(2026, 1, 1), "S002"),
            await vault.DecryptAsync(third));
        Assert.Empty(await vault.FindByPhoneAsync("+821099998888"));
        Assert.Empty(await vault.FindByRrnAsync("7112311234560"));
        Assert.Null(await vault.DecryptAsync(SubscriberId.From(12345)));
        Assert.True(await vault.ExistsAsync(first));
        Assert.False(await vault.ExistsAsync(SubscriberId.From(12345)));
        Assert.Equal(3, await vault.CountAsync());
    }

    [Fact]
    public async Task Rows_read_as_stored_carry_the_clear_columns_and_decrypt_to_the_same_records()
    {
        using var env = await TestEnvironment.CreateAsync();
        await env.ImportAsync(ImportMode.AllOrNothing, Rows);
        var vault = new SubscriberVault(env.Database, env.Keys);
        var first = Assert.Single(await vault.FindByPhoneAsync("+821012345678"));
        var third = Assert.Single(await vault.FindByPhoneAsync("+821177778888"));

        var found = Assert.Single(await vault.FindSealedByPhoneAsync("+821012345678"));
        var read = await vault.ReadSealedAsync(third);

        Assert.Equal(
            (first, "5G 슬림", new DateOnly(2025, 1, 2), new SubscriberContractFacts(first, new DateOnly(2027, 1, 1), "S001")),
            (found.Id, found.RatePlan, found.ContractStart, found.Facts));
        Assert.NotNull(read);
        Assert.Equal(new SubscriberContractFacts(third, new DateOnly(2026, 1, 1), "S002"), read.Facts);
        Assert.Equal(await vault.DecryptAsync(first), vault.Decrypt(found));
        Assert.Equal(
            new SubscriberRecord(third, "김서연", "0506154000000", "+821177778888", "부산광역시 해운대구 우동 7, 101동 1203호", "키즈 LTE 19", new DateOnly(2026, 1, 1), new DateOnly(2026, 1, 1), "S002"),
            vault.Decrypt(read));
        Assert.Empty(await vault.FindSealedByPhoneAsync("+821099998888"));
        Assert.Null(await vault.ReadSealedAsync(SubscriberId.From(12345)));
        await Assert.ThrowsAsync<ArgumentException>(() => vault.FindSealedByPhoneAsync("01012345678"));
    }

    [Fact]
    public async Task A_ciphertext_moved_to_another_row_or_field_in_the_database_fails_to_decrypt()
    {
        using var env = await TestEnvironment.CreateAsync();
        await env.ImportAsync(ImportMode.AllOrNothing, Rows);
        var vault = new SubscriberVault(env.Database, env.Keys);
        var a = Assert.Single(await vault.FindByPhoneAsync("+821012345678"));
        var b = Assert.Single(await vault.FindByPhoneAsync("+821022223333"));
        var c = Assert.Single(await vault.FindByPhoneAsync("+821177778888"));

        await using (var connection = await env.Database.OpenAsync())
        {
            // An insider copies B's RRN ciphertext over A's, and C's name ciphertext into C's address.
            await using var copyRow = connection.Command("UPDATE subscribers SET rrn_ct = (SELECT rrn_ct FROM subscribers WHERE id = @b) WHERE id = @a", ("@a", a.Value), ("@b", b.Value));
            Assert.Equal(1, await copyRow.ExecuteNonQueryAsync());
            await using var copyField = connection.Command("UPDATE subscribers SET address_ct = name_ct WHERE id = @c", ("@c", c.Value));
            Assert.Equal(1, await copyField.ExecuteNonQueryAsync());
        }

        await Assert.ThrowsAsync<AuthenticationTagMismatchException>(() => vault.DecryptAsync(a));
        await Assert.ThrowsAsync<AuthenticationTagMismatchException>(() => vault.DecryptAsync(c));
        Assert.Equal("7112311234567", (await vault.DecryptAsync(b))!.Rrn);
    }

    [Fact]
    public async Task A_tampered_ciphertext_in_the_database_fails_to_decrypt()
    {
        using var env = await TestEnvironment.CreateAsync();
        await env.ImportAsync(ImportMode.AllOrNothing, Rows);
        var vault = new SubscriberVault(env.Database, env.Keys);
        var a = Assert.Single(await vault.FindByPhoneAsync("+821012345678"));
        byte[] phoneCt;
        await using (var connection = await env.Database.OpenAsync())
        {
            await using var read = connection.Command("SELECT phone_ct FROM subscribers WHERE id = @a", ("@a", a.Value));
            phoneCt = (byte[])(await read.ExecuteScalarAsync())!;
            phoneCt[20] ^= 0x80;
            await using var write = connection.Command("UPDATE subscribers SET phone_ct = @ct WHERE id = @a", ("@ct", phoneCt), ("@a", a.Value));
            await write.ExecuteNonQueryAsync();
        }

        await Assert.ThrowsAsync<AuthenticationTagMismatchException>(() => vault.DecryptAsync(a));
    }

    [Fact]
    public void Every_personal_property_is_classified()
    {
        static Type? Classification(string property) =>
            typeof(SubscriberRecord).GetProperty(property)!.GetCustomAttributes().OfType<Microsoft.Extensions.Compliance.Classification.DataClassificationAttribute>().SingleOrDefault()?.GetType();

        Assert.Equal(typeof(PseudonymousAttribute), Classification(nameof(SubscriberRecord.Id)));
        Assert.Equal(typeof(PersonalDataAttribute), Classification(nameof(SubscriberRecord.Name)));
        Assert.Equal(typeof(UniqueIdentifierAttribute), Classification(nameof(SubscriberRecord.Rrn)));
        Assert.Equal(typeof(PersonalDataAttribute), Classification(nameof(SubscriberRecord.Phone)));
        Assert.Equal(typeof(PersonalDataAttribute), Classification(nameof(SubscriberRecord.Address)));
        Assert.Equal(typeof(PersonalDataAttribute), Classification(nameof(SubscriberRecord.RatePlan)));
        Assert.Equal(typeof(PersonalDataAttribute), Classification(nameof(SubscriberRecord.ContractStart)));
        Assert.Equal(typeof(PersonalDataAttribute), Classification(nameof(SubscriberRecord.ContractEnd)));
        Assert.Null(Classification(nameof(SubscriberRecord.HomeStore)));
    }

    [Fact]
    public async Task Lookup_throughput_is_logged()
    {
        using var env = await TestEnvironment.CreateAsync();
        var sample = new Custodian.Protection.Sample.SampleGenerator().Generate(2_000, 5, 3, TestEnvironment.Today).ToList();
        var csv = new StringWriter();
        Custodian.Protection.Sample.SampleGenerator.WriteCsv(csv, sample);
        var report = await new SubscriberImporter(env.Database, env.Keys, env.Time).ImportAsync(new StringReader(csv.ToString()));
        Assert.Equal(2_000, report.RowsImported);
        var vault = new SubscriberVault(env.Database, env.Keys);

        var watch = Stopwatch.StartNew();
        var decrypted = 0;
        await Parallel.ForEachAsync(sample, new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (s, ct) =>
        {
            var id = Assert.Single(await vault.FindByPhoneAsync(s.Phone, ct));
            var record = await vault.DecryptAsync(id, ct);
            Assert.Equal(s.Rrn, record!.Rrn);
            Interlocked.Increment(ref decrypted);
        });
        watch.Stop();

        Assert.Equal(2_000, decrypted);
        output.WriteLine($"{decrypted} search+decrypt lookups on 2 workers in {watch.ElapsedMilliseconds} ms = {decrypted / watch.Elapsed.TotalSeconds:N0} lookups/s");
    }
}
