using Custodian.Monitoring.Detection;
using Microsoft.Extensions.Configuration;

namespace Custodian.Monitoring;

/// <summary>
/// Reads the detectors' settings (<see cref="DetectionOptions"/>) from the environment, section
/// <see cref="Section"/>: e.g. <c>Custodian__Detection__LocalOffset=09:00:00</c>,
/// <c>Custodian__Detection__StoreOpens=10:00:00</c>, <c>Custodian__Detection__StoreCloses=22:00:00</c>,
/// <c>Custodian__Detection__HoursGrace=00:30:00</c> (TimeSpan values as <c>[-]hh:mm:ss</c>). Unset settings keep the
/// defaults documented on <see cref="DetectionOptions"/> (docs/monitoring.md, "Detectors").
/// </summary>
internal static class DetectionSettings
{
    /// <summary>The configuration section: <c>Custodian:Detection</c> (environment prefix <c>Custodian__Detection__</c>).</summary>
    public const string Section = "Custodian:Detection";

    /// <summary>Binds <see cref="DetectionOptions"/> from the process environment and validates them.</summary>
    /// <returns>The options, validated.</returns>
    /// <exception cref="Cli.CliException">A value cannot be converted or is out of its documented range (the message names the setting, never the value).</exception>
    public static DetectionOptions FromEnvironment() => Bind(new ConfigurationBuilder().AddEnvironmentVariables().Build());

    /// <summary>Binds <see cref="DetectionOptions"/> from <paramref name="configuration"/>'s <see cref="Section"/> and validates them.</summary>
    /// <param name="configuration">The configuration root.</param>
    /// <returns>The options, validated.</returns>
    /// <exception cref="Cli.CliException">A value cannot be converted or is out of its documented range (the message names the setting, never the value).</exception>
    public static DetectionOptions Bind(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new DetectionOptions();
        Cli.ConfigurationBinding.Bind(configuration.GetSection(Section), options);
        try
        {
            options.Validate();
        }
        catch (ArgumentOutOfRangeException ex)
        {
            // "LocalOffset must be within ±14 hours", with where the setting is documented and its variable
            var message = $"{Section}:{ex.Message.Split(" (Parameter", 2)[0]}";
            throw new Cli.CliException("invalid configuration: " + (ex.ParamName is null ? message : Cli.ConfigurationBinding.WithDocumentPointer(message, $"{Section}:{ex.ParamName}")));
        }

        return options;
    }
}
