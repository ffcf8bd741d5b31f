using Custodian.Cli;
using Custodian.Protection.Import;
using Microsoft.Data.Sqlite;

namespace Custodian.Tests.Cli;

/// <summary><c>custodian staff link-subscription ACCOUNT --phone …</c>: refusals in one line with the README's exit codes, the number never echoed or stored.</summary>
[Collection(nameof(CliCollection))]
public sealed class StaffLinkSubscriptionTests : IDisposable
{
    private const string Phone = "010-9100-0001";

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-cli-household-");

    private string Data => Path.Combine(_dir.FullName, "data");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public async Task Links_a_known_account_to_the_subscriber_with_that_phone_and_refuses_everything_else_in_one_line()
    {
        var csv = Path.Combine(_dir.FullName, "subscribers.csv");
        await File.WriteAllTextAsync(csv, ImportColumns.FullHeaderLine + $"\n남궁민수,711231-1234567,{Phone},서울특별시 강남구 역삼동 123-4,5G 슬림,2025-01-02,2027-01-01,S001,FP-9\n");
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["staff", "add", "--id", "C9001", "--store", "S001", "--data", Data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["import", csv, "--data", Data]));
        var entries = await ScalarAsync("SELECT COUNT(*) FROM ledger_entries");

        var unknownAccount = await CliCapture.RunAsync(["staff", "link-subscription", "NOBODY", "--phone", Phone, "--data", Data]);
        var unknownPhone = await CliCapture.RunAsync(["staff", "link-subscription", "C9001", "--phone", "010-9999-0000", "--data", Data]);
        var badPhone = await CliCapture.RunAsync(["staff", "link-subscription", "C9001", "--phone", "02-12", "--data", Data]);
        var badAccount = await CliCapture.RunAsync(["staff", "link-subscription", "김철수", "--phone", Phone, "--data", Data]);
        var noPhone = await CliCapture.RunAsync(["staff", "link-subscription", "C9001", "--data", Data]);
        Assert.Equal(entries, await ScalarAsync("SELECT COUNT(*) FROM ledger_entries")); // refusals change and record nothing
        Assert.Equal(0L, await ScalarAsync("SELECT COUNT(*) FROM staff_households"));
        var linked = await CliCapture.RunAsync(["staff", "link-subscription", "C9001", "--phone", "+82 10 9100 0001", "--data", Data]);

        Assert.Equal((2, string.Empty, "error: no account 'NOBODY'."), (unknownAccount.Code, unknownAccount.Stdout, unknownAccount.Stderr.TrimEnd('\n')));
        Assert.Equal((2, string.Empty, "error: no subscriber has that number; nothing changed."), (unknownPhone.Code, unknownPhone.Stdout, unknownPhone.Stderr.TrimEnd('\n')));
        Assert.Equal((1, "error: --phone must be a Korean phone number, e.g. 010-1234-5678."), (badPhone.Code, badPhone.Stderr.TrimEnd('\n')));
        Assert.Equal(1, badAccount.Code);
        Assert.Single(badAccount.Stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("error: account must be ", badAccount.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, noPhone.Code);
        Assert.Contains("--phone", noPhone.Stderr, StringComparison.Ordinal);
        Assert.Equal(
            (0, "Linked C9001 to its own subscription: reads of its household and family plan are marked in the ledger.", string.Empty),
            (linked.Code, linked.Stdout.TrimEnd('\n'), linked.Stderr));
        foreach (var output in new[] { unknownAccount, unknownPhone, badPhone, linked })
        {
            Assert.DoesNotContain("9100", output.Stdout + output.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("9999", output.Stdout + output.Stderr, StringComparison.Ordinal);
        }

        Assert.Equal(entries + 1, await ScalarAsync("SELECT COUNT(*) FROM ledger_entries")); // the link is recorded
        Assert.Equal(1L, await ScalarAsync("SELECT COUNT(*) FROM staff_households s JOIN subscribers u ON u.id = s.subscriber_id AND u.household_index = s.household_index AND u.family_plan_index = s.family_plan_index WHERE s.account = 'C9001'"));
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(Data, "custodian.db")};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
