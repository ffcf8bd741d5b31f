using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Custodian.Tests.Crash;

/// <summary>
/// The real <c>custodian serve</c> as a child process (<c>dotnet custodian.dll</c> from the test's
/// output directory, where the build copies the executable project with its runtime configuration),
/// on 127.0.0.1 with ports chosen by the operating system, over a given data directory. Its output is
/// drained continuously and kept for failure messages.
/// </summary>
public sealed partial class ServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly List<string> _output = [];
    private readonly TaskCompletionSource<(Uri Terminal, Uri Portal)> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServerProcess(Process process) => _process = process;

    /// <summary>Base URL of the terminal API (mutual TLS).</summary>
    public Uri TerminalUrl { get; private set; } = null!;

    /// <summary>Base URL of the portal listener (subscriber portal, <c>/health</c>, <c>/ledger/v1</c>).</summary>
    public Uri PortalUrl { get; private set; } = null!;

    /// <summary>Process ID.</summary>
    public int Id => _process.Id;

    /// <summary>Everything the server wrote to stdout and stderr so far, one line per entry.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    /// <summary>
    /// Starts <c>custodian serve --data <paramref name="dataDirectory"/> --terminal-port 0 --portal-port 0</c>
    /// and waits until it prints the line naming its terminal URL. PBKDF2 runs with 1,000 iterations
    /// (<c>Custodian__PasswordIterations</c>) so that clerks' password changes stay cheap.
    /// </summary>
    /// <param name="dataDirectory">The data directory (<c>--data</c>).</param>
    /// <param name="environment">Extra environment variables (e.g. <c>Custodian__Storage</c>, <c>Custodian__Events</c>); null for none.</param>
    /// <exception cref="InvalidOperationException">When the server exits or does not come up within 60 s; the message carries its output.</exception>
    public static async Task<ServerProcess> StartAsync(string dataDirectory, IReadOnlyDictionary<string, string>? environment = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "custodian.dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"custodian.dll is not in the test output directory {AppContext.BaseDirectory}; build the solution first.");
        }

        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { dll, "serve", "--data", dataDirectory, "--listen", "127.0.0.1", "--terminal-port", "0", "--portal-port", "0" })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["Custodian__PasswordIterations"] = "1000";
        info.Environment["Custodian__Detection__LocalOffset"] = Infrastructure.CustodianTestHost.StoreUtcOffset.ToString("c", System.Globalization.CultureInfo.InvariantCulture); // store hours around the real hour, as in the in-process host
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var server = new ServerProcess(process);
        process.OutputDataReceived += (_, e) => server.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => server.OnLine(e.Data);
        process.Exited += (_, _) => server._ready.TrySetException(new InvalidOperationException($"custodian serve exited with code {SafeExitCode(process)} before it was ready. Output:\n{server.Output}"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            (server.TerminalUrl, server.PortalUrl) = await server._ready.Task.WaitAsync(StartTimeout);
        }
        catch (TimeoutException)
        {
            await server.DisposeAsync();
            throw new InvalidOperationException($"custodian serve did not report its address within {StartTimeout.TotalSeconds:0} s. Output:\n{server.Output}");
        }

        return server;
    }

    /// <summary>kill -9: <see cref="Process.Kill(bool)"/> sends SIGKILL on Linux; waits until the process is gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }

        _process.Dispose();
    }

    private static string SafeExitCode(Process process)
    {
        try
        {
            return process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (InvalidOperationException)
        {
            return "?";
        }
    }

    [GeneratedRegex(@"Custodian is running\. Terminal API: (https://\S+)\s+Portal: (\S+)")]
    private static partial Regex RunningLine();

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Add(line);
        }

        if (RunningLine().Match(line) is { Success: true } match)
        {
            _ready.TrySetResult((new Uri(match.Groups[1].Value), new Uri(match.Groups[2].Value)));
        }
    }
}
