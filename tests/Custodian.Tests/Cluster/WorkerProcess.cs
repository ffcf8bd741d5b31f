using System.Diagnostics;

namespace Custodian.Tests.Cluster;

/// <summary>
/// The real <c>custodian monitor-worker</c> as a child process (<c>dotnet custodian.dll</c> from the test's output
/// directory) with a given worker id and environment; its output is drained and kept for failure messages.
/// </summary>
internal sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private WorkerProcess(Process process, string id)
    {
        _process = process;
        Id = id;
    }

    /// <summary>The worker id (<c>--worker-id</c>).</summary>
    public string Id { get; }

    /// <summary>Everything the worker wrote so far, one line per entry.</summary>
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

    /// <summary>Starts <c>custodian monitor-worker --data DIR --worker-id ID --lease-seconds 2</c> and waits (≤ 60 s) for its "running" line.</summary>
    /// <exception cref="InvalidOperationException">When it exits or does not report within 60 s; the message carries its output.</exception>
    public static async Task<WorkerProcess> StartAsync(string dataDirectory, string id, IReadOnlyDictionary<string, string> environment)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "custodian.dll"), "monitor-worker", "--data", dataDirectory, "--worker-id", id, "--lease-seconds", "2" })
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var worker = new WorkerProcess(process, id);
        process.OutputDataReceived += (_, e) => worker.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => worker.OnLine(e.Data);
        process.Exited += (_, _) => worker._ready.TrySetException(new InvalidOperationException($"monitor-worker {id} exited before it was running. Output:\n{worker.Output}"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await worker._ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            await worker.DisposeAsync();
            throw new InvalidOperationException($"monitor-worker {id} did not report running within 60 s. Output:\n{worker.Output}");
        }

        return worker;
    }

    /// <summary>kill -9 (SIGKILL); waits until the process is gone.</summary>
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

        if (line.StartsWith($"Monitor worker {Id} running", StringComparison.Ordinal))
        {
            _ready.TrySetResult();
        }
    }
}
