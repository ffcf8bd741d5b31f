namespace Custodian.Cli;

/// <summary>
/// Checks of the files a verb reads or writes, made before any work is done, so that a wrong path gives a one-line
/// message naming the option and the rule (exit code 1, a bad argument) instead of .NET's own exception text
/// part-way through, and nothing is half-written.
/// </summary>
internal static class CliFiles
{
    /// <summary>
    /// Checks a path an option will write a file to: it must not be an existing directory, nor (on Linux) anything else
    /// that is not a regular file once symbolic links are followed — a device such as <c>/dev/full</c>, a named pipe, a
    /// socket, <c>/dev/stdout</c> — because the file is written beside it and then renamed over the path, which would
    /// replace that node with a regular file; and the directory it would be written in must exist (a verb never creates
    /// directories for an output file).
    /// </summary>
    /// <param name="path">The path as given (relative to the working directory or absolute).</param>
    /// <param name="option">The option or argument name for the message, e.g. <c>--out</c>.</param>
    /// <returns>The full path.</returns>
    /// <exception cref="CliException">Exit code 1 when the path breaks either rule or is not a valid path.</exception>
    public static string OutputFile(string path, string option)
    {
        var full = FullPath(path, option);
        if (Directory.Exists(full))
        {
            throw CliException.Usage($"{option} must name a file, not a directory: {full}");
        }

        if (OperatingSystem.IsLinux() && File.Exists(full) && !IsRegularFile(full))
        {
            throw CliException.Usage($"{option} must name a regular file (it would be replaced, not written to), not a device, named pipe or socket: {full}");
        }

        var parent = Path.GetDirectoryName(full);
        if (parent is not null && !Directory.Exists(parent))
        {
            throw CliException.Usage($"{option}: the directory to write in does not exist (create it first): {parent}");
        }

        return full;
    }

    /// <summary>
    /// Writes an owner-only (0600 on Unix) file atomically: the content goes to a hidden temporary file beside
    /// <paramref name="fullPath"/>, which replaces the target only after <paramref name="write"/> has completed and
    /// the bytes are flushed to disk. When <paramref name="write"/> throws (a refused export, a failed ledger append,
    /// cancellation), the temporary file is deleted and an existing file at the path is left as it was, so a failure
    /// never leaves an empty or half-written export behind.
    /// </summary>
    /// <param name="fullPath">The full path of the file to write, checked by <see cref="OutputFile"/>.</param>
    /// <param name="write">Writes the content to the stream it is given; may throw to abandon the file.</param>
    /// <param name="cancellationToken">Cancels the write (the temporary file is deleted).</param>
    /// <returns>A task that completes when the file is in place.</returns>
    /// <exception cref="IOException">When the directory cannot be written; the exceptions <paramref name="write"/> throws pass through.</exception>
    public static async Task WritePrivateAsync(string fullPath, Func<Stream, Task> write, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        var directory = Path.GetDirectoryName(fullPath) ?? ".";
        var temporary = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.partial");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // exports and reports name staff and subscriber tokens
        }

        var committed = false;
        try
        {
            await using (var stream = new FileStream(temporary, options))
            {
                await write(stream);
                cancellationToken.ThrowIfCancellationRequested();
                await stream.FlushAsync(cancellationToken);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, fullPath, overwrite: true);
            committed = true;
        }
        finally
        {
            if (!committed)
            {
                File.Delete(temporary);
            }
        }
    }

    // Linux statx(2) (glibc 2.28+): struct statx has the same layout on every architecture; stx_mode (__u16) is at byte 28.
    // Symbolic links are followed (flags 0), so a link to a regular file is a regular file. An error (the path vanished,
    // no permission to look) counts as regular: the write itself then reports it.
    private static bool IsRegularFile(string path)
    {
        const int AtFdCwd = -100, StatxType = 0x1, TypeMask = 0xF000, Regular = 0x8000;
        var buffer = new byte[256];
        var name = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        return Statx(AtFdCwd, name, 0, StatxType, buffer) != 0 || (BitConverter.ToUInt16(buffer, 28) & TypeMask) == Regular;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    [System.Runtime.InteropServices.DefaultDllImportSearchPaths(System.Runtime.InteropServices.DllImportSearchPath.SafeDirectories)]
    private static extern int Statx(int directoryFd, byte[] path, int flags, uint mask, [System.Runtime.InteropServices.Out] byte[] buffer);

    /// <summary>Writes <paramref name="text"/> as UTF-8 without a byte-order mark to an owner-only file, atomically (see <see cref="WritePrivateAsync"/>).</summary>
    /// <param name="fullPath">The full path of the file to write, checked by <see cref="OutputFile"/>.</param>
    /// <param name="text">The whole content.</param>
    /// <param name="cancellationToken">Cancels the write (the temporary file is deleted).</param>
    /// <returns>A task that completes when the file is in place.</returns>
    /// <exception cref="IOException">When the directory cannot be written.</exception>
    public static Task WritePrivateTextAsync(string fullPath, string text, CancellationToken cancellationToken = default) =>
        WritePrivateAsync(fullPath, stream => stream.WriteAsync(new System.Text.UTF8Encoding(false).GetBytes(text), cancellationToken).AsTask(), cancellationToken);

    /// <summary>Checks a path an option names a directory by: it must not be an existing file, and its parent directory must exist.</summary>
    /// <param name="path">The path as given.</param>
    /// <param name="option">The option or argument name for the message.</param>
    /// <returns>The full path.</returns>
    /// <exception cref="CliException">Exit code 1 when the path breaks either rule or is not a valid path.</exception>
    public static string OutputDirectory(string path, string option)
    {
        var full = FullPath(path, option);
        if (File.Exists(full))
        {
            throw CliException.Usage($"{option} must name a directory, not a file: {full}");
        }

        var parent = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(full));
        if (parent is not null && !Directory.Exists(parent))
        {
            throw CliException.Usage($"{option}: the directory to create it in does not exist (create it first): {parent}");
        }

        return full;
    }

    /// <summary>
    /// Checks a file a verb reads: it must exist, be a file rather than a directory, and open for reading. A missing
    /// or unreadable input file is a bad argument (exit code 1), like a malformed option value.
    /// </summary>
    /// <param name="path">The path as given.</param>
    /// <param name="option">The option or argument name for the message, e.g. <c>FILE</c> or <c>--staff</c>.</param>
    /// <returns>The file.</returns>
    /// <exception cref="CliException">Exit code 1 when the file is missing, a directory or cannot be opened.</exception>
    public static FileInfo InputFile(string path, string option)
    {
        var full = FullPath(path, option);
        if (Directory.Exists(full))
        {
            throw CliException.Usage($"{option} must name a file, not a directory: {full}");
        }

        if (!File.Exists(full))
        {
            throw CliException.Usage($"{option}: no such file: {full}");
        }

        try
        {
            using var probe = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw CliException.Usage($"{option}: cannot read {full}: {ex.Message}");
        }

        return new FileInfo(full);
    }

    /// <summary>Checks a directory a verb reads: it must exist and be a directory. A missing one is a bad argument (exit code 1).</summary>
    /// <param name="path">The path as given.</param>
    /// <param name="option">The option or argument name for the message, e.g. <c>&lt;in&gt;</c>.</param>
    /// <returns>The full path.</returns>
    /// <exception cref="CliException">Exit code 1 when the directory is missing or is a file.</exception>
    public static string InputDirectory(string path, string option)
    {
        var full = FullPath(path, option);
        return Directory.Exists(full)
            ? full
            : throw CliException.Usage(File.Exists(full) ? $"{option} must name a directory, not a file: {full}" : $"{option}: no such directory: {full}");
    }

    /// <inheritdoc cref="InputFile(string, string)"/>
    public static FileInfo InputFile(FileInfo file, string option) => InputFile(file.ToString(), option);

    private static string FullPath(string path, string option)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw CliException.Usage($"{option} must name a path.");
        }

        try
        {
            return Path.GetFullPath(path);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw CliException.Usage($"{option} is not a valid path.");
        }
    }
}
