using System.Text;
using Custodian.Protection.Audit;
using Custodian.Protection.Import;
using Custodian.Protection.Sample;
using Custodian.Protection.Tests.Support;

namespace Custodian.Protection.Tests.Audit;

public sealed class StorageAuditTests
{
    private static readonly string[] Rows =
    [
        Csv.Header,
        "홍길동,711231-1234567,010-1234-5678,서울특별시 종로구 청운동 1-1,5G 슬림,2025-01-02,2027-01-01,S001",
        "김서연,0506154000000,01177778888,부산광역시 해운대구 우동 7,키즈 LTE 19,2026-01-01,2026-01-01,S002",
    ];

    [Fact]
    public async Task The_database_wal_and_keyring_hold_no_plaintext_after_import()
    {
        using var env = await TestEnvironment.CreateAsync();
        await Population.ImportAsync(env, 500);
        var databaseBytes = new FileInfo(env.Directory.Combine("custodian.db")).Length;

        // (Other tests clear the global SQLite pool, which may checkpoint and remove the -wal file meanwhile: sizes are not compared exactly.)
        var report = await new StorageAudit(env.Database, env.Keys).ScanAsync([env.Directory.Path]);

        Assert.True(report.IsClean);
        Assert.Equal(500, report.Subscribers);
        Assert.True(report.BytesScanned >= databaseBytes);
        Assert.True(report.FilesScanned >= 2);
    }

    [Fact]
    public async Task Planted_values_are_reported_by_file_offset_and_kind_in_every_written_form()
    {
        using var env = await TestEnvironment.CreateAsync();
        Assert.Equal(2, (await env.ImportAsync(ImportMode.AllOrNothing, Rows)).RowsImported);
        var lines = new[]
        {
            "2026-03-01 info lookup by C0001 ok\n",
            "rrn=711231-1234567 phone=010-1234-5678\n",
            "e164 +821177778888 national 011 7777 8888 bare 0506154000000\n",
            "packed 711231123456701012345678 not ours 7112311234568 01099998888\n",
        };
        var log = env.Directory.Combine("server.log");
        File.WriteAllText(log, string.Concat(lines), new UTF8Encoding(false));
        var text = string.Concat(lines);
        long At(string needle, int occurrence = 0)
        {
            var index = -1;
            for (var i = 0; i <= occurrence; i++)
            {
                index = text.IndexOf(needle, index + 1, StringComparison.Ordinal);
            }

            return index;
        }

        var report = await new StorageAudit(env.Database, env.Keys).ScanAsync([log]);

        Assert.Equal(
            [
                new PlaintextFinding(log, At("711231-1234567"), PlaintextKind.Rrn),
                new PlaintextFinding(log, At("010-1234-5678"), PlaintextKind.Phone),
                new PlaintextFinding(log, At("821177778888"), PlaintextKind.Phone),
                new PlaintextFinding(log, At("011 7777 8888"), PlaintextKind.Phone),
                new PlaintextFinding(log, At("0506154000000"), PlaintextKind.Rrn),
                new PlaintextFinding(log, At("7112311234567"), PlaintextKind.Rrn),
                new PlaintextFinding(log, At("01012345678", 0), PlaintextKind.Phone),
            ],
            report.Findings.OrderBy(f => f.Offset).ToList());
        Assert.Equal(7, report.TotalFindings);
        Assert.False(report.IsClean);
        Assert.DoesNotContain("1234567", string.Join("|", report.Findings.Select(f => f.ToString())), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_export_of_the_source_csv_is_found_row_by_row_and_missing_paths_are_reported()
    {
        using var env = await TestEnvironment.CreateAsync();
        var people = await Population.ImportAsync(env, 100);
        var export = env.Directory.Combine("export.csv");
        using (var writer = new StreamWriter(export))
        {
            SampleGenerator.WriteCsv(writer, people);
        }

        var report = await new StorageAudit(env.Database, env.Keys).ScanAsync([export, env.Directory.Combine("no-such-dir")]);

        Assert.Equal(100, report.Findings.Count(f => f.Kind == PlaintextKind.Rrn));
        Assert.Equal(100, report.Findings.Count(f => f.Kind == PlaintextKind.Phone));
        Assert.Equal([env.Directory.Combine("no-such-dir")], report.Missing);
    }
}
