using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xunit;

namespace Custodian.Tests.Infrastructure;

/// <summary>Runs the <c>custodian</c> CLI as its own process (the build output's custodian.dll), as an operator would, with extra environment variables.</summary>
public static class CliProcess
{
    /// <summary>Runs <paramref name="args"/> with <paramref name="environment"/> added to this process's environment; fails the test after 90 s.</summary>
    /// <returns>The exit code and everything written to standard output and standard error.</returns>
    public static Task<(int Exit, string Output, string Error)> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        RunAsync(TimeSpan.FromSeconds(90), environment, args);

    /// <summary>Runs <paramref name="args"/> with <paramref name="environment"/> added to this process's environment; fails the test after <paramref name="timeout"/>.</summary>
    /// <returns>The exit code and everything written to standard output and standard error.</returns>
    public static async Task<(int Exit, string Output, string Error)> RunAsync(TimeSpan timeout, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "custodian.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await output, await error);
    }

    /// <summary>
    /// Starts the CLI as an operator's shell would, with Ctrl-C (SIGINT) at its default action: a test host started in the
    /// background inherits SIGINT ignored, and a .NET process does not handle a signal that was ignored when it started
    /// (GNU coreutils <c>env --default-signal=INT</c> resets it). Standard output and error are redirected, UTF-8.
    /// </summary>
    /// <param name="args">The CLI arguments.</param>
    /// <returns>The started process; the caller disposes it.</returns>
    public static Process StartWithDefaultSigint(params string[] args)
    {
        var start = new ProcessStartInfo("env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add("--default-signal=INT");
        start.ArgumentList.Add(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "custodian.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        return Process.Start(start)!;
    }

    /// <summary>Sends <paramref name="signal"/> (e.g. <c>INT</c>, <c>TERM</c>) to <paramref name="process"/> with <c>kill</c>; fails the test when kill fails.</summary>
    /// <param name="process">A running process.</param>
    /// <param name="signal">The signal's name without <c>SIG</c>.</param>
    public static void Signal(Process process, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, process.Id.ToString(CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>Waits up to 3 minutes for <paramref name="process"/> to exit; on timeout kills its tree and throws <see cref="OperationCanceledException"/>.</summary>
    /// <param name="process">A started process.</param>
    /// <returns>A task that completes when the process has exited.</returns>
    public static async Task WaitForExitAsync(Process process)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
    }
}
