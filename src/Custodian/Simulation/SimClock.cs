using Microsoft.Extensions.Time.Testing;

namespace Custodian.Simulation;

/// <summary>The simulator's notion of time: simulated (a fake clock shared with an in-process server) or real (a live server).</summary>
public interface ISimClock
{
    /// <summary>Current time.</summary>
    DateTimeOffset Now { get; }

    /// <summary>Moves to (simulated) or waits until (real) <paramref name="time"/>; returns at once when it has passed.</summary>
    Task WaitUntilAsync(DateTimeOffset time, CancellationToken cancellationToken);
}

/// <summary>Simulated time: advancing is instant, so a day runs in seconds. The in-process server shares the same fake clock.</summary>
public sealed class SimulatedClock(FakeTimeProvider clock) : ISimClock
{
    /// <inheritdoc />
    public DateTimeOffset Now => clock.GetUtcNow();

    /// <inheritdoc />
    public Task WaitUntilAsync(DateTimeOffset time, CancellationToken cancellationToken)
    {
        if (time > clock.GetUtcNow())
        {
            clock.SetUtcNow(time);
        }

        return Task.CompletedTask;
    }
}

/// <summary>Real time, for a run against a live server.</summary>
public sealed class RealClock(TimeProvider clock) : ISimClock
{
    /// <inheritdoc />
    public DateTimeOffset Now => clock.GetUtcNow();

    /// <inheritdoc />
    public async Task WaitUntilAsync(DateTimeOffset time, CancellationToken cancellationToken)
    {
        var delay = time - clock.GetUtcNow();
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, clock, cancellationToken);
        }
    }
}
