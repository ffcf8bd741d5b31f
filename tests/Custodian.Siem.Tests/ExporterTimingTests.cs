using Custodian.Siem.Export;
using Custodian.Siem.Ocsf;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Custodian.Siem.Tests;

/// <summary>Write timeout and reconnection back-off, on fake time.</summary>
public sealed class ExporterTimingTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 7, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Cancellation_does_not_cut_a_batch_write_but_a_stuck_receiver_times_out_as_a_failure()
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        await env.AppendAsync(SiemTestEnvironment.Mixed(30, T0));
        var time = new FakeTimeProvider(T0);
        var exporter = new SiemExporter(env.SqliteLedger, env.Alerts, env.Mapper, env.Cursors, time, NullLogger<SiemExporter>.Instance);
        var sink = new HangingSink();
        using var cts = new CancellationTokenSource();

        var run = exporter.ExportAvailableAsync(sink, 10, cts.Token);
        await sink.Started.Task;
        await cts.CancelAsync();
        Assert.False(sink.Cancelled.Task.IsCompleted); // the caller's cancellation does not reach the write

        time.Advance(SiemExporter.WriteTimeout);
        var failure = await Assert.ThrowsAsync<IOException>(() => run);
        Assert.Equal("writing a batch to hanging took longer than 30 s.", failure.Message);
        Assert.True(sink.Cancelled.Task.IsCompleted);
        Assert.Equal(0, await env.Cursors.GetNextAsync("hanging"));
    }

    [Fact]
    public void Reconnection_backs_off_from_half_a_second_doubling_to_thirty_seconds()
    {
        var delays = new List<double> { SiemExporter.InitialBackoff.TotalSeconds };
        for (var i = 0; i < 8; i++)
        {
            delays.Add(SiemExporter.NextBackoff(TimeSpan.FromSeconds(delays[^1])).TotalSeconds);
        }

        Assert.Equal([0.5, 1, 2, 4, 8, 16, 30, 30, 30], delays);
    }

    private sealed class HangingSink : ISiemSink
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Id => "hanging";

        public async ValueTask WriteAsync(IReadOnlyList<OcsfEvent> events, CancellationToken cancellationToken)
        {
            Started.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            finally
            {
                Cancelled.TrySetResult();
            }
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
