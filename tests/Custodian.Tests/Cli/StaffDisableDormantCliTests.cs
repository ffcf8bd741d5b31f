using Custodian.Hosting;
using Custodian.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Custodian.Tests.Cli;

/// <summary>
/// <c>custodian staff disable-dormant</c> says which dormant security officer it kept because it is the last active one
/// (the job logs it as event 3312; docs/access.md §6.2): one line, the account ID only. Run as its own process; the
/// accounts are made dormant by moving their creation time back in the SQLite file.
/// </summary>
public sealed class StaffDisableDormantCliTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-cli-dormant-");

    private string Data => Path.Combine(_dir.FullName, "data");

    [Fact]
    public async Task The_output_names_the_last_active_security_officer_kept_and_the_accounts_disabled()
    {
        var none = new Dictionary<string, string>();
        var init = await CliProcess.RunAsync(none, "init", "--data", Data);
        Assert.True(init.Exit == 0, init.Error);
        var added = await CliProcess.RunAsync(none, "staff", "add", "--id", "C0001", "--role", "clerk", "--store", "S001", "--data", Data);
        Assert.True(added.Exit == 0, added.Error);
        var officer = Assert.Single(await AccountsAsync(), id => id != "C0001"); // the first security officer, made by init
        await MakeDormantAsync();

        var first = await CliProcess.RunAsync(none, "staff", "disable-dormant", "--days", "90", "--data", Data);

        Assert.Equal((0, $"Disabled 1 dormant account: C0001\nKept dormant account {officer}: it is the last active security officer.\n", string.Empty), first);

        // Run after run, the officer is kept and said to be.
        var second = await CliProcess.RunAsync(none, "staff", "disable-dormant", "--days", "90", "--data", Data);

        Assert.Equal((0, $"Kept dormant account {officer}: it is the last active security officer.\n", string.Empty), second);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    private async Task<List<string>> AccountsAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={DataPaths.For(Data).Database};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM staff_accounts ORDER BY id";
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new List<string>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    // Every account created, and never signed in since, 2020-01-01T00:00:00Z: dormant for any --days up to 3650 until 2030.
    private async Task MakeDormantAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={DataPaths.For(Data).Database};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE staff_accounts SET created_ms = 1577836800000, last_sign_in_ms = NULL";
        Assert.Equal(2, await command.ExecuteNonQueryAsync());
    }
}
