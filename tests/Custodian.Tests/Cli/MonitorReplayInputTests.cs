using Custodian.Cli;

namespace Custodian.Tests.Cli;

/// <summary>
/// <c>custodian monitor replay FILE</c> on inputs a new user met (docs/monitoring.md, "Replay file format"): times at
/// the end of the calendar, personal data in member names and in printable fields, wrong headers, quoted CSV, duplicate
/// JSON members and empty files. Each asserts the exact output and exit code, and that no phone number or RRN is echoed.
/// </summary>
[Collection(nameof(CliCollection))]
public sealed class MonitorReplayInputTests : IDisposable
{
    private const string Header = "time,clerk,terminal,store,subscriber,task,purpose,fields,outcome";
    private const string GoodCsv = "2026-11-02T11:00:00+09:00,C7,T-7,S002,tok1,view,plan-change,name,allowed";
    private const string GoodJson = """{"time":"2026-11-02T11:00:00+09:00","clerk":"C7","terminal":"T-7","store":"S002","subscribers":["tok1"],"task":"view","purpose":"plan-change","fields":["name"],"outcome":"allowed"}""";
    private const string Allowed = "allowed: time, clerk, terminal, store, subscriber, task, purpose, fields, outcome, role, error, unmasked, subscribers, signals";
    private const string TimeRange = "field 'time' must be from 2000-01-01T00:00:00Z up to, not including, 2100-01-01T00:00:00Z";

    // Every phone number or RRN the bad inputs below hold, and its digits alone: none may appear in any output.
    private static readonly string[] PersonalData = ["010-1234-5678", "01012345678", "01098765432", "800101-1234567", "8001011234567", "02-555-1234", "025551234"];

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-replay-input-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Theory]
    [InlineData("9999-12-31T23:59:59Z")]
    [InlineData("9999-12-31T23:59:59+09:00")]
    [InlineData("2100-01-01T00:00:00Z")]
    [InlineData("2099-12-31T23:59:59-14:00")]
    [InlineData("1999-12-31T23:59:59Z")]
    [InlineData("2000-01-01T00:00:00+14:00")]
    public async Task A_time_outside_the_accepted_range_is_refused_on_its_line_in_csv_and_json(string time)
    {
        var csv = await WriteAsync("log.csv", Header, GoodCsv, $"{time},C7,T-7,S002,tok2,view,plan-change,name,allowed");
        var jsonl = await WriteAsync("log.jsonl", GoodJson, GoodJson.Replace("2026-11-02T11:00:00+09:00", time, StringComparison.Ordinal));

        foreach (var (file, name, line) in new[] { (csv, "log.csv", 3), (jsonl, "log.jsonl", 2) })
        {
            Assert.Equal(
                (3, string.Empty, $"{name}: line {line}: {TimeRange}\n1 bad row; nothing replayed (use --skip-bad-rows to replay the good one).\n"),
                await RunAsync("monitor", "replay", file));
            Assert.Equal(
                (3, "Replayed 1 row: 0 alerts, 0 suspensions.\n", $"{name}: line {line}: {TimeRange}\n"),
                await RunAsync("monitor", "replay", file, "--skip-bad-rows"));
        }
    }

    [Fact]
    public async Task Rows_at_both_ends_of_the_accepted_range_replay_without_overflow()
    {
        // The detectors' windows, day boundaries, store-local times and the orphan sweep after the last row all stay in range.
        var csv = await WriteAsync(
            "log.csv",
            Header,
            "2000-01-01T00:00:00Z,C7,T-7,S002,tok1,search,,name,allowed",
            "2099-12-31T23:59:59.999+09:00,C7,T-7,S002,tok2,search,,name,allowed",
            "2099-12-31T23:59:59.999Z,C7,T-7,S002,tok3,search,,name,allowed");

        var (code, stdout, stderr) = await RunAsync("monitor", "replay", csv);

        Assert.Equal((0, string.Empty), (code, stderr));
        Assert.StartsWith("Replayed 3 rows: ", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_json_member_named_after_a_phone_number_is_not_echoed()
    {
        var jsonl = await WriteAsync("log.jsonl", GoodJson, """{"010-1234-5678":"x"}""", """{"time":"2026-11-02T11:00:00+09:00","task":"view","outcome":"allowed","a01012345678":"x","b":1}""", """{"time":"2026-11-02T11:00:00+09:00","task":"view","outcome":"allowed","rrn":"800101-1234567"}""");

        var result = await RunAsync("monitor", "replay", jsonl);

        Assert.Equal(
            (3, string.Empty,
                $"log.jsonl: line 2: an unknown member (its name is not shown: not a plain identifier); {Allowed}\n" +
                $"log.jsonl: line 3: an unknown member (its name is not shown: not a plain identifier); {Allowed}\n" +
                $"log.jsonl: line 4: unknown member 'rrn'; {Allowed}\n" +
                "3 bad rows; nothing replayed (use --skip-bad-rows to replay the good one).\n"),
            result);
        AssertNoPersonalData(result);

        // With no good row it is one line saying the file is not a replay log, still without the name.
        var only = await WriteAsync("only.jsonl", """{"010-1234-5678":"x"}""");
        result = await RunAsync("monitor", "replay", only);
        Assert.Equal(
            (3, string.Empty,
                $"only.jsonl: not a replay log: line 1: an unknown member (its name is not shown: not a plain identifier); {Allowed}. The format is in docs/monitoring.md, \"Replay file format\"; nothing replayed.\n"),
            result);
        AssertNoPersonalData(result);
    }

    [Fact]
    public async Task A_phone_number_or_rrn_in_any_printable_field_refuses_the_row_by_field_never_by_value()
    {
        var csv = await WriteAsync(
            "log.csv",
            Header + ",role,error",
            GoodCsv + ",clerk,",
            "2026-11-02T11:00:01+09:00,01098765432,T-7,S002,tok2,view,plan-change,name,allowed,clerk,",
            "2026-11-02T11:00:02+09:00,C7,800101-1234567,S002,tok2,view,plan-change,name,allowed,clerk,",
            "2026-11-02T11:00:03+09:00,C7,T-7,S01012345678,tok2,view,plan-change,name,allowed,clerk,",
            "2026-11-02T11:00:04+09:00,C7,T-7,S002,tok2,view,010-1234-5678,name,allowed,clerk,",
            "2026-11-02T11:00:05+09:00,C7,T-7,S002,tok2,view,plan-change,name,denied,clerk,e-02-555-1234",
            "2026-11-02T11:00:06+09:00,C7,T-7,S002,tok2,view,plan-change,name,allowed,clerk,");

        foreach (var skip in new[] { false, true })
        {
            var result = await RunAsync(skip ? ["monitor", "replay", csv, "--skip-bad-rows"] : ["monitor", "replay", csv]);
            var refusals =
                "log.csv: line 3: field 'clerk' must not be or contain a phone number or a resident registration number\n" +
                "log.csv: line 4: field 'terminal' must not be or contain a phone number or a resident registration number\n" +
                "log.csv: line 5: field 'store' must not be or contain a phone number or a resident registration number\n" +
                "log.csv: line 6: field 'purpose' must not be or contain a phone number or a resident registration number\n" +
                "log.csv: line 7: field 'error' must not be or contain a phone number or a resident registration number\n";
            Assert.Equal(
                skip
                    ? (3, "Replayed 2 rows: 0 alerts, 0 suspensions.\n", refusals)
                    : (3, string.Empty, refusals + "5 bad rows; nothing replayed (use --skip-bad-rows to replay the 2 good ones).\n"),
                result);
            AssertNoPersonalData(result);
        }
    }

    [Fact]
    public async Task A_wrong_csv_header_says_so_by_column_name_and_is_not_counted_as_a_row()
    {
        var wrong = await WriteAsync("wrong.csv", "when,who", GoodCsv);
        Assert.Equal(
            (3, string.Empty,
                "wrong.csv: line 1: the header must be 'time,clerk,terminal,store,subscriber,task,purpose,fields,outcome' optionally followed by ',role', ',error', ',unmasked', ',block', ',ending', ',away', ',household' in that order; " +
                "found 2 columns: when, who; nothing replayed.\n"),
            await RunAsync("monitor", "replay", wrong));

        // A header made of data: the names that are not plain identifiers are not shown.
        var data = await WriteAsync("data.csv", "time,01012345678,800101-1234567,store", GoodCsv);
        var result = await RunAsync("monitor", "replay", data);
        Assert.Equal(
            (3, string.Empty,
                "data.csv: line 1: the header must be 'time,clerk,terminal,store,subscriber,task,purpose,fields,outcome' optionally followed by ',role', ',error', ',unmasked', ',block', ',ending', ',away', ',household' in that order; " +
                "found 4 columns: time, (a name not shown), (a name not shown), store; nothing replayed.\n"),
            result);
        AssertNoPersonalData(result);
    }

    [Fact]
    public async Task Quoted_csv_cells_are_read_as_rfc_4180_and_a_comma_inside_one_is_refused_by_the_fields_rule()
    {
        var csv = await WriteAsync(
            "log.csv",
            "\"time\",\"clerk\",terminal,store,subscriber,task,purpose,fields,outcome",
            "\"2026-11-02T11:00:00+09:00\",\"C7\",\"T-7\",\"S002\",\"tok1;tok2\",\"view\",\"\",\"name;phone\",\"allowed\"",
            "2026-11-02T11:00:01+09:00,C7,T-7,\"S002,x\",tok1,view,,name,allowed",
            "2026-11-02T11:00:02+09:00,C7,T-7,\"S002,tok1,view,,name,allowed",
            "2026-11-02T11:00:03+09:00,C7,T-7,S002,x,tok1,view,,name,allowed",
            "2026-11-02T11:00:04+09:00,C7,T-7,\"S002\"x,tok1,view,,name,allowed",
            "2026-11-02T11:00:05+09:00,C7,T-7,S0\"02,tok1,view,,name,allowed");

        Assert.Equal(
            (3, "Replayed 1 row: 0 alerts, 0 suspensions.\n",
                "log.csv: line 3: field 'store' must be 1-64 ASCII letters (A-Z, a-z), digits, '-', '_' or '.', starting with a letter or digit\n" +
                "log.csv: line 4: the line is not valid RFC 4180 CSV (a quote not closed on its line, text after a closing quote, or a quote inside an unquoted cell); a quoted cell cannot span lines\n" +
                "log.csv: line 5: expected 9 comma-separated fields, found 10 (a cell holding a comma must be quoted, and no field's rule allows a comma)\n" +
                "log.csv: line 6: the line is not valid RFC 4180 CSV (a quote not closed on its line, text after a closing quote, or a quote inside an unquoted cell); a quoted cell cannot span lines\n" +
                "log.csv: line 7: the line is not valid RFC 4180 CSV (a quote not closed on its line, text after a closing quote, or a quote inside an unquoted cell); a quoted cell cannot span lines\n"),
            await RunAsync("monitor", "replay", csv, "--skip-bad-rows"));
    }

    [Fact]
    public async Task Duplicate_json_members_and_subscribers_as_a_string_are_refused()
    {
        var jsonl = await WriteAsync(
            "log.jsonl",
            GoodJson,
            """{"time":"2026-11-02T11:00:00+09:00","clerk":"C7","clerk":"C8","task":"view","outcome":"allowed"}""",
            """{"time":"2026-11-02T11:00:00+09:00","subscriber":"tok1","subscribers":["tok2"],"task":"view","outcome":"allowed"}""",
            """{"time":"2026-11-02T11:00:00+09:00","subscribers":"010-1234-5678","task":"view","outcome":"allowed"}""",
            """{"time":"2026-11-02T11:00:00+09:00","subscribers":"tok1","task":"view","outcome":"allowed"}""");

        var result = await RunAsync("monitor", "replay", jsonl);

        Assert.Equal(
            (3, string.Empty,
                "log.jsonl: line 2: member 'clerk' appears more than once\n" +
                "log.jsonl: line 3: members 'subscriber' and 'subscribers' are both given; give one\n" +
                "log.jsonl: line 4: member 'subscribers' must be an array of subscriber tokens (or give 'subscriber' with tokens separated by ';')\n" +
                "log.jsonl: line 5: member 'subscribers' must be an array of subscriber tokens (or give 'subscriber' with tokens separated by ';')\n" +
                "4 bad rows; nothing replayed (use --skip-bad-rows to replay the good one).\n"),
            result);
        AssertNoPersonalData(result);
    }

    [Theory]
    [InlineData("log.csv", "log.csv: the file is empty (no header, no rows); nothing replayed.\n")]
    [InlineData("log.jsonl", "log.jsonl: the file is empty (no rows); nothing replayed.\n")]
    [InlineData("log.ndjson", "log.ndjson: the file is empty (no rows); nothing replayed.\n")]
    public async Task An_empty_file_is_refused_with_exit_3_in_either_format(string name, string expected)
    {
        var file = await WriteAsync(name, string.Empty);

        Assert.Equal((3, string.Empty, expected), await RunAsync("monitor", "replay", file));
    }

    [Fact]
    public async Task A_csv_with_only_its_header_replays_no_rows_and_exits_0()
    {
        var file = await WriteAsync("log.csv", Header);

        Assert.Equal((0, "Replayed 0 rows: 0 alerts, 0 suspensions.\n", string.Empty), await RunAsync("monitor", "replay", file));
    }

    [Fact]
    public async Task Replay_help_lists_every_extension_it_accepts()
    {
        var (code, stdout, _) = await RunAsync("monitor", "replay", "--help");

        Assert.Equal(0, code);
        Assert.Contains("Access log as JSON lines (.jsonl, .json, .ndjson) or CSV (.csv)", stdout.ReplaceLineEndings(" ").Replace("  ", " ", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    private static void AssertNoPersonalData((int Code, string Stdout, string Stderr) result)
    {
        foreach (var value in PersonalData)
        {
            Assert.DoesNotContain(value, result.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain(value, result.Stderr, StringComparison.Ordinal);
        }
    }

    private async Task<string> WriteAsync(string name, params string[] lines)
    {
        var path = Path.Combine(_dir.FullName, name);
        await File.WriteAllTextAsync(path, lines is [""] ? string.Empty : string.Join('\n', lines) + "\n");
        return path;
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var (code, stdout, stderr) = await CliCapture.RunAsync(args);
        return (code, stdout.ReplaceLineEndings("\n"), stderr.ReplaceLineEndings("\n"));
    }
}
