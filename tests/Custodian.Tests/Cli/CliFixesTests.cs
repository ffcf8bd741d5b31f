using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using Custodian.Cli;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;

namespace Custodian.Tests.Cli;

/// <summary>
/// Defects a first-time user met following the README: backup paths, owner-only output files, one-line parse errors,
/// exit codes of bad inputs, and messages of repeated or unknown staff accounts (README.md, "CLI exit codes").
/// </summary>
[Collection(nameof(CliCollection))]
public sealed partial class CliFixesTests : IDisposable
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-cli-fixes-");

    private string Data => Path.Combine(_dir.FullName, "data");

    public static TheoryData<string[], string> ParseErrors => new()
    {
        { ["frobnicate"], "error: unknown command 'frobnicate' (run 'custodian --help')" },
        { [], "error: 'custodian' needs a command (run 'custodian --help')" },
        { ["staff"], "error: 'custodian staff' needs a command (run 'custodian staff --help')" },
        { ["ledger", "witnesses"], "error: 'custodian ledger witnesses' needs a command (run 'custodian ledger witnesses --help')" },
        { ["staff", "frobnicate"], "error: unknown command 'frobnicate' (run 'custodian staff --help')" },
        { ["staff", "list", "--frob"], "error: unknown option '--frob' for 'custodian staff list' (run 'custodian staff list --help')" },
        { ["outbox", "list", "010-1234-5678"], "error: unexpected argument for 'custodian outbox list' (run 'custodian outbox list --help')" },
        { ["staff", "import", "feed.csv", "--mode", "foo"], "error: --mode must be one of: all-or-nothing, row-wise" },
        { ["staff", "add", "--id", "C0001", "--role", "janitor"], "error: --role must be one of: clerk, store-manager, security-officer, privacy-officer" },
        { ["sample", "--subscribers", "99999999999"], "error: --subscribers must be a whole number from 1 to 20,000,000" },
        { ["sample", "--subscribers", "many"], "error: --subscribers must be a whole number from 1 to 20,000,000" },
        { ["sample", "--subscribers", "-5"], "error: --subscribers must be a whole number from 1 to 20,000,000" }, // out of range: the same words
        { ["outbox", "list", "--last", "0"], "error: --last must be a whole number from 1 to 1,000" },
        { ["outbox", "list", "--last", "abc"], "error: --last must be a whole number from 1 to 1,000" },
        { ["ledger", "receipt", "--sequence", "x"], "error: --sequence must be a whole number from 0 to 9,223,372,036,854,775,807" },
        { ["ledger", "receipt"], "error: Option '--sequence' is required." },
        { ["evaluate", "--seed", "abc"], "error: --seed must be a whole number from -2147483648 to 2147483647" }, // a repeatable option
    };

    [Theory]
    [MemberData(nameof(ParseErrors))]
    public async Task A_parse_error_is_one_plain_line_and_exit_1(string[] args, string expected)
    {
        var (code, _, stderr) = await RunAsync(args);

        Assert.Equal(1, code);
        Assert.Equal(expected, stderr.TrimEnd('\n'));
    }

    [Fact]
    public async Task Backup_checks_its_output_directory_like_every_other_output_path()
    {
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        var file = Path.Combine(_dir.FullName, "a-file");
        await File.WriteAllTextAsync(file, "x");

        var missing = await RunAsync(["backup", Path.Combine(_dir.FullName, "missing", "bk"), "--data", Data]);
        var existingFile = await RunAsync(["backup", file, "--data", Data]);

        Assert.Equal(1, missing.Code);
        Assert.Equal($"error: <out>: the directory to create it in does not exist (create it first): {Path.Combine(_dir.FullName, "missing")}", missing.Stderr.TrimEnd('\n'));
        Assert.False(Directory.Exists(Path.Combine(_dir.FullName, "missing")));
        Assert.Equal(1, existingFile.Code);
        Assert.Equal($"error: <out> must name a directory, not a file: {file}", existingFile.Stderr.TrimEnd('\n'));
        Assert.Equal("x", await File.ReadAllTextAsync(file));
        Assert.Equal(1, await CustodianCli.RunAsync(["restore", _dir.FullName, "--data", Path.Combine(_dir.FullName, "missing", "restored")]));
        Assert.False(Directory.Exists(Path.Combine(_dir.FullName, "missing")));
    }

    [Fact]
    public async Task Enrolling_a_terminal_again_says_its_earlier_code_is_now_void()
    {
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));

        var first = await RunAsync(["terminals", "enroll", "--store", "S001", "--name", "counter-1", "--data", Data]);
        var second = await RunAsync(["terminals", "enroll", "--store", "S001", "--name", "counter-1", "--data", Data]);
        var other = await RunAsync(["terminals", "enroll", "--store", "S001", "--name", "counter-2", "--data", Data]);

        Assert.Equal((0, 0, 0), (first.Code, second.Code, other.Code));
        var expires = EnrollmentCodeLine().Match(first.Stdout).Groups[1].Value;
        Assert.NotEmpty(expires);
        Assert.Equal(
            [$"The earlier code for S001-counter-1 (it would have expired {expires}) is now void: only the code above enrolls the terminal."],
            second.Stdout.Split('\n').Where(l => l.Contains("void", StringComparison.Ordinal)));
        Assert.Matches(EnrollmentCodeLine(), second.Stdout.Split('\n')[0]); // the new code first, then the line about the earlier one
        Assert.DoesNotContain("void", first.Stdout + other.Stdout, StringComparison.Ordinal); // a first code voids nothing
    }

    [Fact]
    [UnsupportedOSPlatform("windows")] // Custodian runs on Linux hosts; the modes are Unix file modes
    public async Task Backup_creates_every_folder_0700_and_every_file_0600_plain_included()
    {
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        var backup = Path.Combine(_dir.FullName, "bk");

        Assert.Equal(0, await CustodianCli.RunAsync(["backup", backup, "--data", Data]));

        const UnixFileMode OwnerOnlyFolder = OwnerOnly | UnixFileMode.UserExecute;
        Assert.Equal(OwnerOnlyFolder, File.GetUnixFileMode(Path.Combine(backup, "plain"))); // was 0755: created as the parent of plain/ca
        Assert.Equal(OwnerOnlyFolder, File.GetUnixFileMode(Path.Combine(backup, "plain", "ca")));
        var folders = Directory.GetDirectories(backup, "*", SearchOption.AllDirectories).Append(backup).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(folders.Select(f => (f, OwnerOnlyFolder)), folders.Select(f => (f, File.GetUnixFileMode(f))));
        var files = Directory.GetFiles(backup, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        Assert.Contains(Path.Combine(backup, "plain", "ca", "ca.crt"), files);
        Assert.Equal(files.Select(f => (f, OwnerOnly)), files.Select(f => (f, File.GetUnixFileMode(f))));
    }

    [Fact]
    [UnsupportedOSPlatform("windows")] // Custodian runs on Linux hosts; the modes are Unix file modes
    public async Task Files_the_verbs_write_are_owner_only()
    {
        var subscribers = Path.Combine(_dir.FullName, "subscribers.csv");
        Assert.Equal(0, await CustodianCli.RunAsync(["sample", "--subscribers", "3", "--clerks", "2", "--out", subscribers]));
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        var declared = await RunAsync(["incident", "declare", "--title", "test", "--store", "S001", "--data", Data]);
        Assert.Equal(0, declared.Code);
        var id = IncidentId().Match(declared.Stdout).Value;
        var report = Path.Combine(_dir.FullName, "report.md");
        var chart = Path.Combine(_dir.FullName, "chart.svg");
        Assert.Equal(0, await CustodianCli.RunAsync(["incident", "report", id, "--out", report, "--svg", chart, "--data", Data]));

        foreach (var written in new[] { subscribers, Path.Combine(_dir.FullName, "staff.csv"), report, chart })
        {
            Assert.Equal((written, OwnerOnly), (written, File.GetUnixFileMode(written)));
        }

        Assert.Equal(4, File.ReadAllLines(subscribers).Length); // header and three rows
        Assert.Equal(["account,role,store", "C0001,clerk,S001", "C0002,clerk,S002"], await File.ReadAllLinesAsync(Path.Combine(_dir.FullName, "staff.csv")));
        Assert.Empty(_dir.GetFiles(".*.partial"));
    }

    [Fact]
    [UnsupportedOSPlatform("windows")] // Custodian runs on Linux hosts; the modes are Unix file modes
    public async Task A_private_text_file_replaces_an_existing_one_and_is_owner_only()
    {
        var path = Path.Combine(_dir.FullName, "receipt.json");
        await File.WriteAllTextAsync(path, "old");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        await CliFiles.WritePrivateTextAsync(path, "{\"é\":1}\n");

        Assert.Equal("{\"é\":1}\n"u8.ToArray(), await File.ReadAllBytesAsync(path)); // UTF-8, no byte-order mark
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(path));
    }

    [Fact]
    public async Task A_blank_CUSTODIAN_DATA_is_refused_in_one_line_naming_the_variable()
    {
        var run = await CliProcess.RunAsync(new Dictionary<string, string> { ["CUSTODIAN_DATA"] = "  " }, "staff", "list");

        Assert.Equal((1, string.Empty, "error: CUSTODIAN_DATA is blank: set it to the data directory, or unset it for ./custodian-data"), (run.Exit, run.Output, run.Error.TrimEnd('\n')));
    }

    [Fact]
    public async Task Bad_input_values_are_usage_errors_checked_before_any_work()
    {
        var notJson = Path.Combine(_dir.FullName, "receipt.json");
        await File.WriteAllTextAsync(notJson, "this is not JSON");
        var log = Ledger.Checkpoints.NoteSigningKey.Generate("custodian/cli-fixes", Ledger.Checkpoints.NoteAlgorithms.Ed25519).Verifier.ToString();

        var receipt = await RunAsync(["verify-receipt", notJson, "--log-key", log]);
        var phone = await RunAsync(["outbox", "list", "--phone", "12345", "--data", Data]);
        var code = await RunAsync(["terminal", "init", "--server", "https://127.0.0.1:1", "--code", "NONE", "--ca-sha256", new string('a', 64), "--out", Path.Combine(_dir.FullName, "terminal")]);

        Assert.Equal((1, $"error: {notJson} is not a receipt file: The receipt is malformed: it is not valid JSON."), (receipt.Code, receipt.Stderr.TrimEnd('\n')));
        foreach (var sequence in new[] { "abc", "-1" })
        {
            // A value that is no number and one out of range get the same line, naming the range the option takes.
            var refused = await RunAsync(["ledger", "receipt", "--sequence", sequence, "--data", Data]);
            Assert.Equal((1, "error: --sequence must be a whole number from 0 to 9,223,372,036,854,775,807"), (refused.Code, refused.Stderr.TrimEnd('\n')));
        }

        Assert.Equal((1, "error: --phone must be a Korean phone number, e.g. 010-1234-5678."), (phone.Code, phone.Stderr.TrimEnd('\n')));
        Assert.Equal(1, code.Code); // the server (port 1, nothing listening) was never contacted: that would be exit 2
        Assert.StartsWith("error: --code must be the 12-character enrollment code", code.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Data));
        Assert.False(Directory.Exists(Path.Combine(_dir.FullName, "terminal")));
    }

    [Fact]
    public async Task Disabling_twice_is_a_no_op_and_an_unknown_clerk_is_refused()
    {
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["staff", "add", "--id", "C9005", "--store", "S001", "--data", Data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["staff", "disable", "C9005", "--data", Data]));

        var again = await RunAsync(["staff", "disable", "C9005", "--data", Data]);
        var unknown = await RunAsync(["staff", "disable", "C9999", "--data", Data]);
        var nope = await RunAsync(["incident", "declare", "--title", "t", "--clerk", "NOPE", "--data", Data]);
        var departed = await RunAsync(["incident", "declare", "--title", "t", "--clerk", "C9005", "--data", Data]);

        Assert.Equal((0, "C9005 is already disabled; nothing changed."), (again.Code, again.Stdout.Trim()));
        Assert.Equal((2, "error: no account 'C9999'."), (unknown.Code, unknown.Stderr.TrimEnd('\n')));
        Assert.Equal((1, "error: --clerk: no staff account 'NOPE' (a departed clerk's account is kept, disabled, so it would be found)."), (nope.Code, nope.Stderr.TrimEnd('\n')));
        Assert.Equal(0, departed.Code); // a departed (disabled) clerk can be in an incident's scope
    }

    [Fact]
    public async Task Incident_declare_refuses_an_unknown_detector_and_a_malformed_terminal_or_store()
    {
        // A README-only evaluation found --detector bogus opened a case with exit 0.
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        var bogus = await RunAsync(["incident", "declare", "--title", "t", "--detector", "bogus", "--data", Data]);
        var badTerminal = await RunAsync(["incident", "declare", "--title", "t", "--terminal", "NOPE x", "--data", Data]);
        var badStore = await RunAsync(["incident", "declare", "--title", "t", "--store", "ZZZ!", "--data", Data]);
        // Well-formed but unregistered terminals and stores are accepted (docs/incidents.md §2: the scope matches the codes
        // the ledger recorded, which outlive registrations, and devices refused at the gateway were never registered).
        var unregistered = await RunAsync(["incident", "declare", "--title", "t", "--terminal", "NOPE-x", "--store", "ZZZ", "--detector", "machine-timing", "--data", Data]);

        Assert.Equal((1, "error: --detector: each must be one of baseline, collusion, distinct-subjects, enumeration, household, identity, machine-timing, open-lookups, side-lookups, targeting, watch-list."), (bogus.Code, bogus.Stderr.TrimEnd('\n')));
        Assert.Equal((1, "error: --terminal: at most 100 codes of " + Custodian.Identity.Codes.Rule + "."), (badTerminal.Code, badTerminal.Stderr.TrimEnd('\n')));
        Assert.Equal((1, "error: --store: at most 100 codes of " + Custodian.Identity.Codes.Rule + "."), (badStore.Code, badStore.Stderr.TrimEnd('\n')));
        Assert.Equal(0, unregistered.Code);
        Assert.StartsWith("Declared INC-", unregistered.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_phone_number_or_rrn_given_as_a_filter_or_scope_code_is_refused_before_it_reaches_the_ledger()
    {
        // A README-only evaluation found `review query --clerk 010-9406-2730 --export … --reason …` recorded the number in
        // the export's ledger entry (its target names the criteria; kept for years and sent to the SIEM), and `incident
        // declare --terminal 010-4218-4311` stored it in the case. No account, store or terminal can have that shape.
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        var export = Path.Combine(_dir.FullName, "px.csv");
        var clerk = await RunAsync(["review", "query", "--clerk", "010-9406-2730", "--export", export, "--reason", "audit", "--data", Data]);
        var store = await RunAsync(["review", "query", "--store", "01094062730", "--data", Data]);
        var terminal = await RunAsync(["review", "query", "--terminal", "900101-1234567", "--data", Data]);
        var scopeTerminal = await RunAsync(["incident", "declare", "--title", "t", "--terminal", "010-4218-4311", "--data", Data]);
        var scopeStore = await RunAsync(["incident", "declare", "--title", "t", "--store", "9001011234567", "--data", Data]);
        var wellFormed = await RunAsync(["review", "query", "--clerk", "C0001", "--store", "S010", "--data", Data]);

        Assert.Equal((1, "error: --clerk must not be a phone number or resident registration number."), (clerk.Code, clerk.Stderr.TrimEnd('\n')));
        Assert.Equal((1, "error: --store must not be a phone number or resident registration number."), (store.Code, store.Stderr.TrimEnd('\n')));
        Assert.Equal((1, "error: --terminal must not be a phone number or resident registration number."), (terminal.Code, terminal.Stderr.TrimEnd('\n')));
        Assert.Equal((1, "error: --terminal: each code must not be a phone number or resident registration number."), (scopeTerminal.Code, scopeTerminal.Stderr.TrimEnd('\n')));
        Assert.Equal((1, "error: --store: each code must not be a phone number or resident registration number."), (scopeStore.Code, scopeStore.Stderr.TrimEnd('\n')));
        Assert.Equal((0, "No entries match these filters."), (wellFormed.Code, wellFormed.Stdout.Trim()));
        Assert.False(File.Exists(export));
        var database = await File.ReadAllBytesAsync(Path.Combine(Data, "custodian.db"));
        foreach (var digits in new[] { "9406", "4218" })
        {
            Assert.Equal(-1, database.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(digits)));
        }
    }

    [Fact]
    public async Task An_output_path_that_is_a_named_pipe_or_a_link_to_one_is_refused_and_left_as_it_was()
    {
        // A README-only evaluation found `review --month … --out FIFO` (and, as root, `--out /dev/full`) replaced the node
        // with a regular file: the report is written beside the path and renamed over it.
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        var fifo = Path.Combine(_dir.FullName, "p1");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [fifo]))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        var link = Path.Combine(_dir.FullName, "to-p1");
        File.CreateSymbolicLink(link, fifo);
        var regular = Path.Combine(_dir.FullName, "old.json");
        await File.WriteAllTextAsync(regular, "old");
        var month = DateTimeOffset.UtcNow.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);

        var toFifo = await RunAsync(["review", "--month", month, "--out", fifo, "--data", Data]);
        var toLink = await RunAsync(["review", "--month", month, "--out", link, "--data", Data]);
        var toRegular = await RunAsync(["review", "--month", month, "--out", regular, "--data", Data]);

        Assert.Equal((1, $"error: --out must name a regular file (it would be replaced, not written to), not a device, named pipe or socket: {fifo}"), (toFifo.Code, toFifo.Stderr.TrimEnd('\n')));
        Assert.Equal((1, $"error: --out must name a regular file (it would be replaced, not written to), not a device, named pipe or socket: {link}"), (toLink.Code, toLink.Stderr.TrimEnd('\n')));
        Assert.Equal(0, toRegular.Code); // an existing regular file is replaced, as before
        Assert.StartsWith("{", await File.ReadAllTextAsync(regular), StringComparison.Ordinal);
        Assert.Equal(0, new FileInfo(fifo).Length); // still the pipe: a replaced one would hold the report
        Assert.Equal(fifo, new FileInfo(link).LinkTarget);
        Assert.Equal([regular, fifo, link], Directory.GetFiles(_dir.FullName).Order(StringComparer.Ordinal).ToArray()); // no temporary file left
    }

    [Fact]
    public async Task Revoking_twice_is_a_no_op_and_an_unknown_terminal_is_refused()
    {
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["terminals", "enroll", "--store", "S001", "--name", "counter-1", "--data", Data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["terminals", "revoke", "S001-counter-1", "--data", Data]));

        var again = await RunAsync(["terminals", "revoke", "S001-counter-1", "--data", Data]);
        var unknown = await RunAsync(["terminals", "revoke", "S001-counter-9", "--data", Data]);

        Assert.Equal((0, "S001-counter-1 is already revoked; nothing changed."), (again.Code, again.Stdout.Trim()));
        Assert.Equal((2, "error: no active terminal 'S001-counter-9'."), (unknown.Code, unknown.Stderr.TrimEnd('\n')));
    }

    public static TheoryData<string, string, string> BadSettings => new()
    {
        { "Custodian:Review:Cycle", "daily", "Custodian:Review:Cycle has a value that is not allowed" },
        { "Custodian:Review:StoreCloses", "08:00:00", "Custodian:Review:StoreCloses must be after Custodian:Review:StoreOpens" },
        { "Custodian:Retention:Years", "0", "Custodian:Retention:Years must be 2-100" },
        { "Custodian:Gateway:MaxRequestHeaderBytes", "10", "MaxRequestHeaderBytes" },
        { "Custodian:OfficerDevices:Stores:0", "no spaces", "Custodian:OfficerDevices:Stores: every entry must be a store code" },
        { "Custodian:DormantAccounts:Days", "0", "Days" },
        { "Custodian:Siem:BatchSize", "0", "BatchSize" },
        { "Custodian:Checkpoints:IntervalSeconds", "0", "Custodian:Checkpoints:IntervalSeconds must be 1-3600" },
    };

    public static TheoryData<string, string, string> BadSettingsWithDocuments => new()
    {
        { "Custodian:DormantAccounts:Days", "0", "invalid configuration: Custodian:DormantAccounts:Days must be between 1 and 3650 (docs/access.md lists the values; as an environment variable it is Custodian__DormantAccounts__Days)." },
        { "Custodian:DormantAccounts:Interval", "00:00:30", "invalid configuration: Custodian:DormantAccounts:Interval must be between 00:01:00 and 7.00:00:00 (docs/access.md lists the values; as an environment variable it is Custodian__DormantAccounts__Interval)." },
        { "Custodian:Checkpoints:IntervalSeconds", "0", "invalid configuration: Custodian:Checkpoints:IntervalSeconds must be 1-3600 (docs/ledger-format.md lists the values; as an environment variable it is Custodian__Checkpoints__IntervalSeconds)." },
        { "Custodian:Checkpoints:MaxFutureSkewSeconds", "-1", "invalid configuration: Custodian:Checkpoints:MaxFutureSkewSeconds must be 0-86400 (docs/ledger-format.md lists the values; as an environment variable it is Custodian__Checkpoints__MaxFutureSkewSeconds)." },
        { "Custodian:Checkpoints:Origin", "two words", "invalid configuration: Custodian:Checkpoints:Origin must be a name without spaces or '+' (docs/ledger-format.md lists the values; as an environment variable it is Custodian__Checkpoints__Origin)." },
        { "Custodian:Retention:Years", "0", "invalid configuration: Custodian:Retention:Years must be 2-100 (PIPA safety standard Art. 8(1): at least 2 years; docs/review.md lists the values; as an environment variable it is Custodian__Retention__Years)." },
        { "Custodian:Retention:Interval", "00:00:10", "invalid configuration: Custodian:Retention:Interval must be 1 minute to 7 days (docs/review.md lists the values; as an environment variable it is Custodian__Retention__Interval)." },
        { "Custodian:Gateway:MaxRequestHeaderBytes", "10", "invalid configuration: Custodian:Gateway:MaxRequestHeaderBytes must be between 1024 and 32768 (docs/access.md lists the values; as an environment variable it is Custodian__Gateway__MaxRequestHeaderBytes)." },
        { "Custodian:Gateway:StepUpWindow", "00:00:10", "invalid configuration: Custodian:Gateway:StepUpWindow must be between 00:01:00 and 02:00:00 (docs/access.md lists the values; as an environment variable it is Custodian__Gateway__StepUpWindow)." },
        { "Custodian:Gateway:TrustedProxies:0", "not-an-ip", "invalid configuration: Custodian:Gateway:TrustedProxies:0: not an IP address (docs/access.md lists the values; as an environment variable it is Custodian__Gateway__TrustedProxies__0)." },
        { "Custodian:Gateway:VdiNetworks:0", "10.0.0.1/8", "invalid configuration: Custodian:Gateway:VdiNetworks:0: not a CIDR network such as 10.1.0.0/24 (host bits must be zero; docs/access.md lists the values; as an environment variable it is Custodian__Gateway__VdiNetworks__0)." },
        { "Custodian:Review:StoreCloses", "08:00:00", "invalid configuration: Custodian:Review:StoreCloses must be after Custodian:Review:StoreOpens (docs/review.md lists the values; as an environment variable it is Custodian__Review__StoreCloses)." },
        { "Custodian:Review:SignOffHistory", "0", "invalid configuration: Custodian:Review:SignOffHistory must be 1-60 (docs/review.md lists the values; as an environment variable it is Custodian__Review__SignOffHistory)." },
        { "Custodian:OfficerDevices:Stores:0", "no spaces", "invalid configuration: Custodian:OfficerDevices:Stores: every entry must be a store code of 1-64 ASCII letters (A-Z, a-z), digits, '-', '_' or '.', starting with a letter or digit (docs/access.md lists the values; as an environment variable it is Custodian__OfficerDevices__Stores__0)." },
        { "Custodian:Siem:BatchSize", "0", "invalid SIEM export configuration: Custodian:Siem:BatchSize must be between 1 and 10000 (docs/siem.md lists the values; as an environment variable it is Custodian__Siem__BatchSize)." },
        { "Custodian:Siem:TimeoutMs", "99", "invalid SIEM export configuration: Custodian:Siem:TimeoutMs must be between 100 and 300000 (docs/siem.md lists the values; as an environment variable it is Custodian__Siem__TimeoutMs)." },
        { "Custodian:Siem:HostName", "two words", "invalid SIEM export configuration: Custodian:Siem:HostName must be 1-255 printable US-ASCII characters (RFC 5424 6.2.4; docs/siem.md lists the values; as an environment variable it is Custodian__Siem__HostName)." },
        { "Custodian:Siem:Tls", "true", "invalid SIEM export configuration: Custodian:Siem:Tls and Custodian:Siem:CaFile need Custodian:Siem:To (host:port); without it the export is off (docs/siem.md lists the values; as an environment variable it is Custodian__Siem__To)." },
    };

    [Theory]
    [MemberData(nameof(BadSettingsWithDocuments))]
    public void Refusals_of_rule_breaking_settings_name_the_setting_the_document_and_the_variable(string key, string value, string expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new(key, value)]).Build();

        var refused = Assert.Throws<CliException>(() => ServeStartChecks.CheckConfiguration(configuration));

        Assert.Equal(expected, refused.Message);
    }

    public static TheoryData<string[], string> BadListSettings => new()
    {
        { ["Custodian:Gateway:TrustedProxies:0=10.0.0.1", "Custodian:Gateway:TrustedProxies:1=not-an-ip"], "invalid configuration: Custodian:Gateway:TrustedProxies:1: not an IP address (docs/access.md lists the values; as an environment variable it is Custodian__Gateway__TrustedProxies__1)." },
        { ["Custodian:Gateway:VdiNetworks:0=10.1.0.0/24", "Custodian:Gateway:VdiNetworks:1=10.0.0.1/8"], "invalid configuration: Custodian:Gateway:VdiNetworks:1: not a CIDR network such as 10.1.0.0/24 (host bits must be zero; docs/access.md lists the values; as an environment variable it is Custodian__Gateway__VdiNetworks__1)." },
        { ["Custodian:Gateway:TrustedProxyNetworks:0=10.1.0.0/24", "Custodian:Gateway:TrustedProxyNetworks:1=10.1.0.0/24", "Custodian:Gateway:TrustedProxyNetworks:2=10.0.0.1/8"], "invalid configuration: Custodian:Gateway:TrustedProxyNetworks:2: not a CIDR network such as 10.1.0.0/24 (host bits must be zero; docs/access.md lists the values; as an environment variable it is Custodian__Gateway__TrustedProxyNetworks__2)." },
        { ["Custodian:OfficerDevices:Stores:0=HQ", "Custodian:OfficerDevices:Stores:1=no spaces"], "invalid configuration: Custodian:OfficerDevices:Stores: every entry must be a store code of 1-64 ASCII letters (A-Z, a-z), digits, '-', '_' or '.', starting with a letter or digit (docs/access.md lists the values; as an environment variable it is Custodian__OfficerDevices__Stores__1)." },
        { ["Custodian:Gateway:Zones:S001:Hours=09:00-21:00"], "invalid configuration: Custodian:Gateway:Zones:S001:Networks: at least one network (CIDR) is required (docs/access.md lists the values; as environment variables its entries are Custodian__Gateway__Zones__S001__Networks__0, Custodian__Gateway__Zones__S001__Networks__1, …)." },
        { ["Custodian:Gateway:TaskClasses:unmask:0=laptop"], "invalid configuration: Custodian:Gateway:TaskClasses:unmask: list one or more of store-terminal, vdi-host (docs/access.md lists the values; as environment variables its entries are Custodian__Gateway__TaskClasses__unmask__0, Custodian__Gateway__TaskClasses__unmask__1, …)." },
    };

    [Theory]
    [MemberData(nameof(BadListSettings))]
    public void Refusals_of_list_settings_name_the_bad_entrys_variable_or_how_entries_are_given(string[] settings, string expected)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => s.Split('=', 2)).Select(p => new KeyValuePair<string, string?>(p[0], p[1])))
            .Build();

        var refused = Assert.Throws<CliException>(() => ServeStartChecks.CheckConfiguration(configuration));

        Assert.Equal(expected, refused.Message);
    }

    [Fact]
    public void Refusals_of_jetstream_settings_name_the_setting_the_document_and_the_variable()
    {
        var options = new Custodian.Hosting.CustodianOptions { DataDirectory = Data, Events = "nats://127.0.0.1:4222" };
        options.JetStream.Replicas = 7;
        options.JetStream.WorkerLeaseSeconds = 1;

        Assert.Equal(
            [
                "Custodian:JetStream:Replicas must be 1-5 (1 for one nats-server, 3 for a cluster; docs/events.md lists the values; as an environment variable it is Custodian__JetStream__Replicas). "
                + "Custodian:JetStream:WorkerLeaseSeconds must be 2-300 (docs/events.md lists the values; as an environment variable it is Custodian__JetStream__WorkerLeaseSeconds).",
            ],
            Custodian.Hosting.CustodianOptionsValidator.ValidateAll(options));
    }

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void Every_bound_settings_section_is_checked_before_serve_creates_anything(string key, string value, string named)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new(key, value)]).Build();

        var refused = Assert.Throws<CliException>(() => ServeStartChecks.CheckConfiguration(configuration));

        Assert.StartsWith(key.StartsWith("Custodian:Siem:", StringComparison.Ordinal) ? "invalid SIEM export configuration: " : "invalid configuration: ", refused.Message, StringComparison.Ordinal);
        Assert.Contains(named, refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refused.Message);
    }

    [Fact]
    public void Defaults_pass_the_start_checks() =>
        ServeStartChecks.CheckConfiguration(new ConfigurationBuilder().Build());

    public static TheoryData<string, string?> BadStarts => new()
    {
        { "Custodian__Review__Cycle=daily", "error: invalid configuration: Custodian:Review:Cycle has a value that is not allowed: it must be Monthly or Weekly (docs/review.md lists the values; as an environment variable it is Custodian__Review__Cycle)." },
        { "Custodian__TerminalPort=abc", "error: invalid configuration: Custodian:TerminalPort has a value that is not allowed: it must be a whole number from 0 to 65535 (the README's Configuration table lists the values; as an environment variable it is Custodian__TerminalPort)." },
        { "Custodian__Masking__Name=Nope", "error: invalid configuration: Custodian:Masking:Name has a value that is not allowed: it must be FirstAndLast or FirstOnly (the README's Configuration table lists the values; as an environment variable it is Custodian__Masking__Name)." },
        { "Custodian__Events=http://host:4222", "error: invalid configuration: Custodian:Events must be 'embedded' or a nats://host:port or tls://host:port URL (docs/events.md lists the values; as an environment variable it is Custodian__Events)." },
        { "Custodian__Retention__Years=0", "error: invalid configuration: Custodian:Retention:Years must be 2-100 (PIPA safety standard Art. 8(1): at least 2 years; docs/review.md lists the values; as an environment variable it is Custodian__Retention__Years)." },
        { "Custodian__Checkpoints__IntervalSeconds=0", "error: invalid configuration: Custodian:Checkpoints:IntervalSeconds must be 1-3600 (docs/ledger-format.md lists the values; as an environment variable it is Custodian__Checkpoints__IntervalSeconds)." },
        { "Custodian__DormantAccounts__Days=0", "error: invalid configuration: Custodian:DormantAccounts:Days must be between 1 and 3650 (docs/access.md lists the values; as an environment variable it is Custodian__DormantAccounts__Days)." },
        { "Custodian__Siem__BatchSize=0", "error: invalid SIEM export configuration: Custodian:Siem:BatchSize must be between 1 and 10000 (docs/siem.md lists the values; as an environment variable it is Custodian__Siem__BatchSize)." },
        { "Custodian__JetStream__Monitor=workers", "error: invalid configuration: Custodian:JetStream:Monitor 'workers' needs the JetStream event log (Custodian:Events = nats://host:port; docs/events.md lists the values; as an environment variable it is Custodian__JetStream__Monitor)." },
        { "port-in-use", null },
    };

    [Theory]
    [MemberData(nameof(BadStarts))]
    public async Task Serve_refuses_bad_configuration_and_a_busy_port_before_it_creates_or_prints_anything(string setting, string? expected)
    {
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var port = ((IPEndPoint)busy.LocalEndpoint).Port;

        var (code, stdout, stderr) = await RunChildAsync(setting, "serve", "--data", Data, "--terminal-port", setting == "port-in-use" ? port.ToString(System.Globalization.CultureInfo.InvariantCulture) : "0", "--portal-port", "0");

        Assert.Equal(2, code);
        Assert.Equal(string.Empty, stdout); // no officer's one-time password
        Assert.Equal(expected ?? $"error: cannot listen on 127.0.0.1:{port} for the terminal API (--terminal-port): the port is already in use.", stderr.TrimEnd('\n'));
        Assert.False(Directory.Exists(Data), "a refused start must not create the data directory");
    }

    // BadStarts without the busy port (init listens on none).
    public static TheoryData<string, string> BadSettingsAtStart
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var row in BadStarts)
            {
                if (row is [string setting, string expected])
                {
                    data.Add(setting, expected);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(BadSettingsAtStart))]
    public async Task Init_refuses_the_settings_serve_refuses_before_it_creates_or_prints_anything(string setting, string expected)
    {
        var (code, stdout, stderr) = await RunChildAsync(setting, "init", "--data", Data);

        Assert.Equal((2, string.Empty, expected), (code, stdout, stderr.TrimEnd('\n')));
        Assert.False(Directory.Exists(Data), "a refused init must not create the data directory");
    }

    [Theory]
    [InlineData("Custodian__Retention__Years=1", "ledger", "retention", "--dry-run", "error: invalid configuration: Custodian:Retention:Years must be 2-100 (PIPA safety standard Art. 8(1): at least 2 years; docs/review.md lists the values; as an environment variable it is Custodian__Retention__Years).")]
    [InlineData("Custodian__Review__SignOffHistory=0", "review", "--month", "2026-11", "error: invalid configuration: Custodian:Review:SignOffHistory must be 1-60 (docs/review.md lists the values; as an environment variable it is Custodian__Review__SignOffHistory).")]
    public async Task Verbs_resolving_retention_and_review_settings_refuse_them_as_serve_does(string setting, string verb, string option, string value, string expected)
    {
        // A README-only evaluation found "must be 2-100 …" printed alone, without the prefix and the document other settings get.
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        string[] args = [verb, option, value, "--data", Data];
        var (code, stdout, stderr) = await RunChildAsync(setting, args);

        Assert.Equal((2, string.Empty, expected), (code, stdout, stderr.TrimEnd('\n')));
    }

    // The CLI in a child process with one NAME=value environment setting, so the setting reaches no other test.
    private static Task<(int Exit, string Output, string Error)> RunChildAsync(string setting, params string[] args) =>
        CliProcess.RunAsync(setting.Split('=') is [var name, var value] ? new Dictionary<string, string> { [name] = value } : [], args);

    public void Dispose() => _dir.Delete(recursive: true);

    private static Task<(int Code, string Stdout, string Stderr)> RunAsync(string[] args) => CliCapture.RunAsync(args);

    [GeneratedRegex("INC-[0-9]{8}-[A-Z0-9]{6}")]
    private static partial Regex IncidentId();

    [GeneratedRegex(@"^Terminal S001-counter-1 of store S001: one-time code [A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4} \(expires ([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)\)$", RegexOptions.Multiline)]
    private static partial Regex EnrollmentCodeLine();
}
