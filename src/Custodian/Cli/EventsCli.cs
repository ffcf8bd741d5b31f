using System.CommandLine;
using Custodian.Events;
using Custodian.Hosting;

namespace Custodian.Cli;

/// <summary>The event-log setting on the command line (<c>serve --events</c>) and for the administrative verbs (environment only); docs/events.md.</summary>
internal static class EventsCli
{
    /// <summary><c>--events</c>: overrides <c>Custodian__Events</c>; an empty or blank value is a parse error (exit 1, <c>error: --events must not be empty</c>).</summary>
    public static Option<string?> EventsOption() => new Option<string?>("--events")
    {
        Description = "Event log: 'embedded' (default, in-process) or a nats://host:port URL of a NATS server with JetStream. Default: $Custodian__Events.",
    }.NotEmpty(); // an empty value is refused (exit 1), never taken for the default

    /// <summary>Applies <c>--events</c> when given.</summary>
    public static void ApplyOverride(CustodianOptions options, string? value)
    {
        if (value is not null)
        {
            options.Events = value;
        }
    }

    /// <summary>Binds <c>Custodian__Events</c> and <c>Custodian__JetStream__*</c> for the administrative verbs, so that they append through the server's event log.</summary>
    /// <exception cref="CliException">When a JetStream value cannot be converted (exit 2).</exception>
    public static void BindFromEnvironment(CustodianOptions options)
    {
        var section = new ConfigurationBuilder().AddEnvironmentVariables().Build().GetSection(CustodianOptions.Section);
        options.Events = section[nameof(CustodianOptions.Events)] ?? options.Events;
        ConfigurationBinding.Bind(section.GetSection(JetStreamOptions.Section), options.JetStream);
    }

    /// <summary>
    /// Refuses a configured event log other than the one the data directory's deployment recorded (embedded or a JetStream
    /// stream and subject prefix; docs/events.md, "One event log per deployment"), before anything is opened or appended.
    /// </summary>
    /// <param name="paths">The data directory.</param>
    /// <param name="options">The configuration, with <c>Custodian__Events</c> and <c>Custodian__JetStream__*</c> bound.</param>
    /// <exception cref="CliException">One line naming the recorded and the configured event log and the settings to use (exit 2, <see cref="CliExitCodes.Failed"/>).</exception>
    public static void CheckRecorded(DataPaths paths, CustodianOptions options)
    {
        if (EventsComposition.Resolve(options) is { IsSuccess: true, Value: { } settings } && StorageRecord.CheckEvents(paths, settings) is { } problem)
        {
            throw new CliException(problem, CliExitCodes.Failed);
        }
    }

    /// <summary>Proves a configured NATS server reachable with JetStream enabled (nothing to do when embedded).</summary>
    /// <exception cref="EventsUnavailableException">With a one-line reason.</exception>
    public static async Task CheckAvailableAsync(CustodianOptions options, CancellationToken cancellationToken)
    {
        if (EventsComposition.Resolve(options) is { IsSuccess: true, Value: { IsJetStream: true } settings })
        {
            await JetStreamAccessLedger.CheckAvailableAsync(settings, cancellationToken);
        }
    }
}
