using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Custodian.Cli;
using Custodian.Hosting;
using Custodian.Ledger;
using Custodian.Ledger.Checkpoints;
using Custodian.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using OverlongLineFilter = Custodian.Protection.Import.OverlongLineFilter;

namespace Custodian.Tests.Cli;

/// <summary>
/// What a new user's tryout found, each through the real command line (its own process where the environment or a signal
/// matters): misspelt settings, an over-long CSV line, Ctrl-C and SIGTERM during an import, the enrollment command's
/// port, an incident without scope, and the README's exit-code table.
/// </summary>
[Collection(nameof(CliCollection))]
public sealed partial class CliTryoutTests : IDisposable
{
    private static readonly Dictionary<string, string> NoEnvironment = [];

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-cli-tryout-");

    private string Data => Path.Combine(_dir.FullName, "data");

    public static TheoryData<string, string, string> MisspeltSettings => new()
    {
        { "Custodian__Gateway__Zone__S001__Networks__0", "Custodian:Gateway:Zone", "Custodian:Gateway:Zones" },
        { "Custodian__Gateway__Zones__S001__Network__0", "Custodian:Gateway:Zones:S001:Network", "Custodian:Gateway:Zones:S001:Networks" },
        { "Custodian__TerminalPrt", "Custodian:TerminalPrt", "Custodian:TerminalPort" },
        { "Custodian__Masking__Phones", "Custodian:Masking:Phones", "Custodian:Masking:Phone" },
        { "Custodian__Detection__StoreOpen", "Custodian:Detection:StoreOpen", "Custodian:Detection:StoreOpens" },
        { "Custodian__OfficerDevices__Stores__first", "Custodian:OfficerDevices:Stores:first", "Custodian:OfficerDevices:Stores:0" },
    };

    [Theory]
    [MemberData(nameof(MisspeltSettings))]
    public async Task A_misspelt_setting_stops_serve_before_anything_is_created_naming_the_nearest_valid_one(string variable, string key, string nearest)
    {
        var (exit, output, error) = await CliProcess.RunAsync(
            new Dictionary<string, string> { [variable] = "10.9.8.7/32" },
            "serve", "--data", Data, "--terminal-port", "0", "--portal-port", "0");

        Assert.Equal(2, exit);
        Assert.Equal($"error: invalid configuration: unknown setting {key} (environment variable {key.Replace(":", "__", StringComparison.Ordinal)}); did you mean {nearest}?", error.TrimEnd('\n'));
        Assert.Empty(output);
        Assert.DoesNotContain("10.9.8.7", error, StringComparison.Ordinal); // the value is never echoed
        Assert.False(Directory.Exists(Data));
    }

    public static TheoryData<string, string, string> RefusedAtStart => new()
    {
        {
            "Custodian__Masking__Phone", "Middle",
            "error: The configured masking policy (name=first-and-last;rrn=7;phone=middle;address=2) differs from the one this data directory shows (name=first-and-last;rrn=7;phone=last-four;address=2). Two masks of the same value combine to reveal it; to change the policy on purpose, run 'custodian masking adopt' with the new configuration."
        },
        { "CUSTODIAN_MASTER_KEY", "AAAA", "error: The environment variable CUSTODIAN_MASTER_KEY must be base64 of exactly 32 bytes." },
    };

    [Theory]
    [MemberData(nameof(RefusedAtStart))]
    public async Task A_setting_refused_while_the_server_starts_is_the_only_output(string variable, string value, string expected)
    {
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["masking", "adopt", "--data", Data])); // as a first serve records it

        var (exit, output, error) = await CliProcess.RunAsync(
            new Dictionary<string, string> { [variable] = value },
            "serve", "--data", Data, "--terminal-port", "0", "--portal-port", "0");

        Assert.Equal(2, exit);
        Assert.Equal(expected + "\n", error);
        Assert.Empty(output); // no start-up log line (such as "warn: ... Network zones are off") before or beside it
    }

    public static TheoryData<string, string> SingleValuesWhereASectionIsExpected => new()
    {
        {
            "Custodian:Gateway:Zones:0",
            "Custodian:Gateway:Zones:0 (environment variable Custodian__Gateway__Zones__0) must be a zone, not a single value: it is set as Custodian__Gateway__Zones__STORE__Networks__0 = a CIDR network, STORE being the store code (docs/access.md)"
        },
        {
            "Custodian:Gateway:Zones",
            "Custodian:Gateway:Zones (environment variable Custodian__Gateway__Zones) must be the zones by store code, not a single value: it is set as Custodian__Gateway__Zones__STORE__Networks__0 = a CIDR network, STORE being the store code (docs/access.md)"
        },
        {
            "Custodian:Gateway:Zones:S001:Networks",
            "Custodian:Gateway:Zones:S001:Networks (environment variable Custodian__Gateway__Zones__S001__Networks) must be a list, not a single value: it is set as Custodian__Gateway__Zones__S001__Networks__0 = a CIDR network (docs/access.md)"
        },
        {
            "Custodian:Gateway:VdiNetworks",
            "Custodian:Gateway:VdiNetworks (environment variable Custodian__Gateway__VdiNetworks) must be a list, not a single value: it is set as Custodian__Gateway__VdiNetworks__0 = a CIDR network (docs/access.md)"
        },
        {
            "Custodian:Gateway:TaskClasses:unmask",
            "Custodian:Gateway:TaskClasses:unmask (environment variable Custodian__Gateway__TaskClasses__unmask) must be a list of trust classes, not a single value: it is set as Custodian__Gateway__TaskClasses__TASK__0 = a trust class, TASK being a ledger task name (unmask, export, download, view, search) (docs/access.md)"
        },
        {
            "Custodian:OfficerDevices:Stores",
            "Custodian:OfficerDevices:Stores (environment variable Custodian__OfficerDevices__Stores) must be a list, not a single value: it is set as Custodian__OfficerDevices__Stores__0 = a store code (docs/access.md)"
        },
        {
            "Custodian:Detection:WatchList",
            "Custodian:Detection:WatchList (environment variable Custodian__Detection__WatchList) must be a list, not a single value: it is set as Custodian__Detection__WatchList__0 = a subscriber ID (docs/monitoring.md)"
        },
        {
            "Custodian:ServerNames",
            "Custodian:ServerNames (environment variable Custodian__ServerNames) must be a list, not a single value: it is set as Custodian__ServerNames__0 = a host name (the README's Configuration table)"
        },
        {
            "Custodian:Masking",
            "Custodian:Masking (environment variable Custodian__Masking) must be a section, not a single value: it is set as Custodian__Masking__Name (the README's Configuration table)"
        },
    };

    [Theory]
    [MemberData(nameof(SingleValuesWhereASectionIsExpected))]
    public void A_single_value_where_a_section_or_list_is_expected_is_refused_naming_what_it_takes(string key, string expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new(key, "10.9.8.7/32")]).Build();

        Assert.Equal(expected, ConfigurationKeys.FindUnknown(configuration));
    }

    [Fact]
    public async Task A_zone_given_as_a_single_value_stops_serve_before_anything_is_created()
    {
        var (exit, output, error) = await CliProcess.RunAsync(
            new Dictionary<string, string> { ["Custodian__Gateway__Zones__0"] = "10.9.8.7/32" },
            "serve", "--data", Data, "--terminal-port", "0", "--portal-port", "0");

        Assert.Equal(2, exit);
        Assert.Equal(
            "error: invalid configuration: Custodian:Gateway:Zones:0 (environment variable Custodian__Gateway__Zones__0) must be a zone, not a single value: it is set as Custodian__Gateway__Zones__STORE__Networks__0 = a CIDR network, STORE being the store code (docs/access.md)",
            error.TrimEnd('\n'));
        Assert.Empty(output);
        Assert.DoesNotContain("10.9.8.7", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Data));
    }

    [Fact]
    public async Task Sample_says_a_second_population_needs_another_seed_and_ends_its_progress_at_100_percent()
    {
        var (exit, help, _) = await CliProcess.RunAsync(NoEnvironment, "sample", "--help");
        Assert.Equal(0, exit);
        Assert.Contains(
            "Random seed (default 1); the same seed gives the same population. A second population for the same database needs another seed, and even then a few phone numbers can collide with the first: import reports each as a bad row (phone: must be unique).",
            Regex.Replace(help, @"\s+", " "),
            StringComparison.Ordinal);
        var readme = File.ReadAllText(Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "README.md")));
        Assert.Contains("fails\n#    every row (\"phone: must be unique\"): give it another seed (--seed 2).", readme, StringComparison.Ordinal);

        var csv = Path.Combine(_dir.FullName, "s.csv");
        var (written, output, error) = await CliProcess.RunAsync(NoEnvironment, "sample", "--subscribers", "3", "--out", csv); // output not a terminal

        Assert.Equal((0, string.Empty), (written, error));
        var stores = Path.Combine(_dir.FullName, "stores.csv");
        Assert.EndsWith(
            $"Generating subscribers: 100%\nWrote 3 subscribers to {csv}\nWrote the areas of 5 stores to {stores} (load them with 'custodian stores import')\n",
            output,
            StringComparison.Ordinal);
        Assert.Single(output.Split('\n'), l => l.Contains("100%", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_misspelt_setting_also_stops_the_administrative_verbs()
    {
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));

        var (exit, _, error) = await CliProcess.RunAsync(new Dictionary<string, string> { ["Custodian__Storag"] = "postgres://db1/custodian" }, "staff", "list", "--data", Data);

        Assert.Equal(2, exit);
        Assert.Equal("error: invalid configuration: unknown setting Custodian:Storag (environment variable Custodian__Storag); did you mean Custodian:Storage?", error.TrimEnd('\n'));
    }

    [Fact]
    public void Every_setting_the_docs_name_is_known()
    {
        var root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));
        var text = string.Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Append(Path.Combine(root, "README.md")).Select(File.ReadAllText));
        var names = SettingName().Matches(text).Select(m => m.Value.TrimEnd('_')).Where(n => n.Length > "Custodian__".Length).Distinct(StringComparer.Ordinal).ToList();

        Assert.True(names.Count >= 40, $"found only {names.Count} settings in the docs");
        foreach (var name in names)
        {
            // no value: a name such as Custodian__Gateway__Zones is a section, and a single value there is refused (below)
            var configuration = new ConfigurationBuilder().AddInMemoryCollection([new(name.Replace("__", ":", StringComparison.Ordinal), null)]).Build();
            Assert.True(ConfigurationKeys.FindUnknown(configuration) is null, $"{name}: {ConfigurationKeys.FindUnknown(configuration)}");
        }
    }

    [Fact]
    public async Task An_over_long_line_is_one_bad_row_by_line_number_and_the_later_rows_are_imported()
    {
        var csv = await SampleWithOverlongLineAsync(rows: 20, overlongAt: 3);
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));

        var (exit, output, error) = await CliProcess.RunAsync(NoEnvironment, "import", csv, "--mode", "skip-bad-rows", "--data", Data);

        Assert.Equal(3, exit);
        Assert.Equal("line 3: row: must be at most 65536 bytes; the line was skipped and the lines after it were read", error.TrimEnd('\n'));
        Assert.Contains("Imported 20 of 21 rows.", output, StringComparison.Ordinal);
        Assert.DoesNotContain("OVERLONG", output + error, StringComparison.Ordinal);
        Assert.Equal(20, await CountSubscribersAsync(Data));
        var entry = await LastEntryAsync(Data);
        Assert.Equal((AccessTask.Insert, "import of 20 subscribers (1 rows rejected, mode skip-bad-rows)"), (entry.Task, entry.Reason));
    }

    [Fact]
    public async Task A_header_only_import_is_recorded_as_an_allowed_import_of_0_subscribers_not_a_denial()
    {
        var csv = Path.Combine(_dir.FullName, "subscribers.csv");
        Assert.Equal(0, await CustodianCli.RunAsync(["sample", "--subscribers", "3", "--out", csv]));
        var header = Path.Combine(_dir.FullName, "hdr.csv");
        await File.WriteAllLinesAsync(header, [File.ReadLines(csv).First()]);
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));

        var (exit, output, error) = await CliProcess.RunAsync(NoEnvironment, "import", header, "--data", Data);

        Assert.Equal(0, exit);
        Assert.Contains("Imported 0 of 0 rows.", output, StringComparison.Ordinal);
        Assert.Empty(error);
        var entry = await LastEntryAsync(Data);
        Assert.Equal(
            (AccessTask.Insert, AccessOutcome.Allowed, (string?)null, "import of 0 subscribers (0 rows rejected, mode all-or-nothing)"),
            (entry.Task, entry.Outcome, entry.ErrorCode, entry.Reason));
    }

    [Fact]
    public async Task An_over_long_line_rolls_an_all_or_nothing_import_back_and_says_so()
    {
        var csv = await SampleWithOverlongLineAsync(rows: 20, overlongAt: 2);
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));

        var (exit, _, error) = await CliProcess.RunAsync(NoEnvironment, "import", csv, "--data", Data);

        Assert.Equal(3, exit);
        Assert.Equal(
            "line 2: row: must be at most 65536 bytes; the line was skipped and the lines after it were read\n"
            + "error: 1 bad row; the import was rolled back and nothing was imported (all-or-nothing). Fix them or use --mode skip-bad-rows.",
            error.TrimEnd('\n'));
        Assert.Equal(0, await CountSubscribersAsync(Data));
    }

    [Fact]
    public async Task Ctrl_c_during_a_skip_bad_rows_import_keeps_the_committed_batches_records_them_and_exits_130()
    {
        var csv = Path.Combine(_dir.FullName, "subscribers.csv");
        Assert.Equal(0, await CustodianCli.RunAsync(["sample", "--subscribers", "150000", "--out", csv]));
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));

        using var import = CliProcess.StartWithDefaultSigint("import", csv, "--mode", "skip-bad-rows", "--data", Data);
        var stderr = import.StandardError.ReadToEndAsync();
        var stdout = import.StandardOutput.ReadToEndAsync();
        await WaitUntilAsync(import, async () => await CountSubscribersAsync(Data) >= 5_000); // a batch is committed
        CliProcess.Signal(import, "INT");
        await CliProcess.WaitForExitAsync(import);

        var kept = await CountSubscribersAsync(Data);
        Assert.Equal(130, import.ExitCode);
        Assert.True(kept is > 0 and < 150_000 && kept % 5_000 == 0, $"kept {kept}");
        var error = (await stderr).TrimEnd('\n');
        Assert.Matches(
            $"^error: interrupted by SIGINT after [0-9,]+ rows read: kept {kept.ToString("N0", CultureInfo.InvariantCulture)} subscribers imported in completed batches \\(skip-bad-rows\\); the batch in progress was rolled back and the rest of the file was not imported\\.$",
            error);
        Assert.DoesNotContain("Imported", await stdout, StringComparison.Ordinal);
        var entry = await LastEntryAsync(Data);
        Assert.Equal((AccessTask.Insert, AccessOutcome.Allowed), (entry.Task, entry.Outcome));
        Assert.Matches($"^import of {kept} subscribers \\(0 rows rejected, mode skip-bad-rows, interrupted by SIGINT after [0-9,]+ rows read\\)$", entry.Reason);
    }

    [Fact]
    public async Task Sigterm_during_an_all_or_nothing_import_rolls_back_says_so_and_exits_143()
    {
        var csv = Path.Combine(_dir.FullName, "subscribers.csv");
        Assert.Equal(0, await CustodianCli.RunAsync(["sample", "--subscribers", "150000", "--out", csv]));
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));

        using var import = CliProcess.StartWithDefaultSigint("import", csv, "--data", Data);
        var stderr = import.StandardError.ReadToEndAsync();
        var stdout = new StringBuilder();
        import.OutputDataReceived += (_, e) => { lock (stdout) { stdout.AppendLine(e.Data); } };
        import.BeginOutputReadLine();
        await WaitUntilAsync(import, () => Task.FromResult(Progressed().IsMatch(Locked(stdout)))); // the progress shows rows read, e.g. "Importing: 26%"
        CliProcess.Signal(import, "TERM");
        await CliProcess.WaitForExitAsync(import);

        Assert.Equal(143, import.ExitCode);
        Assert.Matches("^error: interrupted by SIGTERM after [0-9,]+ rows read: the import was rolled back; nothing was imported \\(all-or-nothing\\)\\.$", (await stderr).TrimEnd('\n'));
        Assert.Equal(0, await CountSubscribersAsync(Data));
        var entry = await LastEntryAsync(Data);
        Assert.Equal((AccessTask.Insert, AccessOutcome.Denied), (entry.Task, entry.Outcome));
        Assert.Matches("^import of 0 subscribers \\(0 rows rejected, mode all-or-nothing, interrupted by SIGTERM after [0-9,]+ rows read\\)$", entry.Reason);
    }

    [Fact]
    public async Task Terminals_enroll_prints_the_configured_port_not_7443()
    {
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));

        var configured = await CliProcess.RunAsync(new Dictionary<string, string> { ["Custodian__TerminalPort"] = "9443" }, "terminals", "enroll", "--store", "S001", "--name", "counter-1", "--data", Data);
        await File.WriteAllTextAsync(Path.Combine(Data, "terminal-url"), "https://127.0.0.1:18443\n"); // as 'serve --terminal-port 18443' records it
        var recorded = await CliProcess.RunAsync(NoEnvironment, "terminals", "enroll", "--store", "S001", "--name", "counter-2", "--data", Data);
        var given = await CliProcess.RunAsync(NoEnvironment, "terminals", "enroll", "--store", "S001", "--name", "counter-3", "--server", "https://custodian.example:8443", "--data", Data);

        Assert.Equal((0, 0, 0), (configured.Exit, recorded.Exit, given.Exit));
        Assert.Contains("  custodian terminal init --server https://127.0.0.1:9443 --code ", configured.Output, StringComparison.Ordinal);
        Assert.Contains("  custodian terminal init --server https://127.0.0.1:18443 --code ", recorded.Output, StringComparison.Ordinal);
        Assert.Contains("  custodian terminal init --server https://custodian.example:8443 --code ", given.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("7443", configured.Output + recorded.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_records_the_port_it_listens_on_for_terminals_enroll()
    {
        using var serve = CliProcess.StartWithDefaultSigint("serve", "--data", Data, "--terminal-port", "0", "--portal-port", "0");
        var stdout = new StringBuilder();
        serve.OutputDataReceived += (_, e) => { lock (stdout) { stdout.AppendLine(e.Data); } };
        serve.BeginOutputReadLine();
        string Seen() { lock (stdout) { return stdout.ToString(); } }
        await WaitUntilAsync(serve, () => Task.FromResult(Seen().Contains("Press Ctrl+C to stop.", StringComparison.Ordinal)));
        var url = TerminalApi().Match(Seen()).Groups[1].Value;
        CliProcess.Signal(serve, "INT");
        await CliProcess.WaitForExitAsync(serve);

        Assert.StartsWith("https://127.0.0.1:", url, StringComparison.Ordinal);
        Assert.Equal(url.TrimEnd('/') + "\n", await File.ReadAllTextAsync(Path.Combine(Data, "terminal-url")));
        var (exit, output, _) = await CliProcess.RunAsync(NoEnvironment, "terminals", "enroll", "--store", "S001", "--name", "counter-1", "--data", Data);
        Assert.Equal(0, exit);
        Assert.Contains($"  custodian terminal init --server {url.TrimEnd('/')} --code ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Incident_declare_refuses_no_scope_and_a_future_end_in_one_line()
    {
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        var future = DateTimeOffset.UtcNow.AddDays(2).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

        var noScope = await CliCapture.RunAsync(["incident", "declare", "--title", "tryout", "--data", Data]);
        var futureEnd = await CliCapture.RunAsync(["incident", "declare", "--title", "tryout", "--store", "S001", "--from", "2026-11-01", "--to", future, "--data", Data]);
        var list = await CliCapture.RunAsync(["incident", "list", "--data", Data]);

        Assert.Equal((1, "error: incident declare needs a scope: give at least one --clerk, --terminal, --store, --detector or --alert."), (noScope.Code, noScope.Stderr.TrimEnd('\n')));
        Assert.Equal((1, "error: --to: must not be in the future (the window ends at the latest now; widen it later with 'incident scope')."), (futureEnd.Code, futureEnd.Stderr.TrimEnd('\n')));
        Assert.Equal(0, list.Code);
        Assert.DoesNotContain("tryout", list.Stdout, StringComparison.Ordinal);
    }

    /// <summary>One case per row of the README's exit-code table (README.md, "CLI exit codes").</summary>
    [Fact]
    public async Task Each_row_of_the_exit_code_table_holds()
    {
        // 0: success. A header with no rows imports nothing and succeeds.
        var csv = Path.Combine(_dir.FullName, "subscribers.csv");
        Assert.Equal(0, await CustodianCli.RunAsync(["sample", "--subscribers", "3", "--out", csv]));
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        var headerOnly = Path.Combine(_dir.FullName, "header-only.csv");
        await File.WriteAllTextAsync(headerOnly, (await File.ReadAllLinesAsync(csv))[0] + "\n");
        Assert.Equal(0, (await CliCapture.RunAsync(["import", headerOnly, "--data", Data])).Code);

        // 1: usage or bad argument.
        Assert.Equal((1, "error: --mode must be one of: all-or-nothing, skip-bad-rows"), Line(await CliCapture.RunAsync(["import", csv, "--mode", "row-wise", "--data", Data])));
        var receipt = Path.Combine(_dir.FullName, "receipt.json");
        await File.WriteAllTextAsync(receipt, "{\"sequence\":1}");
        var logKey = NoteSigningKey.Generate("custodian/tryout", NoteAlgorithms.Ed25519).Verifier.ToString();
        var against = await CliCapture.RunAsync(["ledger", "verify", "--against", receipt, "--log-key", logKey, "--data", Data]);
        Assert.Equal(1, against.Code);
        Assert.StartsWith("error: --against is not a signed checkpoint file: ", against.Stderr, StringComparison.Ordinal);
        Assert.Equal(
            (1, "error: action: must be one of disable-detector, enable-detector, enroll-vdi-host, export-data-set, raise-quota, restore-clerk, restore-terminal."),
            Line(await CliCapture.RunAsync(["approvals", "request", "--action", "frobnicate", "--target", "x", "--reason", "tryout", "--data", Data])));
        var backup = Path.Combine(_dir.FullName, "backup");
        Assert.Equal(0, (await CliCapture.RunAsync(["backup", backup, "--data", Data])).Code);
        var malformedKey = Path.Combine(_dir.FullName, "malformed.key");
        await File.WriteAllTextAsync(malformedKey, "not base64");
        Assert.Equal((1, "error: the master key must be base64 of exactly 32 bytes."), Line(await CliCapture.RunAsync(["restore", backup, "--master-key", malformedKey, "--data", Path.Combine(_dir.FullName, "restored-1")])));
        Assert.False(Directory.Exists(Path.Combine(_dir.FullName, "restored-1")));

        // 2: the operation failed: no data directory; a well-formed master key that does not open the backup.
        Assert.Equal(2, (await CliCapture.RunAsync(["staff", "list", "--data", Path.Combine(_dir.FullName, "none")])).Code);
        var wrongKey = Path.Combine(_dir.FullName, "wrong.key");
        await File.WriteAllTextAsync(wrongKey, Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray()));
        Assert.Equal(2, (await CliCapture.RunAsync(["restore", backup, "--master-key", wrongKey, "--data", Path.Combine(_dir.FullName, "restored-2")])).Code);

        // 3: rows refused, including an import file without the subscriber header (an empty one).
        var empty = Path.Combine(_dir.FullName, "empty.csv");
        await File.WriteAllTextAsync(empty, string.Empty);
        var emptyImport = await CliCapture.RunAsync(["import", empty, "--data", Data]);
        Assert.Equal(3, emptyImport.Code);
        Assert.EndsWith("error: nothing was imported: the file is not a subscriber CSV with the expected header (see above).", emptyImport.Stderr.TrimEnd('\n'), StringComparison.Ordinal);

        // 4: a scraper reading once an hour is not contained within 5 minutes. (130 and 143: the signal tests above.)
        var (simulated, _, simulateError) = await CliProcess.RunAsync(
            NoEnvironment,
            "simulate", "--attack", "scraper", "--minutes", "5", "--scraper-start", "0", "--scraper-interval", "3600", "--stores", "1", "--clerks", "3", "--subscribers", "100", "--expect-containment");
        Assert.Equal((4, "error: containment expected but the attacker was not suspended"), (simulated, simulateError.TrimEnd('\n')));
    }

    [Fact]
    public void The_line_filter_numbers_lines_like_the_csv_reader_and_holds_at_most_one_line()
    {
        using (var filter = new OverlongLineFilter(new StringReader("a\r\nbbbbbb\rc\n\ndddddd"), 5))
        {
            Assert.Equal("a\r\n\u2026\rc\n\n\u2026", filter.ReadToEnd());
            Assert.Equal((false, true, false, false, true), (filter.WasReplaced(1), filter.WasReplaced(2), filter.WasReplaced(3), filter.WasReplaced(4), filter.WasReplaced(5)));
        }

        // 64 MiB on one line, read through a 64 KiB limit: the filter allocates its fixed buffers only.
        using var endless = new RepeatingReader('x', 64 << 20);
        using var bounded = new OverlongLineFilter(endless, 64 * 1024);
        var buffer = new char[4096];
        var before = GC.GetAllocatedBytesForCurrentThread();
        long read = 0;
        for (int n; (n = bounded.Read(buffer)) > 0;)
        {
            read += n;
        }

        Assert.Equal(1, read); // the placeholder
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "the filter allocated per character");
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    private static (int, string) Line((int Code, string Stdout, string Stderr) run) => (run.Code, run.Stderr.TrimEnd('\n'));

    private async Task<string> SampleWithOverlongLineAsync(int rows, int overlongAt)
    {
        var sample = Path.Combine(_dir.FullName, "sample.csv");
        Assert.Equal(0, await CustodianCli.RunAsync(["sample", "--subscribers", rows.ToString(CultureInfo.InvariantCulture), "--out", sample]));
        var lines = (await File.ReadAllLinesAsync(sample)).ToList();
        lines.Insert(overlongAt - 1, string.Concat(Enumerable.Repeat("OVERLONG,", 5 * 1024 * 1024 / 9))); // about 5 MB on one line
        var csv = Path.Combine(_dir.FullName, "with-overlong-line.csv");
        await File.WriteAllLinesAsync(csv, lines);
        return csv;
    }

    private static async Task<long> CountSubscribersAsync(string data)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(data, "custodian.db")};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM subscribers";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<AccessEntry> LastEntryAsync(string data)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(data, "custodian.db")};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT payload FROM ledger_entries ORDER BY seq DESC LIMIT 1";
        return LeafCodec.Decode((byte[])(await command.ExecuteScalarAsync())!);
    }



    private static async Task WaitUntilAsync(Process process, Func<Task<bool>> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        while (!await condition())
        {
            Assert.False(process.HasExited, "the process ended before the condition held");
            await Task.Delay(20, timeout.Token);
        }
    }


    private static string Locked(StringBuilder text)
    {
        lock (text)
        {
            return text.ToString();
        }
    }

    [GeneratedRegex("Importing: [1-9][0-9]?%")]
    private static partial Regex Progressed();

    [GeneratedRegex("Custodian__[A-Za-z0-9_]+")]
    private static partial Regex SettingName();

    [GeneratedRegex("Terminal API: (https://[^ ]+)")]
    private static partial Regex TerminalApi();

    /// <summary>A reader of <c>count</c> copies of one character, without a line break, that holds no text in memory.</summary>
    private sealed class RepeatingReader(char c, long length) : TextReader
    {
        private long _left = length;

        public override int Read(Span<char> buffer)
        {
            var n = (int)Math.Min(buffer.Length, _left);
            buffer[..n].Fill(c);
            _left -= n;
            return n;
        }

        public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));
    }
}
