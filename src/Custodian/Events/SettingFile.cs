namespace Custodian.Events;

/// <summary>
/// Reads a small file named by a setting (a NATS credentials file, a PEM file of the JetStream TLS settings) without
/// trusting what the path is: at most a stated number of bytes are read, so a device that never ends (<c>/dev/zero</c>,
/// <c>/dev/urandom</c>) is refused as too large instead of filling memory, and the read runs on its own thread for at
/// most <see cref="Timeout"/>, so a named pipe with no writer (whose open blocks in the kernel) is refused instead of
/// hanging the start or a reconnect. The caller turns the reason into its one line naming the setting.
/// </summary>
internal static class SettingFile
{
    /// <summary>Why a file was refused.</summary>
    /// <param name="TooLarge">True when the file holds more than the bytes allowed (the caller names the shape it expects).</param>
    /// <param name="Reason">A lower-case phrase naming neither the path nor the content (see <see cref="TryRead"/>).</param>
    public readonly record struct Refusal(bool TooLarge, string Reason);

    /// <summary>How long a read may take before the file is refused as not a regular file: 5 seconds.</summary>
    public static TimeSpan Timeout { get; } = TimeSpan.FromSeconds(5);

    /// <summary>Reads the whole file if it holds at most <paramref name="maxBytes"/> bytes.</summary>
    /// <param name="path">The file's path, as configured.</param>
    /// <param name="maxBytes">Most bytes accepted; more than zero.</param>
    /// <param name="bytes">The content on success (the caller zeroes it when it is secret); otherwise null.</param>
    /// <returns>
    /// Null on success; else the refusal, whose reason is a lower-case phrase naming neither the path nor the content: <c>no such file</c>,
    /// <c>permission denied</c>, <c>it is a directory</c>, <c>larger than N KiB</c>, <c>not a regular file (no end of file
    /// within 5 s)</c> or <c>cannot be read</c>.
    /// </returns>
    public static Refusal? TryRead(string path, int maxBytes, out byte[]? bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        bytes = null;
        if (Directory.Exists(path))
        {
            return new Refusal(false, "it is a directory");
        }

        var read = Task.Factory.StartNew(() => ReadBounded(path, maxBytes), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        bool ended;
        try
        {
            ended = read.Wait(Timeout);
        }
        catch (AggregateException)
        {
            ended = true; // the read failed: its exception is judged below
        }

        if (!ended)
        {
            // A FIFO's open (or a device's read) is still blocked in the kernel; its thread ends when a writer comes or the
            // process exits. The start stops anyway; a reconnect keeps its last good credentials.
            return new Refusal(false, "not a regular file (no end of file within " + Timeout.TotalSeconds.ToString("0", System.Globalization.CultureInfo.InvariantCulture) + " s)");
        }

        if (read.Exception?.InnerException is { } ex)
        {
            return new Refusal(false, ex switch
            {
                FileNotFoundException or DirectoryNotFoundException => "no such file",
                UnauthorizedAccessException => "permission denied",
                _ => "cannot be read",
            });
        }

        if (read.Result is not { } content)
        {
            return new Refusal(true, "larger than " + (maxBytes / 1024).ToString(System.Globalization.CultureInfo.InvariantCulture) + " KiB");
        }

        bytes = content;
        return null;
    }

    // The content, or null when the file holds more than maxBytes bytes (at most maxBytes + 1 are read).
    private static byte[]? ReadBounded(string path, int maxBytes)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
        var buffer = new byte[maxBytes + 1];
        var total = 0;
        while (total < buffer.Length)
        {
            var n = stream.Read(buffer, total, buffer.Length - total);
            if (n == 0)
            {
                var content = buffer.AsSpan(0, total).ToArray();
                Array.Clear(buffer);
                return content;
            }

            total += n;
        }

        Array.Clear(buffer);
        return null;
    }
}
