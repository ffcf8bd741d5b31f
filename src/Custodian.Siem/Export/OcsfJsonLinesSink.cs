using System.Text;
using Custodian.Siem.Ocsf;

namespace Custodian.Siem.Export;

/// <summary>
/// Writes events as OCSF JSON lines (one compact JSON object per line, UTF-8, LF), appending to a file
/// (flushed to disk before <see cref="WriteAsync"/> returns) or to standard output.
/// </summary>
public sealed class OcsfJsonLinesSink : ISiemSink
{
    private readonly Stream _stream;
    private readonly bool _ownsStream;

    private OcsfJsonLinesSink(Stream stream, bool ownsStream, string id)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        Id = id;
    }

    /// <inheritdoc />
    public string Id { get; }

    /// <summary>Appends to <paramref name="path"/> (created with owner-only permissions where supported); cursor key <c>ocsf-json:&lt;full path&gt;</c>.</summary>
    /// <exception cref="IOException">When the file cannot be opened.</exception>
    public static OcsfJsonLinesSink ToFile(string path)
    {
        var full = Path.GetFullPath(path);
        var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.Read };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        return new OcsfJsonLinesSink(new FileStream(full, options), ownsStream: true, "ocsf-json:" + full);
    }

    /// <summary>Writes to <paramref name="stdout"/>; cursor key <c>ocsf-json:stdout</c>.</summary>
    public static OcsfJsonLinesSink ToStandardOutput(Stream stdout) => new(stdout, ownsStream: false, "ocsf-json:stdout");

    /// <inheritdoc />
    public async ValueTask WriteAsync(IReadOnlyList<OcsfEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        var sb = new StringBuilder(events.Count * 600);
        foreach (var e in events)
        {
            sb.Append(e.ToJsonLine()).Append('\n');
        }

        await _stream.WriteAsync(Encoding.UTF8.GetBytes(sb.ToString()), cancellationToken);
        if (_stream is FileStream file)
        {
            file.Flush(flushToDisk: true);
        }
        else
        {
            await _stream.FlushAsync(cancellationToken);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_ownsStream)
        {
            await _stream.DisposeAsync();
        }
    }
}
