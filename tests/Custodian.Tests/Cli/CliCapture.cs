using Custodian.Cli;

namespace Custodian.Tests.Cli;

/// <summary>Runs a verb in-process with standard output and standard error captured (tests in <see cref="CliCollection"/>, which do not run in parallel).</summary>
internal static class CliCapture
{
    /// <summary>Runs <paramref name="args"/> through <see cref="CustodianCli.RunAsync"/>.</summary>
    /// <returns>The exit code and what the verb wrote to each stream.</returns>
    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string[] args)
    {
        // Spectre's AnsiConsole binds to Console.Out when first used: bind it to the real one now, not to the
        // capture below, which is closed when this returns (later verbs would then fail writing to it).
        _ = Spectre.Console.AnsiConsole.Console.Profile.Width;
        var (originalOut, originalError) = (Console.Out, Console.Error);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            var code = await CustodianCli.RunAsync(args);
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(originalOut);
            Console.SetError(originalError);
        }
    }
}
