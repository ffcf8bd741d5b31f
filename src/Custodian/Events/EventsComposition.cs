using Custodian.Hosting;
using Custodian.Ledger;
using Custodian.Ledger.Projection;
using Custodian.Ledger.Retention;
using Custodian.Problems;
using Custodian.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Custodian.Events;

/// <summary>
/// Chooses the event log from <see cref="CustodianOptions.Events"/> (docs/events.md): the embedded in-process stream
/// (nothing changes), or NATS JetStream, for which the ledger (<see cref="IAccessLedger"/>, <see cref="IAccessLedgerReader"/>,
/// <see cref="ILedgerProofs"/>) becomes <see cref="JetStreamAccessLedger"/> over a <see cref="LedgerProjection"/> of the
/// configured storage (SQLite or PostgreSQL).
/// </summary>
public static class EventsComposition
{
    /// <summary>Resolves the configured event log.</summary>
    /// <param name="options">The options.</param>
    /// <returns>The settings, or an error naming the setting and the rule (never the value).</returns>
    public static Result<EventsSettings> Resolve(CustodianOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return EventsSettings.Parse(options.Events, options.JetStream);
    }

    /// <summary>Whether <paramref name="options"/> select the JetStream event log (false when invalid).</summary>
    /// <param name="options">The options.</param>
    /// <returns>True for JetStream.</returns>
    public static bool IsJetStream(CustodianOptions options) => Resolve(options) is { IsSuccess: true, Value.IsJetStream: true };

    /// <summary>
    /// Registers <see cref="EventsSettings"/> and, for JetStream, replaces the ledger registrations. Ledger retention writes
    /// entries around the event log and is refused in JetStream mode (<see cref="EventsFeatureUnavailable"/>).
    /// </summary>
    /// <param name="services">The collection, after <see cref="StorageComposition.AddStorageBackend"/>.</param>
    /// <param name="options">Validated options.</param>
    /// <returns>The same collection.</returns>
    /// <exception cref="InvalidOperationException">When the setting is invalid (validation should have stopped the start first).</exception>
    public static IServiceCollection AddEventsBackend(this IServiceCollection services, CustodianOptions options)
    {
        var resolved = Resolve(options);
        if (!resolved.IsSuccess)
        {
            throw new InvalidOperationException("invalid configuration: " + resolved.Error!.Message);
        }

        var settings = resolved.Value!;
        services.AddSingleton(settings);
        if (!settings.IsJetStream)
        {
            return services;
        }

        services.AddSingleton(sp => new LedgerProjection(sp.GetRequiredService<CustodianDatabase>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<LedgerProjection>>()));
        services.AddSingleton(sp => new JetStreamAccessLedger(
            settings,
            sp.GetRequiredService<LedgerProjection>(),
            sp.GetRequiredService<Custodian.Events.IAccessEventStream>(),
            () => DeploymentIdentity.Of(sp.GetRequiredService<DataPaths>().Root, sp.GetRequiredService<Ledger.Checkpoints.CheckpointOptions>().EffectiveOrigin()), // binds the stream to this deployment
            sp.GetRequiredService<ILogger<JetStreamAccessLedger>>(),
            time: sp.GetRequiredService<TimeProvider>()));
        services.Replace(ServiceDescriptor.Singleton<IAccessLedger>(sp => sp.GetRequiredService<JetStreamAccessLedger>()));
        services.Replace(ServiceDescriptor.Singleton<IAccessLedgerReader>(sp => sp.GetRequiredService<JetStreamAccessLedger>()));
        services.Replace(ServiceDescriptor.Singleton<ILedgerProofs>(sp => new LedgerProofs(sp.GetRequiredService<CustodianDatabase>(), sp.GetRequiredService<LedgerProjection>())));
        services.Replace(ServiceDescriptor.Singleton<SqliteAccessLedger>(_ => throw EventsFeatureUnavailable("ledger retention")));
        services.Replace(ServiceDescriptor.Singleton<LedgerRetention>(_ => throw EventsFeatureUnavailable("ledger retention")));
        return services;
    }

    /// <summary>The refusal of a feature that writes the ledger tables around the event log.</summary>
    /// <param name="feature">What was asked for.</param>
    /// <returns>A one-line exception (the CLI exits with code 2).</returns>
    public static InvalidOperationException EventsFeatureUnavailable(string feature) =>
        new EventsUnavailableException($"{feature} writes the ledger tables directly and is not available with the JetStream event log yet (docs/events.md).");

    /// <summary>
    /// Starts the JetStream ledger when configured (connects, ensures the stream, starts the projector); nothing when
    /// embedded. Called by <see cref="CustodianComposition.InitialiseAsync(IServiceProvider, bool, CancellationToken)"/> after migrations.
    /// </summary>
    /// <param name="services">The composed services.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <exception cref="EventsUnavailableException">One line when the event log cannot be used.</exception>
    public static async Task StartAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.GetService<EventsSettings>() is { IsJetStream: true })
        {
            await services.GetRequiredService<JetStreamAccessLedger>().StartAsync(cancellationToken);
        }
    }
}
