using System.Globalization;

namespace Custodian.Files;

/// <summary>
/// Checks that a key file is owner-only, as OpenSSH checks a private key: a file whose Unix mode gives group or others any
/// bit (<c>mode &amp; 0o077 != 0</c>) is refused. Thread-safe; reads the file's mode at each call.
/// </summary>
public static class KeyFilePermissions
{
    /// <summary>The mode bits of group and others (octal 0077).</summary>
    public const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>True when the file at <paramref name="path"/> is readable, writable or executable by group or others (always false on Windows).</summary>
    /// <param name="path">An existing file.</param>
    /// <exception cref="FileNotFoundException">When the file does not exist.</exception>
    public static bool IsGroupOrOtherAccessible(string path) =>
        !OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & GroupOrOther) != 0;

    /// <summary>
    /// The one-line refusal for an existing key file that group or others can access, naming the file, its mode (4 octal
    /// digits) and the fix, or null when the file is missing or owner-only (always null on Windows).
    /// </summary>
    /// <param name="path">The key file; reported as given.</param>
    /// <param name="what">What the file is, e.g. <c>the master key</c>.</param>
    public static string? Refusal(string path, string what)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(path) || !IsGroupOrOtherAccessible(path))
        {
            return null;
        }

        var mode = Convert.ToString((int)File.GetUnixFileMode(path), 8).PadLeft(4, '0');
        return string.Create(CultureInfo.InvariantCulture, $"{what} {path} is accessible by group or others (mode {mode}); a key file must be owner-only: run 'chmod 600 {path}' (and check who could have read it).");
    }
}
