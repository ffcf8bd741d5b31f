using System.Runtime.InteropServices;

namespace Custodian.Cli;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM for one run of the command line: the first signal cancels the verb's
/// <see cref="CancellationToken"/> and the verb finishes in order (what was committed is recorded and reported); a second
/// signal ends the process at once. The exit code of an interrupted verb is <see cref="ExitCode"/>: 130 for SIGINT, 143
/// for SIGTERM (128 + the signal number, as shells report it; README.md, "CLI exit codes").
/// System.CommandLine's own handling is turned off: it gives every verb 2 seconds and then ends the process under it,
/// which cut <c>import</c> off between its last commit and the ledger entry recording it. Instead a verb that stops in
/// order by itself says so (<see cref="FinishInOrder"/>) and is waited for; any other verb that has not returned
/// <see cref="Grace"/> after the signal is ended with the exit code, as before.
/// </summary>
internal sealed class CliInterruption : IDisposable
{
    /// <summary>Exit code of a verb interrupted by SIGINT (Ctrl-C).</summary>
    public const int SigintExitCode = 130;

    /// <summary>Exit code of a verb interrupted by SIGTERM.</summary>
    public const int SigtermExitCode = 143;

    /// <summary>How long a verb that did not call <see cref="FinishInOrder"/> may take to return after the first signal: 5 seconds.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);

    private static CliInterruption? s_current;

    private volatile bool _inOrder;

    private readonly CancellationTokenSource _cancel = new();
    private readonly PosixSignalRegistration[] _registrations;
    private PosixSignal? _signal;

    private CliInterruption()
    {
        _registrations = OperatingSystem.IsWindows() || OperatingSystem.IsBrowser()
            ? []
            : [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];
    }

    /// <summary>Cancelled by the first SIGINT or SIGTERM.</summary>
    public CancellationToken Token => _cancel.Token;

    /// <summary>The signal of the run in progress, if one arrived.</summary>
    public static PosixSignal? Signal => s_current?._signal;

    /// <summary>Whether the run in progress was interrupted by a signal.</summary>
    public static bool Interrupted => Signal is not null;

    /// <summary>130 after SIGINT, 143 after SIGTERM; 2 (failed) if cancelled otherwise.</summary>
    public static int ExitCode => Signal switch
    {
        PosixSignal.SIGINT => SigintExitCode,
        PosixSignal.SIGTERM => SigtermExitCode,
        _ => CliExitCodes.Failed,
    };

    /// <summary>The signal's name for messages: <c>SIGINT</c> or <c>SIGTERM</c>.</summary>
    public static string SignalName => Signal == PosixSignal.SIGTERM ? "SIGTERM" : "SIGINT";

    /// <summary>
    /// Declares that the running verb stops in order on cancellation and reports what it kept (<c>import</c>): it is
    /// waited for however long that takes, instead of being ended <see cref="Grace"/> after the signal.
    /// </summary>
    public static void FinishInOrder()
    {
        if (s_current is { } current)
        {
            current._inOrder = true;
        }
    }

    /// <summary>Starts listening for the signals (until disposed).</summary>
    public static CliInterruption Listen()
    {
        var interruption = new CliInterruption();
        s_current = interruption;
        return interruption;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        _ = Interlocked.CompareExchange(ref s_current, null, this);
        _cancel.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        if (_signal is not null)
        {
            return; // the second signal: the default action ends the process
        }

        context.Cancel = true;
        _signal = context.Signal;
        _cancel.Cancel();
        if (!_inOrder)
        {
            var code = ExitCode;
            _ = Task.Delay(Grace).ContinueWith(
                _ =>
                {
                    if (ReferenceEquals(s_current, this))
                    {
                        Console.Error.WriteLine($"error: interrupted by {SignalName}; the operation did not stop within {Grace.TotalSeconds:0} seconds and was ended.");
                        Environment.Exit(code);
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.None,
                TaskScheduler.Default);
        }
    }
}
