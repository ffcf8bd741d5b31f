using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace Custodian.Hosting;

/// <summary>
/// The settings that exist under the <c>Custodian</c> configuration section, derived from the option classes that bind
/// them (<see cref="CustodianOptions"/> with its <c>Masking</c> and <c>JetStream</c> parts, and the sections
/// <c>Gateway</c>, <c>OfficerDevices</c>, <c>DormantAccounts</c>, <c>Siem</c>, <c>Checkpoints</c>, <c>Retention</c>,
/// <c>Review</c>, <c>Detection</c> and <c>Notices</c>). The configuration binder ignores a key no property matches, so a
/// misspelt setting (<c>Custodian__Gateway__Zone__S001__Networks__0</c> for <c>…__Zones__…</c>) would leave the default in
/// force without a word — for a zone, an open network. <see cref="FindUnknown"/> finds such keys so that start-up stops
/// instead (README.md, "Configuration").
/// </summary>
public static class ConfigurationKeys
{
    private static readonly Lazy<Shape> Root = new(BuildRoot);

    /// <summary>
    /// The first key under <c>Custodian</c> in <paramref name="configuration"/> that no setting matches, with the nearest
    /// valid key, as a one-line message; <see langword="null"/> when every key is known. Keys are compared without case,
    /// as the configuration system does; values are never read into the message.
    /// </summary>
    /// <param name="configuration">The configuration root (environment variables, and in the server also <c>appsettings.json</c>).</param>
    /// <returns>For example <c>unknown setting Custodian:Gateway:Zone (environment variable Custodian__Gateway__Zone); did you mean Custodian:Gateway:Zones?</c>, or <see langword="null"/>.</returns>
    public static string? FindUnknown(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return Check(configuration.GetSection(CustodianOptions.Section), Root.Value);
    }

    /// <summary>
    /// The sections under <c>Custodian</c> that the server reads from <c>appsettings.json</c> in the data directory:
    /// <c>Gateway</c> (docs/access.md §3), <c>OfficerDevices</c> and <c>DormantAccounts</c> (docs/access.md §6–7) and
    /// <c>Siem</c> (docs/siem.md). Every other setting is read from the environment only (README, "Configuration").
    /// </summary>
    public static IReadOnlyList<string> FileSections { get; } = ["Gateway", "OfficerDevices", "DormantAccounts", "Siem"];

    /// <summary>
    /// The first setting under <c>Custodian</c> in a settings file of the data directory that the server does not read
    /// from a file (outside <see cref="FileSections"/>), as a one-line message naming the file, the setting and the
    /// environment variable to use instead; <see langword="null"/> when there is none. Before this check such a setting
    /// (e.g. <c>Custodian:Storage</c>) was ignored without a word and the default stayed in force: a node meant for
    /// PostgreSQL started on its own embedded SQLite ledger. Values are never read into the message.
    /// </summary>
    /// <param name="file">The settings file's configuration alone (one JSON file).</param>
    /// <param name="fileName">The file's name as shown, e.g. <c>appsettings.json</c>.</param>
    /// <returns>For example <c>appsettings.json in the data directory sets Custodian:Storage, which is read only from the environment: set Custodian__Storage instead (only Custodian:Gateway, OfficerDevices, DormantAccounts and Siem are read from this file)</c>, or <see langword="null"/>.</returns>
    public static string? FindNotReadFromFile(IConfiguration file, string fileName)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        return FirstSettingIn(file, top => !FileSections.Contains(top, StringComparer.OrdinalIgnoreCase)) is { } path
            ? $"{fileName} in the data directory sets {path}, which is read only from the environment: set {EnvironmentName(path)} instead "
                + $"(only {CustodianOptions.Section}:{string.Join(", ", FileSections)} are read from this file)"
            : null;
    }

    /// <summary>
    /// The first setting under <c>Custodian:JetStream</c> in <paramref name="configuration"/> when the server runs on the
    /// embedded event log, as a one-line message naming the setting and the option that makes it apply;
    /// <see langword="null"/> when there is none. The embedded event log never reads these settings: before this check
    /// <c>Custodian__JetStream__Replicas=3</c> on a node started without <c>--events</c> was accepted without a word, and
    /// the operator believed the ledger replicated (docs/events.md). Values are never read into the message.
    /// </summary>
    /// <param name="configuration">The configuration the server reads (the environment; a settings file is refused by <see cref="FindNotReadFromFile"/> first).</param>
    /// <returns>For example <c>Custodian:JetStream:Replicas (environment variable Custodian__JetStream__Replicas) applies only with the JetStream event log (serve --events nats://host:port, or Custodian__Events); this server uses the embedded event log, which does not read it (docs/events.md)</c>, or <see langword="null"/>.</returns>
    public static string? FindJetStreamWithEmbeddedEvents(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return FirstSettingIn(configuration, top => string.Equals(top, Events.JetStreamOptions.Section, StringComparison.OrdinalIgnoreCase)) is { } path
            ? $"{path} (environment variable {EnvironmentName(path)}) applies only with the JetStream event log (serve --events nats://host:port, or Custodian__Events); "
                + "this server uses the embedded event log, which does not read it (docs/events.md)"
            : null;
    }

    // The path (Custodian:Top:…) of the first setting with a value, in key order without case, whose first segment under
    // Custodian (Top) is one of the refused sections; null when there is none. Shared by the refusals of settings the
    // server would not read (FindNotReadFromFile, FindJetStreamWithEmbeddedEvents).
    private static string? FirstSettingIn(IConfiguration configuration, Func<string, bool> refusedSection)
    {
        foreach (var (key, value) in configuration.GetSection(CustodianOptions.Section).AsEnumerable(makePathsRelative: true).OrderBy(p => p.Key, StringComparer.OrdinalIgnoreCase))
        {
            if (value is not null // a section is not a setting
                && refusedSection(key.Split(':', 2)[0]))
            {
                return CustodianOptions.Section + ":" + key;
            }
        }

        return null;
    }

    private static string? Check(IConfigurationSection section, Shape shape)
    {
        foreach (var child in section.GetChildren().OrderBy(c => c.Key, StringComparer.OrdinalIgnoreCase))
        {
            Shape? next;
            string? nearest = null;
            switch (shape)
            {
                case ObjectShape o:
                    if (!o.Properties.TryGetValue(child.Key, out next))
                    {
                        nearest = section.Path + ":" + Nearest(child.Key, o.Properties.Keys);
                    }

                    break;
                case SequenceShape s:
                    next = int.TryParse(child.Key, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _) ? s.Element : null;
                    nearest ??= section.Path + ":0";
                    break;
                case MapShape m:
                    next = m.Value;
                    break;
                default: // a single value has no settings under it
                    next = null;
                    nearest = section.Path;
                    break;
            }

            if (next is null)
            {
                return $"unknown setting {child.Path} (environment variable {EnvironmentName(child.Path)}); did you mean {nearest}?";
            }

            if (child.Value is not null && next is not LeafShape)
            {
                // The binder drops a single value where a section, list or map is expected (Zones__0=10.0.0.0/8 left
                // the zones off without a word), so it is refused like an unknown key, naming what the setting takes.
                return shape is MapShape map
                    ? NotASingleValue(child.Path, map.Key.EntryNoun, section.Path + ":" + map.Key.Placeholder, next, map.Key)
                    : NotASingleValue(child.Path, Noun(next), child.Path, next, null);
            }

            if (Check(child, next) is { } problem)
            {
                return problem;
            }
        }

        return null;
    }

    // "… must be a zone, not a single value: it is set as Custodian__Gateway__Zones__STORE__Networks__0 = a CIDR
    // network, STORE being the store code (docs/access.md)". The example is the first setting under the expected shape.
    private static string NotASingleValue(string path, string noun, string examplePrefix, Shape shape, MapKey? entryOf)
    {
        var example = examplePrefix;
        var placeholders = new List<string>();
        while (shape is not LeafShape)
        {
            switch (shape)
            {
                case ObjectShape o when o.Properties.Count > 0:
                    var first = o.Properties.First();
                    example += ":" + first.Key;
                    shape = first.Value;
                    break;
                case SequenceShape s:
                    example += ":0";
                    shape = s.Element;
                    break;
                case MapShape m:
                    example += ":" + m.Key.Placeholder;
                    placeholders.Add($"{m.Key.Placeholder} being {m.Key.Meaning}");
                    shape = m.Value;
                    break;
                default:
                    shape = LeafShape.Instance;
                    break;
            }
        }

        var meaning = ((LeafShape)shape).Meaning;
        if (entryOf is not null)
        {
            placeholders.Insert(0, $"{entryOf.Placeholder} being {entryOf.Meaning}");
        }

        return $"{path} (environment variable {EnvironmentName(path)}) must be {noun}, not a single value: it is set as {EnvironmentName(example)}"
            + (meaning is null ? string.Empty : " = " + meaning)
            + string.Concat(placeholders.Select(p => ", " + p))
            + $" ({Cli.ConfigurationBinding.DocumentFor(path)})";
    }

    private static string Noun(Shape shape) => shape switch
    {
        SequenceShape => "a list",
        MapShape m => m.Key.MapNoun,
        _ => "a section",
    };

    /// <summary>
    /// Whether the setting at <paramref name="settingPath"/> is a list (a sequence of entries, each set by its index, as
    /// <c>Custodian__Gateway__VdiNetworks__0</c>), and not one entry or a single value. Keys are compared without case.
    /// </summary>
    /// <param name="settingPath">A configuration path under <c>Custodian</c>, e.g. <c>Custodian:OfficerDevices:Stores</c>.</param>
    /// <returns>True for a list; false for anything else, including a path that names no setting.</returns>
    internal static bool IsList(string settingPath)
    {
        var segments = settingPath.Split(':');
        if (!string.Equals(segments[0], CustodianOptions.Section, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        Shape? shape = Root.Value;
        foreach (var segment in segments.Skip(1))
        {
            shape = shape switch
            {
                ObjectShape o => o.Properties.GetValueOrDefault(segment),
                SequenceShape s when int.TryParse(segment, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _) => s.Element,
                MapShape m => m.Value,
                _ => null,
            };
            if (shape is null)
            {
                return false;
            }
        }

        return shape is SequenceShape;
    }

    private static string EnvironmentName(string path) => path.Replace(":", "__", StringComparison.Ordinal);

    private static string Nearest(string key, IEnumerable<string> candidates) =>
        candidates.OrderBy(c => Distance(key.ToUpperInvariant(), c.ToUpperInvariant())).ThenBy(c => c, StringComparer.Ordinal).First();

    /// <summary>Levenshtein distance (insertions, deletions, substitutions of one character each).</summary>
    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    private static Shape BuildRoot()
    {
        var root = (ObjectShape)ShapeOf(typeof(CustodianOptions));
        var sections = new (string Name, Type Type)[]
        {
            (Gateway.GatewayOptions.Section, typeof(Gateway.GatewayOptions)),
            (Approvals.OfficerDeviceOptions.Section, typeof(Approvals.OfficerDeviceOptions)),
            (StaffLifecycle.DormantAccountOptions.Section, typeof(StaffLifecycle.DormantAccountOptions)),
            (Siem.Export.SiemExportOptions.Section, typeof(Siem.Export.SiemExportOptions)),
            (Last(Ledger.Checkpoints.CheckpointOptions.Section), typeof(Ledger.Checkpoints.CheckpointOptions)),
            (Last(Ledger.Retention.RetentionOptions.Section), typeof(Ledger.Retention.RetentionOptions)),
            (Last(Review.ReviewOptions.Section), typeof(Review.ReviewOptions)),
            (Last(Monitoring.DetectionSettings.Section), typeof(Monitoring.Detection.DetectionOptions)),
        };
        foreach (var (name, type) in sections)
        {
            root.Properties[name] = ShapeOf(type);
        }

        // Custodian__Notices__Cycle is read by 'notices run' directly (docs/portal.md).
        root.Properties["Notices"] = new ObjectShape(new Dictionary<string, Shape>(StringComparer.OrdinalIgnoreCase) { ["Cycle"] = LeafShape.Instance });
        return root;

        static string Last(string path) => path[(path.LastIndexOf(':') + 1)..];
    }

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Option classes are referenced statically and kept whole.")]
    [UnconditionalSuppressMessage("Trimming", "IL2062", Justification = "Option classes are referenced statically and kept whole.")]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Option classes are referenced statically and kept whole.")]
    private static Shape ShapeOf(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string) || type.IsPrimitive || type.IsEnum || TypeDescriptor.GetConverter(type).CanConvertFrom(typeof(string)))
        {
            return LeafShape.Instance;
        }

        if (type.IsArray)
        {
            return new SequenceShape(ShapeOf(type.GetElementType()!));
        }

        var interfaces = type.IsInterface ? [type, .. type.GetInterfaces()] : type.GetInterfaces();
        if (interfaces.FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>)) is { } dictionary)
        {
            return new MapShape(ShapeOf(dictionary.GetGenericArguments()[1]), MapKey.Generic);
        }

        if (interfaces.FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>)) is { } sequence)
        {
            return new SequenceShape(ShapeOf(sequence.GetGenericArguments()[0]));
        }

        if (type.Namespace?.StartsWith(nameof(Custodian), StringComparison.Ordinal) != true)
        {
            return LeafShape.Instance; // e.g. IPAddress: not an option class
        }

        var properties = new Dictionary<string, Shape>(StringComparer.OrdinalIgnoreCase);
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetMethod is not { IsPublic: true } || property.GetIndexParameters().Length > 0)
            {
                continue;
            }

            var shape = Annotate(property.Name, ShapeOf(property.PropertyType));
            var settable = property.SetMethod is { IsPublic: true };
            if (settable || shape is not LeafShape) // the binder fills get-only collections and objects in place
            {
                properties[property.Name] = shape;
            }
        }

        return new ObjectShape(properties);
    }

    // What the entries of a list (or of the lists of a map) are, by the setting's name: the value side of an example.
    private static readonly Dictionary<string, string> EntryMeanings = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Networks"] = "a CIDR network",
        ["VdiNetworks"] = "a CIDR network",
        ["TrustedProxyNetworks"] = "a CIDR network",
        ["TrustedProxies"] = "an IP address",
        ["TaskClasses"] = "a trust class",
        ["Stores"] = "a store code",
        ["ServerNames"] = "a host name",
        ["WatchList"] = "a subscriber ID",
    };

    // The keys of each map setting, by the setting's name; others get the generic description.
    private static readonly Dictionary<string, MapKey> MapKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Zones"] = new("STORE", "the store code", "the zones by store code", "a zone"),
        ["TaskClasses"] = new("TASK", "a ledger task name (unmask, export, download, view, search)", "the trust classes by task", "a list of trust classes"),
    };

    private static Shape Annotate(string name, Shape shape) => shape switch
    {
        SequenceShape { Element: LeafShape } when EntryMeanings.TryGetValue(name, out var meaning) => new SequenceShape(new LeafShape(meaning)),
        MapShape m => new MapShape(Annotate(name, m.Value), MapKeys.GetValueOrDefault(name) ?? MapKey.Generic),
        _ => shape,
    };

    private abstract record Shape;

    private sealed record LeafShape(string? Meaning) : Shape
    {
        public static readonly LeafShape Instance = new((string?)null);
    }

    private sealed record ObjectShape(Dictionary<string, Shape> Properties) : Shape;

    private sealed record SequenceShape(Shape Element) : Shape;

    private sealed record MapShape(Shape Value, MapKey Key) : Shape;

    // How a map's keys are shown in an example (STORE), what they are, and what the map and one entry are called.
    private sealed record MapKey(string Placeholder, string Meaning, string MapNoun, string EntryNoun)
    {
        public static readonly MapKey Generic = new("KEY", "the entry's name", "a set of named entries", "an entry");
    }
}
