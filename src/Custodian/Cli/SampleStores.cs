using System.Globalization;
using System.Text;

namespace Custodian.Cli;

/// <summary>
/// The store-area file <c>custodian sample</c> writes beside <c>--out</c> (<c>stores.csv</c>, for <c>custodian stores
/// import</c>): stores <c>S001</c>… as the subscribers' home stores are numbered, about three stores per area, areas named
/// like <c>seoul-gangnam</c> (after the 16th area a number is appended: <c>seoul-gangnam-2</c>). The same store count and
/// seed give the same file.
/// </summary>
internal static class SampleStores
{
    /// <summary>Area names, in the order they are used.</summary>
    internal static readonly string[] Areas =
    [
        "seoul-gangnam", "seoul-mapo", "busan-haeundae", "incheon-namdong", "daegu-suseong", "daejeon-yuseong", "gwangju-buk",
        "seongnam-bundang", "seoul-songpa", "suwon-yeongtong", "ulsan-nam", "goyang-ilsan", "seoul-jongno", "busan-jin",
        "cheongju-heungdeok", "jeju-jeju",
    ];

    /// <summary>The file's text: the header <c>store,area</c> and one row per store, in store order.</summary>
    /// <param name="stores">Number of stores, 1–9,999.</param>
    /// <param name="seed">The seed that shuffles stores over areas.</param>
    /// <returns>The CSV text, lines ending in <c>\n</c>.</returns>
    public static string Csv(int stores, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stores, 1);
        var areaCount = (stores + 2) / 3;
        var assigned = new int[stores];
        for (var i = 0; i < stores; i++)
        {
            assigned[i] = i % areaCount;
        }

        new Random(seed).Shuffle(assigned);
        var csv = new StringBuilder(Lookup.StoreAreas.Header + "\n");
        for (var i = 0; i < stores; i++)
        {
            var k = assigned[i];
            var area = Areas[k % Areas.Length] + (k >= Areas.Length ? "-" + ((k / Areas.Length) + 1).ToString(CultureInfo.InvariantCulture) : string.Empty);
            csv.Append(CultureInfo.InvariantCulture, $"S{(i + 1).ToString("000", CultureInfo.InvariantCulture)},{area}\n");
        }

        return csv.ToString();
    }
}
