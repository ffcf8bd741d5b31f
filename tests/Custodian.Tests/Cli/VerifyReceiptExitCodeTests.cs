using Custodian.Ledger.Checkpoints;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Cli;

/// <summary>
/// <c>custodian verify-receipt</c>'s exit codes, run as its own process (found by an evaluation: docs/ledger-format.md §11
/// listed <c>receipt-malformed</c> among the exit-3 codes, but a receipt refused while it was read exited 1). A file that is
/// not a receipt at all is an input error (1); a receipt that breaks a member's rule fails verification (3), with the code,
/// as a receipt that breaks it only against its checkpoint always did (README, "CLI exit codes").
/// </summary>
public sealed class VerifyReceiptExitCodeTests : IDisposable
{
    private static readonly Dictionary<string, string> NoEnvironment = [];
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-verify-receipt-");
    private readonly NoteSigningKey _log = NoteSigningKey.Generate("custodian/receipt-exit", NoteAlgorithms.Ed25519);

    [Fact]
    public async Task A_receipt_breaking_a_member_rule_exits_3_with_receipt_malformed_and_a_file_that_is_no_receipt_exits_1()
    {
        var hash = Convert.ToBase64String(new byte[32]);
        var checkpoint = SignedNote.Sign($"{_log.KeyName}\n2\n{hash}\n", _log).Format();
        string Receipt(string leafHash, long sequence, long treeSize) =>
            System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["format"] = LedgerReceipt.FormatName, ["sequence"] = sequence, ["leafHash"] = leafHash, ["treeSize"] = treeSize, ["inclusionProof"] = new[] { hash }, ["checkpoint"] = checkpoint,
            });

        // A receipt of this format whose member breaks its rule, found while reading it or against its checkpoint: 3.
        foreach (var (json, rule) in new[]
        {
            (Receipt(Convert.ToBase64String(new byte[31]), 0, 2), "'leafHash' must be canonical base64 of 32 bytes"),
            (Receipt(hash, 2, 2), "'treeSize' must be an integer greater than 'sequence'"),
            (Receipt(hash, 0, 1), "'treeSize' differs from the checkpoint's size"),
        })
        {
            var run = await VerifyAsync(json);
            Assert.Equal((3, string.Empty, $"RECEIPT INVALID: The receipt is malformed: {rule}. (receipt-malformed)"), (run.Exit, run.Output, run.Error.TrimEnd('\n')));
        }

        // Not a receipt at all: not JSON, not an object, another format or none: 1.
        foreach (var (text, reason) in new[]
        {
            ("this is not JSON", "it is not valid JSON"),
            ("[1, 2]", "it must be a JSON object"),
            ("{\"format\":\"custodian-receipt/v2\"}", "'format' must be \"custodian-receipt/v1\""),
            ("{\"sequence\":0}", "'format' must be \"custodian-receipt/v1\""),
        })
        {
            var file = await WriteAsync(text);
            var run = await CliProcess.RunAsync(NoEnvironment, "verify-receipt", file, "--log-key", _log.Verifier.ToString());
            Assert.Equal((1, $"error: {file} is not a receipt file: The receipt is malformed: {reason}."), (run.Exit, run.Error.TrimEnd('\n')));
        }
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private async Task<(int Exit, string Output, string Error)> VerifyAsync(string json) =>
        await CliProcess.RunAsync(NoEnvironment, "verify-receipt", await WriteAsync(json), "--log-key", _log.Verifier.ToString());

    private async Task<string> WriteAsync(string text)
    {
        var file = Path.Combine(_dir.FullName, Guid.NewGuid().ToString("N") + ".json");
        await File.WriteAllTextAsync(file, text);
        return file;
    }
}
