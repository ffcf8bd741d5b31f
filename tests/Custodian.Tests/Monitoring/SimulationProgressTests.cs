using Custodian.Simulation;

namespace Custodian.Tests.Monitoring;

/// <summary>The simulator's progress moves while it enrolls terminals and signs clerks in, not only once the day starts.</summary>
public sealed class SimulationProgressTests
{
    [Fact]
    public async Task Provisioning_progress_advances_per_enrolled_terminal_and_signed_in_clerk_before_the_day_starts()
    {
        var events = new List<string>();
        var report = await SimulateCommand.RunInProcessAsync(
            new SimulationOptions { Minutes = 2, Stores = 1, Clerks = 3, Subscribers = 100, Seed = 5 },
            staff: null,
            progress: (message, minutes) =>
            {
                lock (events)
                {
                    events.Add(message.StartsWith("Store day", StringComparison.Ordinal) ? "day" : "other");
                }
            },
            provisioning: (done, total) =>
            {
                lock (events)
                {
                    events.Add($"{done}/{total}");
                }
            },
            CancellationToken.None);

        var provisioning = events.Where(e => e.Contains('/', StringComparison.Ordinal)).ToList();
        Assert.Equal(["0/6", "1/6", "2/6", "3/6", "4/6", "5/6", "6/6"], provisioning);
        var firstDay = events.IndexOf("day");
        Assert.True(firstDay < 0 || firstDay > events.IndexOf("6/6"), "the day was reported before provisioning ended: " + string.Join(", ", events));
        Assert.False(report.AttackRan);
    }
}
