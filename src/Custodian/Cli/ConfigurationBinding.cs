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
        ("Custodian:Events", "docs/events.md"),
    ];

    /// <summary>
    /// Allowed values of number settings whose rule is checked in code rather than by a
    /// <see cref="System.ComponentModel.DataAnnotations.RangeAttribute"/> on the property (the masking policy, the
    /// JetStream settings' <c>Validate</c>, the detection settings' <c>Validate</c>), by setting path, in the words of
    /// those rules.
    /// </summary>
    /// <remarks>Kept in step with those rules by <c>ConfigurationDocumentsTests.Each_hand_kept_range_is_the_one_the_start_checks_enforce</c>.</remarks>
    internal static readonly IReadOnlyDictionary<string, string> AllowedNumbers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["Custodian:Masking:RrnDigitsShown"] = "7 or 6",
        ["Custodian:Masking:AddressTokensKept"] = "1, 2 or 3",
        ["Custodian:JetStream:Replicas"] = "a whole number from 1 to 5",
        ["Custodian:JetStream:AckTimeoutMilliseconds"] = "a whole number from 100 to 60000",
        ["Custodian:JetStream:WorkerLeaseSeconds"] = "a whole number from 2 to 300",
        ["Custodian:Detection:ContractEndingDays"] = "a whole number from 1 to 365",
        ["Custodian:Detection:OpenLookupsAllowed"] = "a whole number from 1 to 10000",
        ["Custodian:Detection:OpenLookupsStep"] = "a whole number from 1 to 100",
        ["Custodian:Detection:ActiveMinutesAlert"] = "a whole number from 2 to 15",
        ["Custodian:Detection:NotFoundSearchesAlert"] = "a whole number from 1 to 10000",
        ["Custodian:Detection:BlockSearchesAlert"] = "a whole number from 2 to 10000",
        ["Custodian:Detection:TargetingMinSubjects"] = "a whole number from 10 to 100000",
        ["Custodian:Detection:BaselineK"] = "a number from 1 to 100",
        ["Custodian:Detection:BaselineMinDays"] = "a whole number from 3 to 30",
        ["Custodian:Detection:PeerGroupMinSize"] = "a whole number from 2 to 1000",
        ["Custodian:Detection:SharedOrphansSuspend"] = "a whole number from 1 to 1000",
        ["Custodian:Detection:SideLookupsAllowed"] = "a whole number from 0 to 1000",
        ["Custodian:Detection:AlertRisk"] = "a whole number from 1 to 100, with AlertRisk <= StepUpRisk <= SuspendRisk",
        ["Custodian:Detection:StepUpRisk"] = "a whole number from 1 to 100, with AlertRisk <= StepUpRisk <= SuspendRisk",
        ["Custodian:Detection:SuspendRisk"] = "a whole number from 1 to 100, with AlertRisk <= StepUpRisk <= SuspendRisk",
    };

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
            var expected = Expected(target.GetType(), (section as IConfigurationSection)?.Path, key) is { } what ? ": it must be " + what : string.Empty;
            throw new CliException($"invalid configuration: {key} has a value that is not allowed{expected} ({DocumentFor(key)} lists the values{hint}; {EnvironmentVariable(key)}).");
        }
    }

    /// <summary>
    /// Runs a section's <c>Validate()</c> (<paramref name="validate"/>) and turns its <see cref="ArgumentOutOfRangeException"/>
    /// into the one line every refused setting gets: <c>invalid configuration: &lt;rule&gt; (&lt;document&gt; lists the values; as an
    /// environment variable it is …)</c> (<see cref="WithDocumentPointer"/>, the setting named by the exception's parameter
    /// under <paramref name="section"/>). Used by the start checks of <c>serve</c>/<c>init</c> and by the verbs that resolve
    /// the options themselves (<c>ledger retention</c>, <c>review</c>).
    /// </summary>
    /// <param name="validate">The validation to run.</param>
    /// <param name="section">The section's configuration path, e.g. <c>Custodian:Retention</c>; null to name no document.</param>
    /// <exception cref="CliException">When <paramref name="validate"/> refuses a value (exit 2); the value is never echoed.</exception>
    internal static void Checked(Action validate, string? section)
    {
        ArgumentNullException.ThrowIfNull(validate);
        try
        {
            validate();
        }
        catch (ArgumentOutOfRangeException ex)
        {
            var message = ex.Message.Split(" (Parameter", 2)[0];
            throw new CliException("invalid configuration: " + (section is null || ex.ParamName is null ? message : WithDocumentPointer(message, $"{section}:{ex.ParamName}")));
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

    /// <summary>
    /// What the setting at <paramref name="key"/> takes, from the type of the property it binds to (under
    /// <paramref name="rootType"/>, the type bound at <paramref name="sectionPath"/>): the names of an enumeration
    /// (<c>FirstAndLast or FirstOnly</c>), a whole number with its range (<c>a whole number from 0 to 65535</c>), a number,
    /// or true or false; <see langword="null"/> for another type or a path that names no property.
    /// </summary>
    internal static string? Expected(Type rootType, string? sectionPath, string key)
    {
        if (sectionPath is null || !key.StartsWith(sectionPath + ":", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var type = rootType;
        System.Reflection.PropertyInfo? property = null;
        foreach (var segment in key[(sectionPath.Length + 1)..].Split(':'))
        {
            if (type.GetProperty(segment, System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.IgnoreCase) is { } p)
            {
                property = p;
                type = p.PropertyType;
            }
            else if (type.IsGenericType && type.GetGenericArguments() is { Length: > 0 } arguments)
            {
                property = null; // an entry of a list or map: the property's range is not the entry's
                type = arguments[^1];
            }
            else
            {
                return null;
            }
        }

        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.IsEnum)
        {
            var names = Enum.GetNames(type);
            return names.Length == 1 ? names[0] : string.Join(", ", names[..^1]) + " or " + names[^1];
        }

        if (type == typeof(bool))
        {
            return "true or false";
        }

        if (type == typeof(double) || type == typeof(float) || type == typeof(decimal))
        {
            return AllowedNumbers.TryGetValue(key, out var allowed) ? allowed : "a number" + RangeOf(property);
        }

        if (type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(byte) || type == typeof(uint) || type == typeof(ulong) || type == typeof(ushort))
        {
            return AllowedNumbers.TryGetValue(key, out var allowed) ? allowed : "a whole number" + RangeOf(property);
        }

        return null;

        static string RangeOf(System.Reflection.PropertyInfo? property) =>
            property?.GetCustomAttributes(typeof(System.ComponentModel.DataAnnotations.RangeAttribute), inherit: true).FirstOrDefault() is System.ComponentModel.DataAnnotations.RangeAttribute range
                ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $" from {range.Minimum} to {range.Maximum}")
                : string.Empty;
    }

    [GeneratedRegex("at '([A-Za-z0-9:_]+)'", RegexOptions.CultureInvariant)]
    private static partial Regex SettingPath();
}
