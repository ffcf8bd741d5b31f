using System.Globalization;
using Custodian.Protection.Import;
using CsvHelper;

namespace Custodian.Protection.Sample;

/// <summary>
/// Generates a realistic, deterministic synthetic subscriber population for pilots, demos, load
/// tests and the simulator. The same (count, stores, seed, today) always gives the same rows.
/// <list type="bullet">
/// <item>names: surnames by real frequency (<see cref="KoreanSampleData.Surnames"/>), given names from common syllables matching sex and generation;</item>
/// <item>RRNs: birth date (ages 10–89) + 7th digit 1–4 for nationals, 5–8 for about 3 % foreign residents (9/0 — born in the 1800s — never generated, though the validator accepts them), old-style check digit for nationals;</item>
/// <item>phones: unique within the population (a keyed Feistel permutation of the number space, no memory per row), about 99 % <c>010-XXXX-XXXX</c>, 1 % legacy <c>011/016–019</c>; every number is a valid KR mobile number per libphonenumber;</item>
/// <item>addresses: province/city + district + neighbourhood + lot, weighted by population; rate plans; 12/24/36-month contracts started within three years before <c>today</c>; home stores S001…</item>
/// <item>households: each subscriber who does not join the household before starts one of 1–5 members (sizes 1: 82 %, 2: 9 %,
/// 3: 6 %, 4: 2.5 %, 5: 0.5 %; about 37 % of subscribers live with another); its members follow it in the output and share its
/// first member's surname and address (the household index's definition, docs/households.md); half of the households of two or
/// more share a family plan (<see cref="SampleSubscriber.FamilyPlan"/>), about 18 % of subscribers. Drawn from a random stream
/// of their own, so every other field is what the same seed gave before households existed.</item>
/// </list>
/// Not thread-safe per enumeration; separate enumerations are independent.
/// </summary>
public sealed class SampleGenerator
{
    /// <summary>Largest population one call generates.</summary>
    public const int MaxCount = 50_000_000;

    /// <summary>Largest number of stores (codes S001–S9999).</summary>
    public const int MaxStores = 9_999;

    /// <summary>Generates <paramref name="count"/> subscribers lazily.</summary>
    /// <param name="count">Number of subscribers, 0–50,000,000.</param>
    /// <param name="stores">Number of stores the subscribers are spread over, 1–9,999 (codes <c>S001</c>…).</param>
    /// <param name="seed">Random seed.</param>
    /// <param name="today">The reference date: birth dates and contract starts lie before it.</param>
    /// <returns>The subscribers, in a deterministic order.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="count"/> or <paramref name="stores"/> is out of range.</exception>
    public IEnumerable<SampleSubscriber> Generate(int count, int stores, int seed, DateOnly today)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxCount);
        ArgumentOutOfRangeException.ThrowIfLessThan(stores, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(stores, MaxStores);
        return GenerateCore(count, stores, seed, today);
    }

    /// <summary>Writes subscribers as import CSV (RFC 4180, header <see cref="ImportColumns.FullHeaderLine"/>, CRLF line ends), phones in national form (<c>010-1234-5678</c>), RRNs hyphenated, <c>family_plan</c> empty for a subscriber on none.</summary>
    /// <param name="writer">Destination; flushed, not disposed.</param>
    /// <param name="subscribers">The rows.</param>
    public static void WriteCsv(TextWriter writer, IEnumerable<SampleSubscriber> subscribers)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(subscribers);
        using var csv = CsvWriter.Create(writer, new CsvWriterOptions { NewLine = "\r\n", Separator = ',', Quoting = CsvQuoting.WhenNeeded, Injection = CsvInjection.None }, leaveOpen: true);
        csv.WriteHeader([.. ImportColumns.All, .. ImportColumns.Optional]);
        var fields = new string[ImportColumns.All.Count + ImportColumns.Optional.Count];
        foreach (var s in subscribers)
        {
            fields[0] = s.Name;
            fields[1] = Validation.ResidentRegistrationNumbers.FormatWithHyphen(s.Rrn);
            fields[2] = FormatMobileNational(s.Phone);
            fields[3] = s.Address;
            fields[4] = s.RatePlan;
            fields[5] = s.ContractStart.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            fields[6] = s.ContractEnd.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            fields[7] = s.HomeStore;
            fields[8] = s.FamilyPlan ?? string.Empty;
            csv.WriteRecord(fields);
        }

        csv.Flush();
        writer.Flush();
    }

    /// <summary>National form of a generated mobile number: <c>+821012345678</c> → <c>010-1234-5678</c>, <c>+82112345678</c> → <c>011-234-5678</c>.</summary>
    internal static string FormatMobileNational(string e164)
    {
        // +82 1X then 7 or 8 digits: 0 + 1X, then 3 or 4 digits, then 4 digits.
        var national = "0" + e164[3..];
        var middle = national.Length - 7;
        return $"{national[..3]}-{national[3..(3 + middle)]}-{national[(3 + middle)..]}";
    }

    private static IEnumerable<SampleSubscriber> GenerateCore(int count, int stores, int seed, DateOnly today)
    {
        var random = new Random(seed);
        var phones = new PhoneSequence(seed);
        var surnameTable = new WeightedTable<string>(KoreanSampleData.Surnames);
        var planTable = new WeightedTable<string>(KoreanSampleData.RatePlans);
        var regionTable = new WeightedTable<int>(KoreanSampleData.Regions.Select((r, i) => (i, r.Weight)).ToArray());
        var ageTable = new WeightedTable<int>(KoreanSampleData.AgeBands.Select((b, i) => (i, b.Weight)).ToArray());
        var householdRandom = new Random(unchecked((seed * 16_777_619) ^ 0x5EED));
        var household = (Surname: string.Empty, Address: string.Empty, Plan: (string?)null);
        var remaining = 0;
        var plans = 0;
        for (var n = 0; n < count; n++)
        {
            var male = random.Next(2) == 0;
            var foreign = random.Next(100) < 3;
            var band = KoreanSampleData.AgeBands[ageTable.Pick(random)];
            var age = random.Next(band.From, band.To);
            var birth = today.AddYears(-age).AddDays(-random.Next(0, 365));
            var surname = surnameTable.Pick(random);
            var given = GivenName(random, male, birth.Year);
            var rrn = Rrn(random, birth, male, foreign);
            var phone = phones.Next(random);
            var address = Address(random, regionTable);
            var plan = planTable.Pick(random);
            var start = today.AddDays(-random.Next(0, 3 * 365));
            var term = random.Next(100) switch { < 65 => 24, < 85 => 12, _ => 36 };
            var end = start.AddMonths(term).AddDays(-1);
            var store = "S" + (random.Next(stores) + 1).ToString("000", CultureInfo.InvariantCulture);
            if (remaining > 0)
            {
                (surname, address) = (household.Surname, household.Address); // a member of the household the rows before started
                remaining--;
            }
            else
            {
                var size = householdRandom.Next(1000) switch { < 820 => 1, < 910 => 2, < 970 => 3, < 995 => 4, _ => 5 };
                var familyPlan = size >= 2 && householdRandom.Next(2) == 0
                    ? string.Create(CultureInfo.InvariantCulture, $"FP-{(uint)seed:X8}-{++plans:0000000}")
                    : null;
                household = (surname, address, familyPlan);
                remaining = size - 1;
            }

            yield return new SampleSubscriber(surname + given, rrn, phone, address, plan, start, end, store, household.Plan);
        }
    }

    private static string GivenName(Random random, bool male, int birthYear)
    {
        var older = birthYear < 1975;
        var (first, second) = (male, older) switch
        {
            (true, false) => (KoreanSampleData.MaleFirstModern, KoreanSampleData.MaleSecondModern),
            (true, true) => (KoreanSampleData.MaleFirstOlder, KoreanSampleData.MaleSecondOlder),
            (false, false) => (KoreanSampleData.FemaleFirstModern, KoreanSampleData.FemaleSecondModern),
            (false, true) => (KoreanSampleData.FemaleFirstOlder, KoreanSampleData.FemaleSecondOlder),
        };
        var a = first[random.Next(first.Length)];
        if (random.Next(100) < 2)
        {
            return a; // one-syllable given name
        }

        string b;
        do
        {
            b = second[random.Next(second.Length)];
        }
        while (b == a);
        return a + b;
    }

    private static string Rrn(Random random, DateOnly birth, bool male, bool foreign)
    {
        var century2000 = birth.Year >= 2000;
        var genderDigit = (foreign, century2000) switch
        {
            (false, false) => male ? 1 : 2,
            (false, true) => male ? 3 : 4,
            (true, false) => male ? 5 : 6,
            (true, true) => male ? 7 : 8,
        };
        Span<int> d = stackalloc int[13];
        d[0] = birth.Year % 100 / 10;
        d[1] = birth.Year % 10;
        d[2] = birth.Month / 10;
        d[3] = birth.Month % 10;
        d[4] = birth.Day / 10;
        d[5] = birth.Day % 10;
        d[6] = genderDigit;
        for (var i = 7; i < 12; i++)
        {
            d[i] = random.Next(10);
        }

        // Pre-October-2020 check digit: (11 − Σ dᵢ·wᵢ mod 11) mod 10 with weights 2–9, 2–5. Foreign residents used another formula.
        ReadOnlySpan<int> weights = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];
        var sum = 0;
        for (var i = 0; i < 12; i++)
        {
            sum += d[i] * weights[i];
        }

        d[12] = foreign ? random.Next(10) : (11 - (sum % 11)) % 10;
        Span<char> chars = stackalloc char[13];
        for (var i = 0; i < 13; i++)
        {
            chars[i] = (char)('0' + d[i]);
        }

        return new string(chars);
    }

    private static string Address(Random random, WeightedTable<int> regionTable)
    {
        var region = KoreanSampleData.Regions[regionTable.Pick(random)];
        var (district, dongs) = region.Districts[random.Next(region.Districts.Length)];
        var dong = dongs[random.Next(dongs.Length)];
        var lot = random.Next(100) < 60
            ? string.Create(CultureInfo.InvariantCulture, $"{random.Next(1, 1000)}-{random.Next(1, 100)}")
            : random.Next(1, 1000).ToString(CultureInfo.InvariantCulture);
        var address = $"{region.Province} {district} {dong} {lot}";
        if (random.Next(100) < 45)
        {
            address += string.Create(CultureInfo.InvariantCulture, $" {random.Next(101, 120)}동 {random.Next(1, 26)}{random.Next(1, 9):00}호");
        }

        return address;
    }

    /// <summary>Cumulative-weight table for O(log n) weighted picks.</summary>
    private sealed class WeightedTable<T>
    {
        private readonly T[] _values;
        private readonly int[] _cumulative;

        public WeightedTable((T Value, int Weight)[] entries)
        {
            _values = entries.Select(e => e.Value).ToArray();
            _cumulative = new int[entries.Length];
            var total = 0;
            for (var i = 0; i < entries.Length; i++)
            {
                total += entries[i].Weight;
                _cumulative[i] = total;
            }
        }

        public T Pick(Random random)
        {
            var x = random.Next(_cumulative[^1]);
            var i = Array.BinarySearch(_cumulative, x + 1);
            return _values[i >= 0 ? i : ~i];
        }
    }

    /// <summary>
    /// Unique mobile numbers without remembering them: counters walk two keyed permutations (a
    /// 4-round Feistel network on 28 bits with cycle walking) of the 010 space (middle 2000–9999 ×
    /// last 0000–9999) and of the legacy space (011/016–019, middle 200–999). Middles libphonenumber
    /// does not accept as mobile (e.g. 010-597x…599x) are skipped; validity is checked once per middle.
    /// </summary>
    private sealed class PhoneSequence
    {
        private const int Bits = 14;
        private const uint HalfMask = (1u << Bits) - 1;
        private const uint Domain010 = 8_000u * 10_000u;
        private const uint DomainLegacy = 5u * 800u * 10_000u;
        private readonly ulong[] _keys010;
        private readonly ulong[] _keysLegacy;
        private readonly Dictionary<string, bool> _validPrefix = new(StringComparer.Ordinal);
        private uint _next010;
        private uint _nextLegacy;

        public PhoneSequence(int seed)
        {
            var keyRandom = new Random(unchecked(seed * 31 + 7));
            _keys010 = [.. Enumerable.Range(0, 4).Select(_ => (ulong)keyRandom.NextInt64())];
            _keysLegacy = [.. Enumerable.Range(0, 4).Select(_ => (ulong)keyRandom.NextInt64())];
        }

        public string Next(Random random)
        {
            var legacy = random.Next(100) == 0;
            while (true)
            {
                string e164;
                string prefixKey;
                if (legacy && _nextLegacy < DomainLegacy)
                {
                    var v = Permute(_nextLegacy++, DomainLegacy, _keysLegacy);
                    var prefix = KoreanSampleData.LegacyMobilePrefixes[v / 8_000_000];
                    var rest = v % 8_000_000;
                    var middle = 200 + (rest / 10_000);
                    prefixKey = prefix + middle.ToString(CultureInfo.InvariantCulture);
                    e164 = string.Create(CultureInfo.InvariantCulture, $"+82{prefix}{middle}{rest % 10_000:0000}");
                }
                else if (_next010 < Domain010)
                {
                    var v = Permute(_next010++, Domain010, _keys010);
                    var middle = 2000 + (v / 10_000);
                    prefixKey = "10" + middle.ToString(CultureInfo.InvariantCulture);
                    e164 = string.Create(CultureInfo.InvariantCulture, $"+8210{middle}{v % 10_000:0000}");
                }
                else
                {
                    throw new InvalidOperationException("The sample phone number space is exhausted.");
                }

                if (!_validPrefix.TryGetValue(prefixKey, out var valid))
                {
                    valid = Validation.PhoneNumbers.IsMobile(e164);
                    _validPrefix[prefixKey] = valid;
                }

                if (valid)
                {
                    return e164;
                }
            }
        }

        private static uint Permute(uint x, uint domain, ulong[] keys)
        {
            do
            {
                var left = x >> Bits;
                var right = x & HalfMask;
                foreach (var key in keys)
                {
                    var f = (uint)(Mix(key ^ right) & HalfMask);
                    (left, right) = (right, left ^ f);
                }

                x = (left << Bits) | right;
            }
            while (x >= domain);
            return x;
        }

        private static ulong Mix(ulong z)
        {
            // SplitMix64 finalizer.
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
