using System.Text;
using Custodian.Protection.Sample;
using Custodian.Protection.Validation;
using Microsoft.Extensions.Logging.Testing;

namespace Custodian.Tests.Infrastructure;

/// <summary>Looks for any RRN or phone number of a population, in every written form, in files and captured logs.</summary>
public static class PlaintextScanner
{
    /// <summary>Every form a value could take: RRN with and without hyphen; phone as E.164, digits, national with and without hyphens.</summary>
    public static IReadOnlyList<string> Needles(IEnumerable<SampleSubscriber> population)
    {
        var needles = new List<string>();
        foreach (var s in population)
        {
            var rrn = s.Rrn.Replace("-", string.Empty, StringComparison.Ordinal);
            needles.Add(rrn);
            needles.Add($"{rrn[..6]}-{rrn[6..]}");
            var e164 = PhoneNumbers.NormalizeKorean(s.Phone).Value;
            var national = PhoneNumbers.FormatNational(e164);
            needles.Add(e164);
            needles.Add(e164[1..]);
            needles.Add(national);
            needles.Add(national.Replace("-", string.Empty, StringComparison.Ordinal));
        }

        return needles;
    }

    /// <summary>Findings (file and offset, never the value) for every file below <paramref name="directory"/>, except those <paramref name="exclude"/> names.</summary>
    public static async Task<List<string>> ScanFilesAsync(string directory, IReadOnlyList<string> needles, Func<string, bool>? exclude = null)
    {
        var findings = new List<string>();
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Where(f => exclude?.Invoke(f) != true))
        {
            var bytes = await File.ReadAllBytesAsync(file);
            var latin1 = Encoding.Latin1.GetString(bytes);
            var utf8 = Encoding.UTF8.GetString(bytes);
            foreach (var needle in needles)
            {
                var at = Math.Max(latin1.IndexOf(needle, StringComparison.Ordinal), utf8.IndexOf(needle, StringComparison.Ordinal));
                if (at >= 0)
                {
                    findings.Add($"{Path.GetFileName(file)} holds a personal value at offset {at} (form of length {needle.Length})");
                }
            }
        }

        return findings;
    }

    /// <summary>Findings in captured log records: message, exception and structured state.</summary>
    public static List<string> ScanLogs(FakeLogCollector logs, IReadOnlyList<string> needles)
    {
        var findings = new List<string>();
        foreach (var record in logs.GetSnapshot())
        {
            var text = record.Message + " " + record.Exception + " " + string.Join(" ", record.StructuredState?.Select(p => p.Value) ?? []);
            foreach (var needle in needles.Where(n => text.Contains(n, StringComparison.Ordinal)))
            {
                findings.Add($"log event {record.Category}/{record.Id} holds a personal value (form of length {needle.Length})");
            }
        }

        return findings;
    }
}
