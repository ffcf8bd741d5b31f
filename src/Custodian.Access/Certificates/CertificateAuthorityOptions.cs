using System.ComponentModel.DataAnnotations;

namespace Custodian.Access.Certificates;

/// <summary>Lifetimes used by <see cref="CertificateAuthority"/>. All values are validated when the CA is loaded.</summary>
public sealed class CertificateAuthorityOptions
{
    /// <summary>
    /// Validity of device certificates issued at enrollment and renewal, from the moment of issue. Short on
    /// purpose: a copied certificate dies on its own within days even if nobody notices the copy, and
    /// terminals renew automatically over mutual TLS before expiry (docs/access.md §2).
    /// </summary>
    /// <value>The default is 4 days (a terminal renews once less than half is left, so it survives a
    /// 2-day shutdown without re-enrollment); allowed 1 hour to 398 days (CA/Browser Forum ceiling for TLS certificates).</value>
    [Range(typeof(TimeSpan), "01:00:00", "398.00:00:00")]
    public TimeSpan DeviceCertificateValidity { get; set; } = TimeSpan.FromDays(4);

    /// <summary>Validity of the TLS server certificate issued by <see cref="CertificateAuthority.IssueServerCertificate"/>.</summary>
    /// <value>The default is 365 days; allowed 1 day to 398 days.</value>
    [Range(typeof(TimeSpan), "1.00:00:00", "398.00:00:00")]
    public TimeSpan ServerCertificateValidity { get; set; } = TimeSpan.FromDays(365);

    /// <summary>Validity of the self-signed device CA created on first use.</summary>
    /// <value>The default is 3,650 days (10 years); allowed 30 days to 30 years.</value>
    [Range(typeof(TimeSpan), "30.00:00:00", "10958.00:00:00")]
    public TimeSpan CaValidity { get; set; } = TimeSpan.FromDays(3650);

    /// <summary>
    /// How far before "now" each issued certificate's <c>notBefore</c> is set, so that a terminal whose
    /// clock is slightly behind accepts a certificate issued a moment ago.
    /// </summary>
    /// <value>The default is 5 minutes; allowed 0 to 1 hour.</value>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan BackdateBy { get; set; } = TimeSpan.FromMinutes(5);
}
