using System.Diagnostics;
using System.Text.RegularExpressions;
using Custodian.Protection.Import;
using Custodian.Protection.Masking;
using Custodian.Protection.Sample;
using Custodian.Protection.Subscribers;
using Custodian.Protection.Tests.Support;
using Custodian.Protection.Tests.Validation;
using Custodian.Protection.Validation;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Custodian.Protection.Tests.Sample;

public sealed class SampleGeneratorTests(ITestOutputHelper output)
{
    private static readonly DateOnly Today = new(2026, 3, 1);
    private static readonly Lazy<List<SampleSubscriber>> TenThousand = new(() => new SampleGenerator().Generate(10_000, 40, 1, Today).ToList());

    [Fact]
    public void Same_seed_gives_the_same_population_and_another_seed_another()
    {
        var a = new SampleGenerator().Generate(500, 5, 42, Today).ToList();
        var b = new SampleGenerator().Generate(500, 5, 42, Today).ToList();
        var c = new SampleGenerator().Generate(500, 5, 43, Today).ToList();

        Assert.Equal(a, b);
        Assert.NotEqual(a.Select(s => s.Phone), c.Select(s => s.Phone));
        Assert.NotEqual(a.Select(s => s.Rrn), c.Select(s => s.Rrn));
    }

    [Fact]
    public void Phone_numbers_are_unique_valid_KR_mobile_numbers_mostly_010()
    {
        var people = TenThousand.Value;
        var mobilePattern = new Regex(KrMetadata.Pattern("mobile"));

        Assert.Equal(people.Count, people.Select(p => p.Phone).Distinct().Count());
        Assert.All(people, p =>
        {
            Assert.True(PhoneNumbers.IsMobile(p.Phone));
            Assert.Matches(mobilePattern, p.Phone[3..]);
            Assert.Equal(PhoneNumbers.FormatNational(p.Phone), SampleGenerator.FormatMobileNational(p.Phone));
        });
        var share010 = people.Count(p => p.Phone.StartsWith("+8210", StringComparison.Ordinal)) / (double)people.Count;
        Assert.InRange(share010, 0.98, 0.999);
    }

    [Fact]
    public void RRNs_are_structurally_valid_with_realistic_century_digits()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(Today.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero));
        var people = TenThousand.Value;

        Assert.All(people, p => Assert.Equal(p.Rrn, ResidentRegistrationNumbers.Normalize(p.Rrn, time).Value));
        var digits = people.GroupBy(p => p.Rrn[6]).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal("12345678", string.Concat(digits.Keys.Order()));
        var foreign = people.Count(p => ResidentRegistrationNumbers.IsForeignResident(p.Rrn)) / (double)people.Count;
        Assert.InRange(foreign, 0.02, 0.04);
        Assert.All(people, p =>
        {
            var age = Today.Year - ResidentRegistrationNumbers.GetBirthDate(p.Rrn).Year;
            Assert.InRange(age, 10, 90);
        });
    }

    [Fact]
    public void Surnames_follow_real_frequencies()
    {
        var people = TenThousand.Value;
        double Share(string surname) => people.Count(p => p.Name.StartsWith(surname, StringComparison.Ordinal) && !(surname == "남" && p.Name.StartsWith("남궁", StringComparison.Ordinal)) && !(surname == "서" && p.Name.StartsWith("서문", StringComparison.Ordinal)) && !(surname == "선" && p.Name.StartsWith("선우", StringComparison.Ordinal)) && !(surname == "제" && p.Name.StartsWith("제갈", StringComparison.Ordinal))) / (double)people.Count;

        Assert.InRange(Share("김"), 0.200, 0.232);
        Assert.InRange(Share("이"), 0.135, 0.161);
        Assert.InRange(Share("박"), 0.075, 0.095);
        Assert.InRange(Share("최"), 0.040, 0.055);
        Assert.InRange(Share("정"), 0.037, 0.052);
        Assert.All(people, p => Assert.InRange(p.Name.Length, 2, 4));
    }

    [Fact]
    public void Contracts_stores_and_addresses_are_well_formed()
    {
        var people = TenThousand.Value;
        var masking = new MaskingPolicy();

        Assert.All(people, p =>
        {
            Assert.True(p.ContractEnd >= p.ContractStart);
            Assert.True(p.ContractStart <= Today && p.ContractStart > Today.AddYears(-3).AddDays(-1));
            Assert.Matches("^S0(0[1-9]|[1-3][0-9]|40)$", p.HomeStore);
            Assert.Matches(@"^\S+(도|시) \S+(구|시) \S+동 \d{1,3}(-\d{1,2})?( 1[01]\d동 \d{3,4}호)?$", p.Address);
            Assert.EndsWith(" ***", masking.MaskAddress(p.Address));
        });
        Assert.Equal(40, people.Select(p => p.HomeStore).Distinct().Count());
        Assert.Contains(people, p => p.Address.StartsWith("서울특별시 ", StringComparison.Ordinal));
        Assert.Contains(people, p => p.Address.StartsWith("제주특별자치도 ", StringComparison.Ordinal));
    }

    [Fact]
    public void Writes_the_import_csv_format()
    {
        var writer = new StringWriter();
        var people = new SampleGenerator().Generate(3, 2, 5, Today).ToList();

        SampleGenerator.WriteCsv(writer, people);

        var lines = writer.ToString().Split("\r\n");
        Assert.Equal(5, lines.Length);
        Assert.Equal(ImportColumns.FullHeaderLine, lines[0]);
        Assert.Equal("name,rrn,phone,address,rate_plan,contract_start,contract_end,home_store,family_plan", lines[0]);
        Assert.Equal("", lines[4]);
        for (var i = 0; i < 3; i++)
        {
            var p = people[i];
            Assert.Equal(
                $"{p.Name},{p.Rrn[..6]}-{p.Rrn[6..]},{PhoneNumbers.FormatNational(p.Phone)},{p.Address},{p.RatePlan},{p.ContractStart:yyyy-MM-dd},{p.ContractEnd:yyyy-MM-dd},{p.HomeStore},{p.FamilyPlan}",
                lines[i + 1]);
        }
    }

    [Fact]
    public void Out_of_range_arguments_are_refused()
    {
        var generator = new SampleGenerator();

        Assert.Throws<ArgumentOutOfRangeException>(() => generator.Generate(-1, 1, 1, Today));
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.Generate(1, 0, 1, Today));
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.Generate(1, 10_000, 1, Today));
        Assert.Equal("SampleSubscriber { HomeStore = S001 }", generator.Generate(1, 1, 1, Today).Single().ToString());
    }

    [Fact]
    public async Task Ten_thousand_generated_rows_import_with_zero_errors()
    {
        using var env = await TestEnvironment.CreateAsync();
        var csv = new StringWriter();
        SampleGenerator.WriteCsv(csv, TenThousand.Value);

        var watch = Stopwatch.StartNew();
        var report = await new SubscriberImporter(env.Database, env.Keys, env.Time).ImportAsync(new StringReader(csv.ToString()));
        watch.Stop();

        Assert.Equal([], report.Errors);
        Assert.Equal(10_000, report.RowsRead);
        Assert.Equal(10_000, report.RowsImported);
        var vault = new SubscriberVault(env.Database, env.Keys);
        Assert.Equal(10_000, await vault.CountAsync());
        var last = TenThousand.Value[^1];
        var record = await vault.DecryptAsync(Assert.Single(await vault.FindByPhoneAsync(last.Phone)));
        Assert.Equal((last.Name, last.Rrn, last.Address, last.RatePlan, last.ContractStart, last.ContractEnd, last.HomeStore), (record!.Name, record.Rrn, record.Address, record.RatePlan, record.ContractStart, record.ContractEnd, record.HomeStore));
        output.WriteLine($"imported 10,000 rows in {watch.ElapsedMilliseconds} ms = {10_000 / watch.Elapsed.TotalSeconds:N0} rows/s");
    }
}
