using Custodian.Approvals;
using Microsoft.Extensions.Options;

namespace Custodian.StaffLifecycle;

/// <summary>
/// Runs <see cref="DormantAccounts"/> inside the server every <see cref="DormantAccountOptions.Interval"/> (default daily)
/// on a <see cref="PeriodicTimer"/> driven by the injected <see cref="TimeProvider"/>, unless
/// <see cref="DormantAccountOptions.Enabled"/> is false. A failed run is logged (event 5401) and retried at the next tick;
/// it never stops the server.
/// </summary>
/// <param name="dormant">The job.</param>
/// <param name="options">Its settings.</param>
/// <param name="time">The clock driving the timer.</param>
/// <param name="logger">Logger (event IDs 5400–5402).</param>
public sealed class DormantAccountService(DormantAccounts dormant, IOptions<DormantAccountOptions> options, TimeProvider time, ILogger<DormantAccountService> logger) : BackgroundService
{
    private PeriodicTimer? _timer;

    /// <inheritdoc />
    /// <remarks>
    /// The timer is created (or the run reported off) here, as the host starts, not in <see cref="ExecuteAsync"/>: since
    /// .NET 10 all of that runs later on the thread pool, so the first interval would count from whenever that thread got
    /// to it, and a clock moved in between (a test's fake one) would leave the first run an interval late.
    /// </remarks>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.Enabled)
        {
            _timer ??= new PeriodicTimer(settings.Interval, time);
        }
        else
        {
            FourEyesLog.DormantJobOff(logger);
        }

        return base.StartAsync(cancellationToken);
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _timer?.Dispose();
        base.Dispose();
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_timer is not { } timer)
        {
            return; // switched off (logged at the start)
        }

        var days = options.Value.Days;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    var disabled = await dormant.DisableAsync(days, DormantAccounts.ServerOperator, stoppingToken);
                    FourEyesLog.DormantDisabled(logger, disabled.Count, days);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    FourEyesLog.DormantRunFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }
}

/// <summary>Registers the daily dormant-account run.</summary>
public static class DormantAccountServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="DormantAccountOptions"/> from <c>Custodian:DormantAccounts</c>, validates them at start and adds
    /// <see cref="DormantAccountService"/> as a hosted service (it returns at once when disabled).
    /// </summary>
    /// <param name="services">The collection.</param>
    /// <param name="configuration">The application's configuration.</param>
    /// <returns>The same collection.</returns>
    public static IServiceCollection AddDormantAccountService(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DormantAccountOptions>()
            .Bind(configuration.GetSection(Hosting.CustodianOptions.Section).GetSection(DormantAccountOptions.Section))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<DormantAccountOptions>, DormantAccountOptionsValidator>();
        services.AddHostedService<DormantAccountService>();
        return services;
    }
}
