using System.Text.RegularExpressions;

namespace Custodian.Cli;

/// <summary>
/// Binds a configuration section (environment variables such as <c>Custodian__Masking__Phone</c>) and turns the
/// binder's failure — which names .NET types — into a one-line message that names the setting.
/// </summary>
internal static partial class ConfigurationBinding
{
    /// <summary>Binds <paramref name="section"/> to <paramref name="target"/>.</summary>
    /// <exception cref="CliException">A value could not be converted (exit 2), naming the setting but not echoing the value.</exception>
    public static void Bind(IConfiguration section, object target)
    {
        try
        {
            section.Bind(target);
        }
        catch (InvalidOperationException ex)
        {
            var key = SettingPath().Match(ex.Message) is { Success: true } m ? m.Groups[1].Value : "a setting";
            throw new CliException($"invalid configuration: {key} has a value that is not allowed (the README's Configuration table lists the values; as an environment variable it is {key.Replace(":", "__", StringComparison.Ordinal)}).");
        }
    }

    [GeneratedRegex("at '([A-Za-z0-9:_]+)'", RegexOptions.CultureInvariant)]
    private static partial Regex SettingPath();
}
