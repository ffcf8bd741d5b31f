namespace Custodian.Access.Terminals;

/// <summary>Lifecycle state of a terminal (column <c>terminals.status</c>).</summary>
public enum TerminalState
{
    /// <summary>An enrollment code was issued and not yet used (stored as <c>pending</c>).</summary>
    Pending = 0,

    /// <summary>Enrolled: holds a device certificate that is accepted (stored as <c>active</c>).</summary>
    Active = 1,

    /// <summary>Revoked: its certificate is refused on the next request (stored as <c>revoked</c>).</summary>
    Revoked = 2,
}

/// <summary>A one-time enrollment code, shown once to the security officer and typed on the terminal.</summary>
/// <param name="TerminalId">Terminal ID, <c>&lt;store&gt;-&lt;name&gt;</c>.</param>
/// <param name="Store">Store code.</param>
/// <param name="Name">Terminal name within the store.</param>
/// <param name="Code">The code, 12 base32 characters (RFC 4648 alphabet, 60 bits) shown as <c>XXXX-XXXX-XXXX</c>. Secret: never log it.</param>
/// <param name="ExpiresAt">When the code stops working (UTC).</param>
public sealed record EnrollmentCode(string TerminalId, string Store, string Name, string Code, DateTimeOffset ExpiresAt)
{
    /// <summary>
    /// When the terminal's earlier code, unused and unexpired when this one was issued, would have expired (UTC); that
    /// code no longer works. Null when there was none (a new terminal, a revoked one, or an earlier code that had expired).
    /// </summary>
    public DateTimeOffset? VoidedCodeExpiresAt { get; init; }
}

/// <summary>The result of a successful enrollment, returned to the terminal.</summary>
/// <param name="TerminalId">Terminal ID.</param>
/// <param name="Store">Store code.</param>
/// <param name="CertificatePem">The device certificate, PEM.</param>
/// <param name="CaCertificatePem">The CA certificates to trust for the server, PEM (<see cref="Certificates.CertificateAuthority.TrustBundlePem"/>: one certificate, or two during a CA rotation).</param>
/// <param name="NotAfter">End of the device certificate's validity (UTC).</param>
public sealed record EnrolledTerminal(string TerminalId, string Store, string CertificatePem, string CaCertificatePem, DateTimeOffset NotAfter)
{
    /// <summary>The trust class written into the certificate.</summary>
    /// <value>The default is <see cref="TrustClass.StoreTerminal"/>.</value>
    public TrustClass TrustClass { get; init; } = TrustClass.StoreTerminal;
}

/// <summary>The outcome of a successful per-request check: the terminal is enrolled, active and presented its current certificate.</summary>
/// <param name="TerminalId">Terminal ID.</param>
/// <param name="Store">Store code.</param>
/// <param name="Name">Terminal name within the store.</param>
/// <param name="CertificateNotAfter">End of the current certificate's validity (UTC).</param>
public sealed record TerminalStatus(string TerminalId, string Store, string Name, DateTimeOffset CertificateNotAfter)
{
    /// <summary>The terminal's trust class, as enrolled.</summary>
    /// <value>The default is <see cref="TrustClass.StoreTerminal"/>.</value>
    public TrustClass TrustClass { get; init; } = TrustClass.StoreTerminal;
}

/// <summary>One row of the terminal registry, for listings. Contains no secrets (the code hash is not exposed).</summary>
/// <param name="TerminalId">Terminal ID.</param>
/// <param name="Store">Store code.</param>
/// <param name="Name">Terminal name within the store.</param>
/// <param name="Status">Lifecycle state.</param>
/// <param name="CodeExpiresAt">When the outstanding enrollment code expires, for a pending terminal; else null.</param>
/// <param name="CertificateSerial">Serial of the current certificate (lowercase hex), once enrolled.</param>
/// <param name="CertificateThumbprint">SHA-256 of the current certificate (lowercase hex), once enrolled.</param>
/// <param name="CertificateNotAfter">End of the current certificate's validity, once enrolled.</param>
/// <param name="EnrolledAt">When it was enrolled.</param>
/// <param name="RevokedAt">When it was revoked.</param>
/// <param name="RevokeReason">The reason given at revocation.</param>
/// <param name="CreatedAt">When the terminal was first registered.</param>
public sealed record TerminalInfo(
    string TerminalId,
    string Store,
    string Name,
    TerminalState Status,
    DateTimeOffset? CodeExpiresAt,
    string? CertificateSerial,
    string? CertificateThumbprint,
    DateTimeOffset? CertificateNotAfter,
    DateTimeOffset? EnrolledAt,
    DateTimeOffset? RevokedAt,
    string? RevokeReason,
    DateTimeOffset CreatedAt)
{
    /// <summary>The terminal's trust class.</summary>
    /// <value>The default is <see cref="TrustClass.StoreTerminal"/>.</value>
    public TrustClass TrustClass { get; init; } = TrustClass.StoreTerminal;

    /// <summary>When its certificate was last renewed, or null when never.</summary>
    public DateTimeOffset? RenewedAt { get; init; }
}
