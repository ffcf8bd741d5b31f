using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Custodian.Identity;
using Custodian.Protection.Keys;
using Custodian.Protection.Sample;
using Custodian.Protection.Validation;

namespace Custodian.Benchmarks;

/// <summary>Single-threaded cost per row of each import stage (validation, encryption, indexing), as process CPU time (robust to other load) and wall time, to find the import's bottleneck.</summary>
internal static class ImportBreakdown
{
    public static int Run(int count)
    {
        var today = DateOnly.FromDateTime(TimeProvider.System.GetUtcNow().UtcDateTime);
        var people = new SampleGenerator().Generate(count, 500, 1, today).ToList();
        var national = people.Select(p => p.Phone.StartsWith("+8210", StringComparison.Ordinal) ? "010-" + p.Phone[5..9] + "-" + p.Phone[9..] : "0" + p.Phone[3..]).ToList();
        var hyphenated = people.Select(p => p.Rrn[..6] + "-" + p.Rrn[6..]).ToList();
        var directory = Path.Combine(Path.GetTempPath(), "custodian-breakdown-" + Guid.NewGuid().ToString("N"));
        var keys = ProtectionKeyring.LoadOrCreate(directory, TimeProvider.System, RandomNumberGenerator.GetBytes(32));
        var cipher = new FieldCipher(keys);
        var index = new BlindIndex(keys);
        try
        {
            Measure("phone: PhoneNumbers.NormalizeKoreanMobile", count, i => PhoneNumbers.NormalizeKoreanMobile(national[i]));
            Measure("rrn: ResidentRegistrationNumbers.Normalize", count, i => ResidentRegistrationNumbers.Normalize(hyphenated[i], TimeProvider.System));
            Measure("4 x FieldCipher.EncryptString", count, i =>
            {
                var id = SubscriberId.From(i + 1);
                var p = people[i];
                cipher.EncryptString(id, "name", p.Name);
                cipher.EncryptString(id, "rrn", p.Rrn);
                cipher.EncryptString(id, "phone", p.Phone);
                cipher.EncryptString(id, "address", p.Address);
            });
            Measure("2 x BlindIndex (phone, rrn)", count, i =>
            {
                index.ForPhone(people[i].Phone);
                index.ForRrn(people[i].Rrn);
            });
            return 0;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static void Measure(string what, int count, Action<int> action)
    {
        for (var i = 0; i < Math.Min(count, 2_000); i++)
        {
            action(i);
        }

        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            action(i);
        }

        stopwatch.Stop();
        process.Refresh();
        var cpuPerRow = (process.TotalProcessorTime - cpu).TotalMicroseconds / count;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what,-45} {cpuPerRow,8:F1} µs/row CPU, {stopwatch.Elapsed.TotalMicroseconds / count,8:F1} µs/row wall (1 thread)"));
    }
}
