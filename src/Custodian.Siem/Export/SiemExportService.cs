using System.Security.Cryptography.X509Certificates;
using Custodian.Siem.Syslog;
using Microsoft.Extensions.Hosting;

namespace Custodian.Siem.Export;

/// <summary>
/// Runs <see cref="SiemExporter.RunAsync"/> inside the server when <see cref="SiemExportOptions.Enabled"/>: CEF over
/// RFC 5424 syslog to <see cref="SiemExportOptions.To"/>, reconnecting with back-off, until the host stops.
/// </summary>
/// <param name="options">Validated options.</param>
/// <param name="exporter">The exporter.</param>
/// <param name="time">The clock of the connection and write timeouts (<see cref="SiemExportOptions.TimeoutMs"/>).</param>
public sealed class SiemExportService(SiemExportOptions options, SiemExporter exporter, TimeProvider time) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Enabled || !SyslogTarget.TryParse(options.To, out var target, out _))
        {
            return;
        }

        var anchors = LoadCaFile(options.CaFile);
        var host = options.HostName ?? SiemSyslog.SanitizeHostName(Environment.MachineName);
        await exporter.RunAsync(
            async ct => await SyslogTcpSink.ConnectAsync(target!, options.Tls, anchors, host, TimeSpan.FromMilliseconds(options.TimeoutMs), time, ct),
            SyslogTcpSink.SinkId(target!, options.Tls),
            options.BatchSize,
            TimeSpan.FromMilliseconds(options.PollIntervalMs),
            stoppingToken);
    }

    /// <summary>Reads the PEM certificates of a CA file; null for a null or empty path.</summary>
    /// <exception cref="IOException">When the file holds no certificate.</exception>
    public static X509Certificate2Collection? LoadCaFile(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPemFile(path);
        }
        catch (System.Security.Cryptography.CryptographicException ex)
        {
            throw new IOException("the CA file is not a readable PEM certificate file.", ex);
        }

        return collection.Count == 0 ? throw new IOException("the CA file holds no PEM certificate.") : collection;
    }
}
