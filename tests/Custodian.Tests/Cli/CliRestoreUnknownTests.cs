using Custodian.Cli;

namespace Custodian.Tests.Cli;

/// <summary>
/// A tryout typo: <c>alerts restore --clerk NOPE</c> answered "clerk NOPE is not suspended", as if the account existed.
/// An unknown account or terminal is now named as unknown (exit 2, nothing filed), as <c>staff unlock</c> and
/// <c>terminals revoke</c> do; a known one that is not suspended keeps its line.
/// </summary>
[Collection(nameof(CliCollection))]
public sealed class CliRestoreUnknownTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-cli-restore-unknown-");

    private string Data => Path.Combine(_dir.FullName, "data");

    [Fact]
    public async Task Restoring_an_unknown_clerk_or_terminal_names_it_as_unknown()
    {
        Assert.Equal(0, (await CliCapture.RunAsync(["init", "--data", Data])).Code);
        Assert.Equal(0, (await CliCapture.RunAsync(["staff", "add", "--id", "C0001", "--role", "clerk", "--store", "S001", "--data", Data])).Code);

        var clerk = await CliCapture.RunAsync(["alerts", "restore", "--clerk", "C0404", "--reason", "typo", "--data", Data]);
        var terminal = await CliCapture.RunAsync(["alerts", "restore", "--terminal", "S001-nope", "--reason", "typo", "--data", Data]);
        var known = await CliCapture.RunAsync(["alerts", "restore", "--clerk", "C0001", "--reason", "not suspended", "--data", Data]);

        Assert.Equal((2, "", "error: no account 'C0404'; nothing changed.\n"), clerk);
        Assert.Equal((2, "", "error: no terminal 'S001-nope'; nothing changed.\n"), terminal);
        Assert.Equal((2, "", "error: clerk C0001 is not suspended; nothing changed.\n"), known);
        var pending = await CliCapture.RunAsync(["approvals", "list", "--status", "pending", "--data", Data]);
        Assert.DoesNotContain("restore-", pending.Stdout, StringComparison.Ordinal);
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
