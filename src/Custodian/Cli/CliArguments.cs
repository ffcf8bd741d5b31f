namespace Custodian.Cli;

/// <summary>Parsing of CLI argument values that System.CommandLine has no converter for, with one-line errors.</summary>
internal static class CliArguments
{
    /// <summary>An absolute https:// URL, or a <see cref="CliException"/> naming the option and an example.</summary>
    public static Uri HttpsUrl(string? text, string option, string example = "https://127.0.0.1:7443") =>
        Uri.TryCreate(text, UriKind.Absolute, out var url) && url.Scheme == Uri.UriSchemeHttps
            ? url
            : throw CliException.Usage($"{option} must be an absolute https:// URL, e.g. {example}.");
}
