using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace Custodian.Cli;

/// <summary>
/// Turns System.CommandLine's parse errors — several lines each, naming .NET types such as <c>System.Int32</c> — into
/// the one plain-words line every bad argument gets (README.md, "CLI exit codes": exit code 1): an unknown verb,
/// option or argument with the <c>--help</c> to run, the allowed choices of an option, the kind and range of number an
/// option takes. Only the first error is reported: the others usually follow from it.
/// </summary>
internal static partial class CliParseErrors
{
    private static readonly ConditionalWeakTable<Option, ValueRange> Ranges = [];

    /// <summary>Remembers an integer option's range (set by <see cref="CustodianCli.InRange"/>) so that a value that is not a number names it.</summary>
    /// <param name="option">The option.</param>
    /// <param name="min">The smallest value allowed.</param>
    /// <param name="max">The largest value allowed.</param>
    public static void RememberRange(Option option, long min, long max) => Ranges.AddOrUpdate(option, new ValueRange(min, max));

    /// <summary>The one line (without the <c>error: </c> prefix) describing the first of <paramref name="parse"/>'s errors.</summary>
    /// <param name="parse">A parse result with at least one error.</param>
    /// <returns>A single line, no newline characters.</returns>
    public static string Describe(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var command = parse.CommandResult.Command;
        var path = string.Join(' ', command.Parents.OfType<Command>().Reverse().Append(command).Where(c => c is not RootCommand).Select(c => c.Name).Prepend("custodian"));
        if (parse.UnmatchedTokens.Count > 0)
        {
            var token = parse.UnmatchedTokens[0];
            return token.StartsWith('-')
                ? $"unknown option '{token}' for '{path}' (run '{path} --help')"
                : command.Subcommands.Count > 0 && command.Arguments.Count == 0
                    ? $"unknown command '{token}' (run '{path} --help')"
                    : $"unexpected argument for '{path}' (run '{path} --help')"; // not echoed: a stray value may be a phone number or an RRN
        }

        var error = parse.Errors[0];
        if (error.SymbolResult is CommandResult { Command: { Action: null, Subcommands.Count: > 0 } })
        {
            // A group of verbs named without one of them ('custodian staff'): say which line lists them.
            return $"'{path}' needs a command (run '{path} --help')";
        }

        var option = error.SymbolResult switch
        {
            OptionResult o => o.Option,
            ArgumentResult { Parent: OptionResult o } => o.Option,
            _ => null,
        };
        var message = error.Message;
        if (option is not null && message.Contains("Must be one of", StringComparison.Ordinal))
        {
            var choices = Quoted().Matches(message.Split('\n', 2)[^1]).Select(m => m.Groups[1].Value);
            return $"{option.Name} must be one of: {string.Join(", ", choices)}";
        }

        if (option is not null && message.StartsWith("Cannot parse argument", StringComparison.Ordinal))
        {
            return $"{option.Name} must be {Kind(option)}";
        }

        if (error.SymbolResult is ArgumentResult { Argument: { } argument } && message.StartsWith("Cannot parse argument", StringComparison.Ordinal))
        {
            return $"<{argument.Name}> must be {KindOf(argument.ValueType)}";
        }

        // Validators' own messages and "Option '--x' is required." are already one plain line.
        return message.Split('\n', 2)[0].Trim();
    }

    /// <summary>
    /// What a ranged integer option takes, in the words of both of its errors (a value that is not a number, one out
    /// of range): <c>a whole number from 1 to 20,000,000</c> — thousands grouped with commas, whatever the culture.
    /// </summary>
    /// <param name="min">The smallest value allowed.</param>
    /// <param name="max">The largest value allowed.</param>
    /// <returns>The phrase, without a trailing period.</returns>
    public static string RangeText(long min, long max) =>
        string.Create(CultureInfo.InvariantCulture, $"a whole number from {min:N0} to {max:N0}");

    private static string Kind(Option option)
    {
        var type = Nullable.GetUnderlyingType(option.ValueType) ?? option.ValueType;
        if (Ranges.TryGetValue(option, out var range))
        {
            return RangeText(range.Min, range.Max);
        }

        return KindOf(type);
    }

    private static string KindOf(Type valueType)
    {
        var type = Nullable.GetUnderlyingType(valueType) ?? valueType;
        return type switch
        {
            _ when type == typeof(int) => string.Create(CultureInfo.InvariantCulture, $"a whole number from {int.MinValue} to {int.MaxValue}"),
            _ when type == typeof(long) => string.Create(CultureInfo.InvariantCulture, $"a whole number from {long.MinValue} to {long.MaxValue}"),
            _ when type == typeof(double) || type == typeof(decimal) => "a number, e.g. 0.5",
            _ when type == typeof(bool) => "true or false",
            _ when type == typeof(DateOnly) => "a date, yyyy-mm-dd",
            _ when type == typeof(DateTimeOffset) || type == typeof(DateTime) => "a date and time, e.g. 2026-01-31T09:00:00Z",
            _ when type == typeof(TimeSpan) => "a duration, [d.]hh:mm:ss",
            _ when type == typeof(Guid) => "a GUID",
            _ when type.IsEnum => "one of: " + string.Join(", ", Enum.GetNames(type).Select(n => n.ToLowerInvariant())),
            _ when type.IsArray => KindOf(type.GetElementType()!), // a repeatable option: each value is one of these
            _ => "a valid value",
        };
    }

    [GeneratedRegex("'([^'\\r\\n]*)'", RegexOptions.CultureInvariant)]
    private static partial Regex Quoted();

    private sealed record ValueRange(long Min, long Max);
}
