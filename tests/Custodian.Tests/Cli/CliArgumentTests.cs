using Custodian.Cli;

namespace Custodian.Tests.Cli;

/// <summary>Bad argument values found by a tryout of every verb: each is a usage error (exit 1) before the data directory is opened.</summary>
[Collection(nameof(CliCollection))]
public sealed class CliArgumentTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-cli-args-");

    /// <summary>A data directory that does not exist: a check made only after opening it would exit 2.</summary>
    private string Data => Path.Combine(_dir.FullName, "data");

    [Theory]
    [InlineData("terminals", "enroll", "--store", "S001", "--name", "counter-1", "--server", "http://127.0.0.1:7443")]
    [InlineData("staff", "add", "--id", "C0001", "--role", "clerk")]
    [InlineData("staff", "add", "--id", "M0001", "--role", "store-manager")]
    [InlineData("serve", "--terminal-port", "70000")]
    [InlineData("serve", "--portal-port", "-1")]
    [InlineData("serve", "--listen", "localhost:7443")]
    public async Task A_bad_value_is_a_usage_error(params string[] args)
    {
        Assert.Equal(1, await CustodianCli.RunAsync([.. args, "--data", Data]));
        Assert.False(Directory.Exists(Data));
    }

    [Fact]
    public async Task A_security_officer_needs_no_store()
    {
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["staff", "add", "--id", "O0002", "--role", "security-officer", "--data", Data]));
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
