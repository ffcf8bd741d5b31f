using Custodian.Cli;
using Custodian.Ledger.Checkpoints;

namespace Custodian.Tests.Cli;

/// <summary><c>--ca-sha256</c>: a malformed fingerprint is a bad argument (exit 1), told apart from a well-formed one that does not match (exit 2).</summary>
[Collection(nameof(CliCollection))]
public sealed class CliFingerprintTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-cli-pin-");

    [Theory]
    [InlineData("00")]
    [InlineData("")]
    [InlineData("zz00000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("00000000000000000000000000000000000000000000000000000000000000000")] // 65 digits
    [InlineData("59:00:3F:0f8a000000000000000000000000000000000000000000000000000000")] // colons after only some bytes, mixed case
    [InlineData("abcd00000000000000000000000000000000000000000000000000000000000F")] // mixed case
    [InlineData("AB:CD:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:0f")] // mixed case
    [InlineData("AB:CD:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:0F:")] // trailing colon
    [InlineData("ABC:D00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:0F")] // colons off the byte boundaries
    [InlineData(" abcd00000000000000000000000000000000000000000000000000000000000f")] // a space
    [InlineData("ab-cd-00-00-00-00-00-00-00-00-00-00-00-00-00-00-00-00-00-00-00-00-00-00-00-00-00-00-00-00-00-0f")]
    public async Task A_malformed_fingerprint_is_a_usage_error_before_any_connection(string pin)
    {
        var (code, stdout, stderr) = await CliCapture.RunAsync(["terminal", "init", "--server", "https://127.0.0.1:1", "--code", "x", "--ca-sha256", pin, "--out", Path.Combine(_dir.FullName, "t0")]);
        Assert.Equal(
            (1, string.Empty, "error: --ca-sha256 must be a SHA-256 fingerprint in one of two forms: 64 hex digits, or 32 colon-separated pairs of hex digits (AB:CD:…); one case throughout."),
            (code, stdout, stderr.TrimEnd('\n')));

        // Port 1 on 127.0.0.1 refuses connections: a verb that tried to connect would exit 2.
        var terminal = Path.Combine(_dir.FullName, "terminal");
        Assert.Equal(1, await CustodianCli.RunAsync(["terminal", "init", "--server", "https://127.0.0.1:1", "--code", "x", "--ca-sha256", pin, "--out", terminal]));

        var state = Path.Combine(_dir.FullName, "witness");
        Assert.Equal(0, await CustodianCli.RunAsync(["witness", "init", "--state", state, "--name", "witness.example/w1"]));
        var logKey = NoteSigningKey.Generate("custodian/pin", NoteAlgorithms.Ed25519).Verifier.ToString();
        Assert.Equal(1, await CustodianCli.RunAsync(["witness", "run", "--once", "--state", state, "--server", "https://127.0.0.1:1", "--log-key", logKey, "--ca-sha256", pin]));
        Assert.False(Directory.Exists(terminal));
    }

    [Theory]
    [InlineData("AB:CD:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:0F", "abcd00000000000000000000000000000000000000000000000000000000000f")]
    [InlineData("ab:cd:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:0f", "abcd00000000000000000000000000000000000000000000000000000000000f")]
    [InlineData("ABCD00000000000000000000000000000000000000000000000000000000000F", "abcd00000000000000000000000000000000000000000000000000000000000f")]
    [InlineData("abcd00000000000000000000000000000000000000000000000000000000000f", "abcd00000000000000000000000000000000000000000000000000000000000f")]
    public void Either_form_in_one_case_is_accepted(string pin, string expected) =>
        Assert.Equal(expected, CliArguments.Sha256Fingerprint(pin, "--ca-sha256"));

    [Fact]
    public async Task A_well_formed_fingerprint_gets_as_far_as_the_server()
    {
        var terminal = Path.Combine(_dir.FullName, "terminal");
        Assert.Equal(2, await CustodianCli.RunAsync(["terminal", "init", "--server", "https://127.0.0.1:1", "--code", "AAAA-BBBB-CCCC", "--ca-sha256", new string('0', 64), "--out", terminal]));
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
