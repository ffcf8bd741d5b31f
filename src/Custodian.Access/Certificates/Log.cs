using Microsoft.Extensions.Logging;

namespace Custodian.Access.Certificates;

/// <summary>Log catalog of the device CA (event IDs 3100–3199). Never logs keys, CSRs or certificates.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3100, Level = LogLevel.Information, Message = "Created the device CA (SHA-256 fingerprint {Fingerprint})")]
    public static partial void CaCreated(ILogger logger, string fingerprint);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Loaded the device CA (SHA-256 fingerprint {Fingerprint})")]
    public static partial void CaLoaded(ILogger logger, string fingerprint);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "The device CA key file {KeyFile} is readable by group or others; it should be mode 0600")]
    public static partial void CaKeyFilePermissive(ILogger logger, string keyFile);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Information, Message = "Issued device certificate {SerialHex} for terminal {Terminal} of store {Store}, valid until {NotAfter:O}")]
    public static partial void DeviceCertificateIssued(ILogger logger, string serialHex, string terminal, string store, DateTimeOffset notAfter);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Warning, Message = "Refused a certificate signing request: {Rule}")]
    public static partial void CsrRefused(ILogger logger, string rule);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Information, Message = "Issued server certificate {SerialHex}, valid until {NotAfter:O}")]
    public static partial void ServerCertificateIssued(ILogger logger, string serialHex, DateTimeOffset notAfter);

    [LoggerMessage(EventId = 3106, Level = LogLevel.Debug, Message = "Refused a client certificate: {Code}")]
    public static partial void ClientCertificateRefused(ILogger logger, string code);
}
