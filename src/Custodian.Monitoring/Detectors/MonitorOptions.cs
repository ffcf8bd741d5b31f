using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Custodian.Monitoring;

/// <summary>
/// Settings of the monitor and its <see cref="DistinctSubjectsDetector"/>. Validated by
/// <see cref="MonitorOptionsValidator"/> (register it with <c>ValidateOnStart</c> so bad configuration stops the
/// process, not the first request); <see cref="DistinctSubjectsDetector"/> also validates on construction.
/// The defaults are derived from normal store traffic in docs/monitoring.md. Not thread-safe; treat as immutable
/// once the monitor is built.
/// </summary>
public sealed class MonitorOptions : IValidatableObject
{
    /// <summary>Largest number of windows accepted.</summary>
    public const int MaxWindows = 8;

    /// <summary>
    /// The default windows: 10 minutes → clerk 12 / terminal 16; 1 hour → 40 / 60; 24 hours → 150 / 220
    /// distinct subscribers (docs/monitoring.md, "Default limits").
    /// </summary>
    public static IReadOnlyList<WindowLimit> DefaultWindows { get; } =
    [
        new(TimeSpan.FromMinutes(10), 12, 16),
        new(TimeSpan.FromHours(1), 40, 60),
        new(TimeSpan.FromHours(24), 150, 220),
    ];

    /// <summary>
    /// The sliding windows and their limits, 1–<see cref="MaxWindows"/> of them, each a different length, with
    /// limits that do not decrease as windows lengthen. When binding from configuration, clear the list first
    /// (the configuration binder appends to lists); <c>AddCustodianMonitoring</c> does this.
    /// </summary>
    /// <value>The default is <see cref="DefaultWindows"/>: 10 min → 12 / 16, 1 h → 40 / 60, 24 h → 150 / 220.</value>
    [ValidateEnumeratedItems]
    public IList<WindowLimit> Windows { get; set; } = [.. DefaultWindows];

    /// <summary>
    /// How long the host's guard should wait in <see cref="AccessMonitor.WaitForProcessedAsync"/> for the monitor
    /// to process a principal's previous entry before refusing the read as transiently unavailable
    /// (<see cref="MonitoringErrorCodes.MonitorBehind"/>), 10 milliseconds to 30 seconds.
    /// </summary>
    /// <value>The default is 2 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:30")]
    public TimeSpan GuardWaitTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The largest window's length (zero when <see cref="Windows"/> is empty).</summary>
    public TimeSpan LargestWindow => Windows.Count == 0 ? TimeSpan.Zero : Windows.Max(w => w?.Window ?? TimeSpan.Zero);

    /// <summary>Cross-field rules: at least one and at most <see cref="MaxWindows"/> windows, distinct lengths, limits not decreasing with length.</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Windows is null || Windows.Count == 0 || Windows.Count > MaxWindows)
        {
            yield return new ValidationResult($"Windows must hold 1-{MaxWindows} window limits.", [nameof(Windows)]);
            yield break;
        }

        if (Windows.Any(w => w is null))
        {
            yield return new ValidationResult("Windows must not contain null items.", [nameof(Windows)]);
            yield break;
        }

        var ordered = Windows.OrderBy(w => w.Window).ToList();
        for (var i = 1; i < ordered.Count; i++)
        {
            if (ordered[i].Window == ordered[i - 1].Window)
            {
                yield return new ValidationResult("Windows must each have a different Window length.", [nameof(Windows)]);
            }
            else if (ordered[i].ClerkLimit < ordered[i - 1].ClerkLimit || ordered[i].TerminalLimit < ordered[i - 1].TerminalLimit)
            {
                yield return new ValidationResult("Window limits must not decrease as windows lengthen (a longer window with a smaller limit makes the shorter one meaningless).", [nameof(Windows)]);
            }
        }
    }
}

/// <summary>Source-generated validator of <see cref="MonitorOptions"/>: the <c>[Range]</c> attributes, each <see cref="WindowLimit"/>, and <see cref="MonitorOptions.Validate"/>.</summary>
[OptionsValidator]
public sealed partial class MonitorOptionsValidator : IValidateOptions<MonitorOptions>
{
}
