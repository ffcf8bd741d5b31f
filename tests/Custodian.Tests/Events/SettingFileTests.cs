using System.Diagnostics;
using Custodian.Events;

namespace Custodian.Tests.Events;

/// <summary>
/// Files named by the event log's settings (credentials, TLS) that are not small regular files — a device that never
/// ends, a named pipe with no writer, a directory — are refused in one line naming the setting when the settings are read:
/// never an out-of-memory crash or a start that hangs (README-only evaluation, 2026-12-04).
/// </summary>
public sealed class SettingFileTests : IDisposable
{
    private const string Pointer = "; docs/events.md lists the values; as an environment variable it is Custodian__JetStream__";
    private readonly DirectoryInfo _files = Directory.CreateTempSubdirectory("custodian-setting-file-");

    [Fact]
    public void A_device_that_never_ends_is_refused_as_too_large_after_reading_at_most_the_limit()
    {
        Assert.Equal(
            "Custodian:JetStream:TokenFile must hold the token on one line (larger than 64 KiB" + Pointer + "TokenFile).",
            Error(new JetStreamOptions { TokenFile = "/dev/zero" }));
        Assert.Equal(
            "Custodian:JetStream:NKeyFile must hold one NKey user seed, a line SU… as 'nk -gen user' writes it, optionally followed by its public key U… (larger than 64 KiB" + Pointer + "NKeyFile).",
            Error(new JetStreamOptions { NKeyFile = "/dev/urandom" }));
        Assert.Equal(
            "Custodian:JetStream:TlsCaFile must be a readable PEM file of the NATS servers' certificate authority (larger than 1024 KiB" + Pointer + "TlsCaFile).",
            Error(new JetStreamOptions { TlsCaFile = "/dev/zero" }));
        Assert.Equal(
            "Custodian:JetStream:TlsCertFile and Custodian:JetStream:TlsKeyFile must be readable PEM files (larger than 1024 KiB" + Pointer + "TlsCertFile).",
            Error(new JetStreamOptions { TlsCertFile = "/dev/zero", TlsKeyFile = "/dev/zero" }));
    }

    [Fact]
    public void A_named_pipe_with_no_writer_is_refused_after_the_read_timeout_and_a_directory_at_once()
    {
        var fifo = Path.Combine(_files.FullName, "fifo");
        using (var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [fifo]) { UseShellExecute = false })!)
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        Assert.Equal(
            "Custodian:JetStream:CredsFile must be a readable file (not a regular file (no end of file within 5 s)" + Pointer + "CredsFile).",
            Error(new JetStreamOptions { CredsFile = fifo }));
        Assert.Equal(
            "Custodian:JetStream:NKeyFile must be a readable file (it is a directory" + Pointer + "NKeyFile).",
            Error(new JetStreamOptions { NKeyFile = _files.FullName }));
        Assert.Equal(
            "Custodian:JetStream:TlsCaFile must be a readable PEM file of the NATS servers' certificate authority (it is a directory" + Pointer + "TlsCaFile).",
            Error(new JetStreamOptions { TlsCaFile = _files.FullName }));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // Opening the pipe for writing (non-blocking) releases the thread still blocked in the refused read's open.
        var fifo = Path.Combine(_files.FullName, "fifo");
        if (File.Exists(fifo))
        {
            try
            {
                using var writer = new FileStream(fifo, FileMode.Open, FileAccess.Write);
            }
            catch (IOException)
            {
            }
        }

        _files.Delete(recursive: true);
    }

    private string Error(JetStreamOptions options)
    {
        var message = EventsSettings.Parse("nats://127.0.0.1:4222", options).Error!.Message;
        Assert.DoesNotContain(_files.FullName, message, StringComparison.Ordinal);
        return message;
    }
}
