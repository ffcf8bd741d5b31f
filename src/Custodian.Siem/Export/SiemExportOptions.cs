using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Custodian.Siem.Export;

/// <summary>
/// Configuration of the SIEM export that <c>custodian serve</c> runs in the background. Bound from the
/// <c>Custodian:Siem</c> section (environment: <c>Custodian__Siem__To</c>, <c>Custodian__Siem__Tls</c>, …). The export
/// is off while <see cref="To"/> is empty. Validated at start (<see cref="SiemExportOptionsValidator.ValidateAll"/>):
/// a bad value stops the server with a one-line message.
/// </summary>
public sealed class SiemExportOptions
{
    /// <summary>Configuration section name, below the <c>Custodian</c> section.</summary>
    public const string Section = "Siem";

    /// <summary>Largest accepted <see cref="BatchSize"/>.</summary>
    public const int MaxBatchSize = 10_000;

    /// <summary>The syslog receiver, <c>host:port</c>; null or empty turns the export off.</summary>
    /// <value>The default is null (off).</value>
    public string? To { get; set; }

    /// <summary>Whether to use TLS (RFC 5425).</summary>
    /// <value>The default is false (plain TCP; use only on a trusted network).</value>
    public bool Tls { get; set; }

    /// <summary>With <see cref="Tls"/>: a PEM file of the CA certificate(s) that alone are trusted for the receiver's certificate; null for the system trust store.</summary>
    /// <value>The default is null.</value>
    public string? CaFile { get; set; }

    /// <summary>Ledger entries per batch (one write, one flush, one cursor update).</summary>
    /// <value>The default is 500.</value>
    [Range(1, MaxBatchSize)]
    public int BatchSize { get; set; } = 500;

    /// <summary>How often to look for new ledger entries once caught up, in milliseconds.</summary>
    /// <value>The default is 1,000 ms.</value>
    [Range(50, 60_000)]
    public int PollIntervalMs { get; set; } = 1000;

    /// <summary>
    /// Longest wait, in milliseconds, for connecting to the receiver (TCP and TLS handshake together) and for each batch's
    /// write; past it the attempt fails and is retried with back-off (the batch is sent again: at least once).
    /// </summary>
    /// <value>The default is 10,000 ms; 100–300,000.</value>
    [Range(100, 300_000)]
    public int TimeoutMs { get; set; } = 10_000;

    /// <summary>HOSTNAME written in each syslog message (1–255 printable US-ASCII characters); null for the machine name.</summary>
    /// <value>The default is null.</value>
    public string? HostName { get; set; }

    /// <summary>Whether the export is configured (<see cref="To"/> set).</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(To);
}

/// <summary>Source-generated data-annotation validation of <see cref="SiemExportOptions"/>, plus the cross-field rules.</summary>
[OptionsValidator]
public sealed partial class SiemExportOptionsValidator : IValidateOptions<SiemExportOptions>
{
    /// <summary>Every problem with <paramref name="options"/>, each one line naming the setting and the rule (never echoing a value).</summary>
    /// <param name="options">The bound settings.</param>
    /// <returns>The messages of <see cref="Failures"/>, in its order; empty when valid.</returns>
    public static IReadOnlyList<string> ValidateAll(SiemExportOptions options) => [.. Failures(options).Select(f => f.Message)];

    /// <summary>
    /// Every problem with <paramref name="options"/>, each with the setting to change (for the start refusal's pointer to
    /// docs/siem.md and the environment variable) and one line naming the setting and the rule (never echoing a value).
    /// </summary>
    /// <param name="options">The bound settings.</param>
    /// <returns>Empty when valid.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    public static IReadOnlyList<SiemSettingFailure> Failures(SiemExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<SiemSettingFailure>();
        var generated = new SiemExportOptionsValidator().Validate(null, options);
        if (generated.Failed)
        {
            // "BatchSize: The field SiemExportOptions.BatchSize must be between 1 and 10000." names a .NET type; name the setting.
            foreach (var failure in generated.Failures)
            {
                failures.Add(GeneratedFailure().Match(failure) is { Success: true } m
                    ? new($"{Prefix}{m.Groups[2].Value}", $"{Prefix}{m.Groups[2].Value} {m.Groups[3].Value}")
                    : new(Prefix.TrimEnd(':'), failure));
            }
        }

        if (!options.Enabled && (options.Tls || options.CaFile is { Length: > 0 }))
        {
            // Without To the export is off: a forgotten or misspelt To must not silently turn off an export configured for TLS.
            failures.Add(new($"{Prefix}To", "Custodian:Siem:Tls and Custodian:Siem:CaFile need Custodian:Siem:To (host:port); without it the export is off."));
        }

        if (options.Enabled && !SyslogTarget.TryParse(options.To, out _, out var error))
        {
            failures.Add(new($"{Prefix}To", "Custodian:Siem:To " + error));
        }

        if (options.HostName is not null && !Syslog.SiemSyslog.IsValidHostName(options.HostName))
        {
            failures.Add(new($"{Prefix}HostName", "Custodian:Siem:HostName must be 1-255 printable US-ASCII characters (RFC 5424 6.2.4)."));
        }

        if (options.CaFile is { Length: > 0 } ca)
        {
            if (!options.Tls)
            {
                failures.Add(new($"{Prefix}Tls", "Custodian:Siem:CaFile needs Custodian:Siem:Tls=true."));
            }
            else if (!File.Exists(ca))
            {
                failures.Add(new($"{Prefix}CaFile", "Custodian:Siem:CaFile must name an existing PEM file."));
            }
        }

        return failures;
    }

    private const string Prefix = "Custodian:" + SiemExportOptions.Section + ":";

    [System.Text.RegularExpressions.GeneratedRegex(@"^(\w+): The field SiemExportOptions\.([\w.]+) (.*)$", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex GeneratedFailure();
}

/// <summary>One broken rule of the SIEM export settings (<see cref="SiemExportOptionsValidator.Failures"/>).</summary>
/// <param name="Setting">The configuration path of the setting to change, e.g. <c>Custodian:Siem:BatchSize</c>; for <c>Tls</c> or
/// <c>CaFile</c> without a receiver it is <c>Custodian:Siem:To</c>, for <c>CaFile</c> without TLS <c>Custodian:Siem:Tls</c>.</param>
/// <param name="Message">One line naming the setting and the rule, never the value, e.g. <c>Custodian:Siem:BatchSize must be between 1 and 10000.</c></param>
public readonly record struct SiemSettingFailure(string Setting, string Message);
