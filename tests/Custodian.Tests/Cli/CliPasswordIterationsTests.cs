using Custodian.Hosting;
using Custodian.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Custodian.Tests.Cli;

/// <summary>
/// The verbs that set a staff password hash it with <c>Custodian__PasswordIterations</c>, as <c>serve</c> does (found by an
/// evaluation: <c>init</c> and <c>staff add</c> ignored the setting and always used 600,000). Run as their own processes
/// with the variable in their environment; the hash is read back from the SQLite file.
/// </summary>
public sealed class CliPasswordIterationsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-cli-iterations-");

    private string Data => Path.Combine(_dir.FullName, "data");

    [Fact]
    public async Task Init_and_staff_add_hash_with_the_configured_iteration_count()
    {
        var configured = new Dictionary<string, string> { ["Custodian__PasswordIterations"] = "1234" };
        var init = await CliProcess.RunAsync(configured, "init", "--data", Data);
        Assert.True(init.Exit == 0, init.Error);
        var officer = Assert.Single(await HashesAsync()).Key; // the first security officer, made by init
        var added = await CliProcess.RunAsync(configured, "staff", "add", "--id", "C0001", "--role", "clerk", "--store", "S001", "--data", Data);
        Assert.True(added.Exit == 0, added.Error);
        var unset = await CliProcess.RunAsync(new Dictionary<string, string>(), "staff", "add", "--id", "C0002", "--role", "clerk", "--store", "S001", "--data", Data);
        Assert.True(unset.Exit == 0, unset.Error);

        // Scheme and iteration count of each stored hash (pbkdf2-sha256$<iterations>$<salt>$<hash>).
        var hashes = (await HashesAsync()).ToDictionary(h => h.Key, h => string.Join('$', h.Value.Split('$')[..2]), StringComparer.Ordinal);
        Assert.Equal(
            new Dictionary<string, string>(StringComparer.Ordinal) { [officer] = "pbkdf2-sha256$1234", ["C0001"] = "pbkdf2-sha256$1234", ["C0002"] = "pbkdf2-sha256$600000" },
            hashes);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Delete(recursive: true);
    }

    private async Task<Dictionary<string, string>> HashesAsync()
    {
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        await using var connection = new SqliteConnection($"Data Source={DataPaths.For(Data).Database};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, password_hash FROM staff_accounts";
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            hashes.Add(reader.GetString(0), reader.GetString(1));
        }

        return hashes;
    }
}
