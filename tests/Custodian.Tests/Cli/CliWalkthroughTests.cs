using Custodian.Cli;
using Microsoft.Data.Sqlite;

namespace Custodian.Tests.Cli;

/// <summary>
/// Defects a new user met walking through the README: verbs that changed nothing yet said they did (or changed what
/// they should not), and arguments refused with the wrong exit code or wording (README.md, "CLI exit codes").
/// </summary>
[Collection(nameof(CliCollection))]
public sealed class CliWalkthroughTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-cli-walkthrough-");

    private string Data => Path.Combine(_dir.FullName, "data");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public async Task Unlock_says_when_there_was_no_lock_and_that_a_disabled_account_stays_disabled()
    {
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["staff", "add", "--id", "C9001", "--store", "S001", "--data", Data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["staff", "add", "--id", "C9002", "--store", "S001", "--data", Data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["staff", "disable", "C9002", "--data", Data]));
        await ExecAsync("UPDATE staff_accounts SET failed_attempts = 5, locked_until_ms = @until", TimeProvider.System.GetUtcNow().AddHours(1).ToUnixTimeMilliseconds());
        var entries = await LedgerSizeAsync();

        var locked = await CliCapture.RunAsync(["staff", "unlock", "C9001", "--data", Data]);
        var afterUnlock = await LedgerSizeAsync();
        var notLocked = await CliCapture.RunAsync(["staff", "unlock", "C9001", "--data", Data]);
        var disabled = await CliCapture.RunAsync(["staff", "unlock", "C9002", "--data", Data]);
        var unknown = await CliCapture.RunAsync(["staff", "unlock", "NOBODY", "--data", Data]);

        Assert.Equal((0, "Unlocked C9001.", string.Empty), (locked.Code, locked.Stdout.TrimEnd('\n'), locked.Stderr));
        Assert.Equal(entries + 1, afterUnlock); // the real unlock is recorded
        Assert.Equal((0, "C9001 is not locked; nothing changed.", string.Empty), (notLocked.Code, notLocked.Stdout.TrimEnd('\n'), notLocked.Stderr));
        Assert.Equal(
            (2, string.Empty, "error: C9002 is disabled and stays disabled: unlock does not enable an account; nothing changed."),
            (disabled.Code, disabled.Stdout, disabled.Stderr.TrimEnd('\n')));
        Assert.Equal((2, "error: no account 'NOBODY'."), (unknown.Code, unknown.Stderr.TrimEnd('\n')));
        Assert.Equal(afterUnlock, await LedgerSizeAsync()); // none of the refusals or no-ops is recorded
        Assert.Equal((5L, true), await LockAsync("C9002")); // the disabled account's lockout is left as it was
        Assert.Equal((0L, false), await LockAsync("C9001"));
    }

    [Fact]
    public async Task Adopting_the_adopted_masking_policy_writes_nothing_and_says_so()
    {
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        var first = await CliCapture.RunAsync(["masking", "adopt", "--data", Data]);
        var since = TimeProvider.System.GetUtcNow().AddDays(-30);
        await ExecAsync("UPDATE masking_policy SET adopted_at = @until", since.ToUnixTimeMilliseconds());
        var entries = await LedgerSizeAsync();

        var again = await CliCapture.RunAsync(["masking", "adopt", "--data", Data]);
        var show = await CliCapture.RunAsync(["masking", "show", "--data", Data]);
        long adoptedAt;
        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(Data, "custodian.db")};Mode=ReadOnly;Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT adopted_at FROM masking_policy";
            adoptedAt = (long)(await command.ExecuteScalarAsync())!;
        }

        const string Policy = "name=first-and-last;rrn=7;phone=last-four;address=2";
        var sinceText = since.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal((0, $"Adopted {Policy}."), (first.Code, first.Stdout.TrimEnd('\n')));
        Assert.Equal((0, $"{Policy} is already the adopted policy (since {sinceText} UTC); nothing changed.", string.Empty), (again.Code, again.Stdout.TrimEnd('\n'), again.Stderr));
        Assert.Equal(0, show.Code); // 'masking show' prints "since" from the adoption time, which stays as it was
        Assert.Equal(since.ToUnixTimeMilliseconds(), adoptedAt);
        Assert.Equal(entries, await LedgerSizeAsync());
    }

    public static TheoryData<string[]> EmptyData => new()
    {
        { ["staff", "list", "--data", ""] },
        { ["init", "--data", ""] },
        { ["import", "subscribers.csv", "--data", ""] },
        { ["masking", "show", "-d", " "] },
        { ["--data", "", "terminals", "list"] },
    };

    [Theory]
    [MemberData(nameof(EmptyData))]
    public async Task An_empty_data_directory_is_a_bad_argument_in_every_verb(string[] args)
    {
        var (code, stdout, stderr) = await CliCapture.RunAsync(args);

        Assert.Equal((1, string.Empty, "error: --data must not be empty"), (code, stdout, stderr.TrimEnd('\n')));
    }

    public static TheoryData<string[], string> EmptyBackend => new()
    {
        { ["serve", "--storage", ""], "--storage" },
        { ["serve", "--storage", "  "], "--storage" },
        { ["init", "--storage", ""], "--storage" },
        { ["serve", "--events", ""], "--events" },
        { ["init", "--events", " "], "--events" },
        { ["monitor-worker", "--events", ""], "--events" },
    };

    [Theory]
    [MemberData(nameof(EmptyBackend))]
    public async Task An_empty_storage_or_event_log_is_a_bad_argument_as_an_empty_data_directory_is(string[] args, string option)
    {
        // Was accepted: an empty --storage was taken for the default, SQLite, and the server started on it.
        var data = Path.Combine(_dir.FullName, "never-created");
        var (code, stdout, stderr) = await CliCapture.RunAsync([.. args, "--data", data]).WaitAsync(TimeSpan.FromSeconds(30)); // a server that started instead would never return

        Assert.Equal((1, string.Empty, $"error: {option} must not be empty"), (code, stdout, stderr.TrimEnd('\n')));
        Assert.False(Directory.Exists(data));
    }

    [Fact]
    public async Task Replaying_a_file_of_another_kind_says_so_in_one_line()
    {
        var ocsf = Path.Combine(_dir.FullName, "events.jsonl");
        await File.WriteAllLinesAsync(ocsf, Enumerable.Range(0, 257).Select(i => """{"class_uid":3002,"time":""" + (1_700_000_000_000L + i).ToString(System.Globalization.CultureInfo.InvariantCulture) + ""","actor":{"user":{"uid":"C0001"}}}"""));

        var (code, stdout, stderr) = await CliCapture.RunAsync(["monitor", "replay", ocsf]);

        Assert.Equal(3, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Equal(
            "events.jsonl: not a replay log: line 1: unknown member 'class_uid'; allowed: time, clerk, terminal, store, subscriber, task, purpose, fields, outcome, role, error, unmasked, subscribers, signals. " +
            "The format is in docs/monitoring.md, \"Replay file format\"; nothing replayed.",
            stderr.TrimEnd('\n'));
    }

    [Fact]
    public async Task A_replay_log_with_many_bad_rows_lists_200_and_counts_the_rest()
    {
        var log = Path.Combine(_dir.FullName, "log.jsonl");
        await File.WriteAllLinesAsync(log, Enumerable.Range(0, 257).Select(_ => """{"time":"yesterday","clerk":"C7","task":"search","outcome":"allowed"}"""));

        var (code, stdout, stderr) = await CliCapture.RunAsync(["monitor", "replay", log]);

        var lines = stderr.TrimEnd('\n').Split('\n');
        Assert.Equal(3, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Equal(202, lines.Length);
        Assert.Equal("log.jsonl: line 200: field 'time' must be an ISO 8601 date-time with an offset, e.g. 2026-11-02T10:15:00+09:00", lines[199]);
        Assert.Equal(["... and 57 more problems", "257 bad rows; nothing replayed (no good rows either)."], lines[200..]);
    }

    [Theory]
    [InlineData("--month", "2026-11", "weekly", "error: --month names a month but --cycle weekly asks for weeks: give --week yyyy-Www, or leave out --cycle.")]
    [InlineData("--week", "2026-W48", "monthly", "error: --week names a week but --cycle monthly asks for months: give --month yyyy-MM, or leave out --cycle.")]
    public async Task A_period_of_the_other_cycle_than_cycle_is_refused(string periodOption, string period, string cycle, string expected)
    {
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));

        var report = await CliCapture.RunAsync(["review", periodOption, period, "--cycle", cycle, "--data", Data]);
        var signOff = await CliCapture.RunAsync(["review", "sign-off", periodOption, period, "--cycle", cycle, "--reviewer", "P0001", "--note", "n", "--data", Data]);

        Assert.Equal((1, string.Empty, expected), (report.Code, report.Stdout, report.Stderr.TrimEnd('\n')));
        Assert.Equal((1, expected), (signOff.Code, signOff.Stderr.TrimEnd('\n')));
    }

    private async Task ExecAsync(string sql, long value)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(Data, "custodian.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("@until", value);
        Assert.True(await command.ExecuteNonQueryAsync() > 0);
    }

    private async Task<long> LedgerSizeAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(Data, "custodian.db")};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM ledger_entries";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task<(long Failures, bool Locked)> LockAsync(string account)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(Data, "custodian.db")};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT failed_attempts, locked_until_ms IS NOT NULL FROM staff_accounts WHERE id = @id";
        command.Parameters.AddWithValue("@id", account);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return (reader.GetInt64(0), reader.GetInt64(1) != 0);
    }
}
