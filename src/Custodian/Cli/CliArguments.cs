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

    /// <summary>An absolute https:// URL, or a <see cref="CliException"/> naming the option and an example.</summary>
    public static Uri HttpsUrl(string? text, string option, string example = "https://127.0.0.1:7443") =>
        Uri.TryCreate(text, UriKind.Absolute, out var url) && url.Scheme == Uri.UriSchemeHttps
            ? url
            : throw CliException.Usage($"{option} must be an absolute https:// URL, e.g. {example}.");

    /// <summary>
    /// A SHA-256 certificate fingerprint as <c>serve</c> and <c>terminals enroll</c> print it: 64 hex digits (32 bytes,
    /// FIPS 180-4), either case, optionally with colons between bytes (as <c>openssl x509 -fingerprint</c> prints it).
    /// </summary>
    /// <returns>The 64 hex digits, lowercase, without colons.</returns>
    /// <exception cref="CliException">Exit code 1 when the text is not such a fingerprint (a malformed pin is not a mismatch).</exception>
    public static string Sha256Fingerprint(string? text, string option)
    {
        var hex = (text ?? string.Empty).Trim().Replace(":", string.Empty, StringComparison.Ordinal);
        return hex.Length == 64 && hex.All(char.IsAsciiHexDigit)
            ? hex.ToLowerInvariant()
            : throw CliException.Usage($"{option} must be a SHA-256 fingerprint: 64 hex digits (colons between bytes allowed), as 'custodian serve' prints it.");
    }
}
