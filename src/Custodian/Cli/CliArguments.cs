using System.CommandLine;

namespace Custodian.Cli;

/// <summary>Parsing of CLI argument values that System.CommandLine has no converter for, with one-line errors.</summary>
internal static class CliArguments
{
    /// <summary>
    /// Refuses an empty or blank value of <paramref name="option"/> while parsing, so that every verb taking it reports
    /// the same one line (<c>error: --data must not be empty</c>, exit 1) instead of failing later on an empty path or
    /// taking an empty <c>--storage</c> for the default backend.
    /// </summary>
    /// <typeparam name="TOption">The option's type (a string option, required or not).</typeparam>
    /// <param name="option">A string option naming a path, a code, a backend or a URL.</param>
    /// <returns><paramref name="option"/>, for chaining.</returns>
    public static TOption NotEmpty<TOption>(this TOption option)
        where TOption : Option
    {
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && string.IsNullOrWhiteSpace(result.Tokens[^1].Value))
            {
                result.AddError($"{option.Name} must not be empty");
            }
        });
        return option;
    }

    /// <summary>
    /// Refuses the default an option takes from the environment variable <paramref name="variable"/> when that variable
    /// is set but blank (spaces only), e.g. <c>CUSTODIAN_DATA is blank: set it to the data directory, or unset it …</c>,
    /// instead of a later, vaguer error. An explicit value on the command line is not affected.
    /// </summary>
    /// <param name="option">The option whose default is read from <paramref name="variable"/>.</param>
    /// <param name="variable">The environment variable, e.g. <c>CUSTODIAN_DATA</c>.</param>
    /// <param name="setTo">What to set it to, after "set it to".</param>
    /// <returns><paramref name="option"/>.</returns>
    public static TOption NotBlankInEnvironment<TOption>(this TOption option, string variable, string setTo)
        where TOption : Option
    {
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count == 0 && Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value && string.IsNullOrWhiteSpace(value))
            {
                result.AddError($"{variable} is blank: set it to {setTo}");
            }
        });
        return option;
    }

    /// <summary>An absolute https:// URL, or a <see cref="CliException"/> naming the option and an example.</summary>
    public static Uri HttpsUrl(string? text, string option, string example = "https://127.0.0.1:7443") =>
        Uri.TryCreate(text, UriKind.Absolute, out var url) && url.Scheme == Uri.UriSchemeHttps
            ? url
            : throw CliException.Usage($"{option} must be an absolute https:// URL, e.g. {example}.");

    /// <summary>
    /// A SHA-256 certificate fingerprint (32 bytes, FIPS 180-4) in exactly one of two forms: 64 hex digits, as
    /// <c>serve</c> and <c>terminals enroll</c> print it, or 32 colon-separated pairs of hex digits, as
    /// <c>openssl x509 -fingerprint -sha256</c> prints it. Its letters are all lowercase or all uppercase; nothing else
    /// (colons after only some bytes, mixed case, spaces) is accepted.
    /// </summary>
    /// <returns>The 64 hex digits, lowercase, without colons.</returns>
    /// <exception cref="CliException">Exit code 1 when the text is not such a fingerprint (a malformed pin is not a mismatch); the message names the two forms and never repeats the text.</exception>
    public static string Sha256Fingerprint(string? text, string option)
    {
        var value = text ?? string.Empty;
        var plain = value.Length == 64 && value.All(char.IsAsciiHexDigit);
        var paired = value.Length == (32 * 3) - 1
            && Enumerable.Range(0, value.Length).All(i => i % 3 == 2 ? value[i] == ':' : char.IsAsciiHexDigit(value[i]));
        var oneCase = !value.Any(char.IsAsciiLetterLower) || !value.Any(char.IsAsciiLetterUpper);
        return (plain || paired) && oneCase
            ? value.Replace(":", string.Empty, StringComparison.Ordinal).ToLowerInvariant()
            : throw CliException.Usage($"{option} must be a SHA-256 fingerprint in one of two forms: 64 hex digits, or 32 colon-separated pairs of hex digits (AB:CD:…); one case throughout.");
    }
}
