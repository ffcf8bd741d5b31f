using System.Text.RegularExpressions;

namespace Custodian.Cli;

/// <summary>
/// Binds a configuration section (environment variables such as <c>Custodian__Masking__Phone</c>) and turns the
/// binder's failure — which names .NET types — into a one-line message that names the setting and the document that
/// lists its allowed values.
/// </summary>
internal static partial class ConfigurationBinding
{
    /// <summary>
    /// Where each configuration section's settings and allowed values are documented, by section prefix (the first two
    /// segments of the setting path, compared case-insensitively as configuration keys are). A setting in no listed
    /// section is in the README's Configuration table.
    /// </summary>
    private static readonly (string Prefix, string Document)[] Documents =
    [
        ("Custodian:Detection", "docs/monitoring.md"),
        ("Custodian:Retention", "docs/review.md"),
        ("Custodian:Review", "docs/review.md"),
        ("Custodian:Gateway", "docs/access.md"),
        ("Custodian:OfficerDevices", "docs/access.md"),
        ("Custodian:DormantAccounts", "docs/access.md"),
        ("Custodian:Siem", "docs/siem.md"),
        ("Custodian:Checkpoints", "docs/ledger-format.md"),
        ("Custodian:JetStream", "docs/events.md"),
    ];

    /// <summary>Binds <paramref name="section"/> to <paramref name="target"/>.</summary>
    /// <exception cref="CliException">A value could not be converted (exit 2), naming the setting and the document that
    /// lists its values, but not echoing the value.</exception>
    public static void Bind(IConfiguration section, object target)
    {
        try
        {
            section.Bind(target);
        }
        catch (InvalidOperationException ex)
        {
            var key = SettingPath().Match(ex.Message) is { Success: true } m ? m.Groups[1].Value : null;
            if (key is null)
            {
                throw new CliException("invalid configuration: a setting has a value that is not allowed (the README's Configuration table lists the documents that list the values).");
            }

            var hint = ex.Message.Contains("'System.TimeSpan'", StringComparison.Ordinal)
                ? "; a time of day or a duration is written hh:mm:ss, e.g. 09:30:00, or d.hh:mm:ss for days"
                : string.Empty;
            throw new CliException($"invalid configuration: {key} has a value that is not allowed ({DocumentFor(key)} lists the values{hint}; {EnvironmentVariable(key)}).");
        }
    }

    /// <summary>
    /// Appends to a rule's refusal <paramref name="message"/> where the setting at <paramref name="settingPath"/> is
    /// documented and its environment variable, in the words of the value-conversion refusal (<see cref="Bind"/>):
    /// <c>Custodian:Retention:Years must be 2-100 (docs/review.md lists the values; as an environment variable it is
    /// Custodian__Retention__Years).</c> A message that already ends in a parenthesis, such as <c>… (PIPA safety
    /// standard Art. 8(1): at least 2 years).</c>, gets the pointer inside it after a semicolon. For one entry of a list
    /// setting (<c>Custodian:Gateway:VdiNetworks:1</c>) the variable is that entry's (<c>Custodian__Gateway__VdiNetworks__1</c>);
    /// for the whole list it says how entries are given (<c>as environment variables its entries are
    /// Custodian__Gateway__VdiNetworks__0, Custodian__Gateway__VdiNetworks__1, …</c>).
    /// </summary>
    /// <param name="message">The rule's one-line refusal, ending in '.' or not.</param>
    /// <param name="settingPath">The configuration path of the setting, e.g. <c>Custodian:DormantAccounts:Days</c>.</param>
    /// <returns>The message with the pointer, ending in '.'.</returns>
    internal static string WithDocumentPointer(string message, string settingPath)
    {
        var pointer = $"{DocumentFor(settingPath)} lists the values; {EnvironmentVariable(settingPath)}";
        var trimmed = message.TrimEnd().TrimEnd('.');
        return trimmed.EndsWith(')') && trimmed.Contains(" (", StringComparison.Ordinal)
            ? $"{trimmed[..^1]}; {pointer})."
            : $"{trimmed} ({pointer}).";
    }

    // A list is set one entry at a time, by index (Custodian__Gateway__VdiNetworks__0, __1, …): the path of one entry
    // (…:VdiNetworks:1) names that entry's variable; the path of the whole list says how its entries are given.
    private static string EnvironmentVariable(string settingPath)
    {
        var variable = settingPath.Replace(":", "__", StringComparison.Ordinal);
        return Hosting.ConfigurationKeys.IsList(settingPath)
            ? $"as environment variables its entries are {variable}__0, {variable}__1, …"
            : "as an environment variable it is " + variable;
    }

    /// <summary>
    /// The document that lists the allowed values of the setting at <paramref name="settingPath"/> (a configuration
    /// path such as <c>Custodian:Detection:StoreOpens</c>): e.g. <c>docs/monitoring.md</c>, or <c>the README's
    /// Configuration table</c> for a setting of no documented section.
    /// </summary>
    internal static string DocumentFor(string settingPath)
    {
        foreach (var (prefix, document) in Documents)
        {
            if (settingPath.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)
                && (settingPath.Length == prefix.Length || settingPath[prefix.Length] == ':'))
            {
                return document;
            }
        }

        return "the README's Configuration table";
    }

    [GeneratedRegex("at '([A-Za-z0-9:_]+)'", RegexOptions.CultureInvariant)]
    private static partial Regex SettingPath();
}
