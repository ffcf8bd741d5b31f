using Custodian.Cli;

namespace Custodian.Tests.Cli;

/// <summary>
/// A tryout with Korean names: <c>terminals enroll --store 매장1</c> and <c>staff add --id 김철수</c> were refused with
/// "must be 1-64 letters, digits, …", although Korean letters are letters. The line now says ASCII letters.
/// </summary>
[Collection(nameof(CliCollection))]
public sealed class CliCodeTextTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-cli-code-text-");

    /// <summary>A data directory that does not exist: the code is checked before it is opened.</summary>
    private string Data => Path.Combine(_dir.FullName, "data");

    [Theory]
    [InlineData("--store", "terminals", "enroll", "--store", "매장1", "--name", "counter-1")]
    [InlineData("--name", "terminals", "enroll", "--store", "S001", "--name", "카운터-1")]
    [InlineData("--id", "staff", "add", "--id", "김철수", "--role", "clerk", "--store", "S001")]
    public async Task A_Korean_code_is_refused_in_one_line_that_says_ASCII_letters(string option, params string[] args)
    {
        var (code, stdout, stderr) = await CliCapture.RunAsync([.. args, "--data", Data]);

        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Equal(
            $"error: {option} must be 1-64 ASCII letters (A-Z, a-z), digits, '-', '_' or '.', starting with a letter or digit; "
            + "Korean and other non-ASCII characters are not accepted.",
            stderr.TrimEnd('\n'));
        Assert.False(Directory.Exists(Data));
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
