using System.Net;
using Microsoft.Extensions.Options;

namespace Custodian.Hosting;

/// <summary>Source-generated data-annotation validation of <see cref="CustodianOptions"/>, plus the cross-field rules.</summary>
[OptionsValidator]
public sealed partial class CustodianOptionsValidator : IValidateOptions<CustodianOptions>
{
    /// <summary>Validates <paramref name="options"/> and returns every problem at once.</summary>
    public static IReadOnlyList<string> ValidateAll(CustodianOptions options)
    {
        var failures = new List<string>();
        var generated = new CustodianOptionsValidator().Validate(null, options);
        if (generated.Failed)
        {
            // "TerminalPort: The field CustodianOptions.TerminalPort must be between 0 and 65535." names a .NET type; say
            // which setting it is instead (the serve option, when there is one, is named by the caller's usage text).
            failures.AddRange(generated.Failures.Select(f => GeneratedFailure().Replace(f, "Custodian:$2 $3")));
        }

        if (!IPAddress.TryParse(options.ListenAddress, out _))
        {
            failures.Add($"ListenAddress must be an IP address (got a value of {options.ListenAddress.Length} characters).");
        }

        if (options.TerminalPort != 0 && options.TerminalPort == options.PortalPort)
        {
            failures.Add("the terminal and portal ports must differ (serve --terminal-port / --portal-port, Custodian:TerminalPort / Custodian:PortalPort).");
        }

        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            failures.Add("DataDirectory must not be empty.");
        }
        else if (File.Exists(options.DataDirectory))
        {
            failures.Add($"the data directory (--data, Custodian:DataDirectory) must be a directory, not a file: {options.DataDirectory}");
        }

        failures.AddRange(options.Masking.Validate());
        if (Storage.StorageComposition.Resolve(options) is { IsSuccess: false } storage)
        {
            failures.Add(storage.Error!.Message); // names the setting and the rule, never the value (it may hold a password)
        }

        if (Custodian.Events.EventsComposition.Resolve(options) is { IsSuccess: false } events)
        {
            failures.Add(events.Error!.Message); // names the setting and the rule, never the value (it may hold credentials)
        }

        return failures;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^(\w+): The field CustodianOptions\.([\w.]+) (.*)$", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex GeneratedFailure();
}
