using Microsoft.Extensions.Options;

namespace Custodian.Access.Certificates;

/// <summary>Source-generated validator of the <see cref="System.ComponentModel.DataAnnotations.RangeAttribute"/>s on <see cref="CertificateAuthorityOptions"/>.</summary>
[OptionsValidator]
public sealed partial class CertificateAuthorityOptionsValidator : IValidateOptions<CertificateAuthorityOptions>
{
}
