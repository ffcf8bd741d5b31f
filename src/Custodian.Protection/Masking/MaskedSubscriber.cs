using System.Text;
using Custodian.Classification;
using Custodian.Identity;

namespace Custodian.Protection.Masking;

/// <summary>A subscriber as a clerk sees it by default: every personal field masked by <see cref="MaskingPolicy"/>.</summary>
/// <param name="Id">Internal subscriber id (never shown to clerks; the host maps it to a session handle).</param>
/// <param name="Name">Masked name, e.g. <c>김*용</c>.</param>
/// <param name="Rrn">Masked RRN, e.g. <c>711231-1******</c>.</param>
/// <param name="Phone">Masked phone, e.g. <c>010-1234-****</c>.</param>
/// <param name="Address">Masked address, e.g. <c>서울특별시 강남구 ***</c>.</param>
/// <param name="RatePlan">Rate plan name.</param>
/// <param name="ContractStart">Contract start date.</param>
/// <param name="ContractEnd">Contract end date.</param>
/// <param name="HomeStore">Home store code.</param>
public sealed record MaskedSubscriber(
    [property: Pseudonymous] SubscriberId Id,
    [property: PersonalData] string Name,
    [property: PersonalData] string Rrn,
    [property: PersonalData] string Phone,
    [property: PersonalData] string Address,
    [property: PersonalData] string RatePlan,
    [property: PersonalData] DateOnly ContractStart,
    [property: PersonalData] DateOnly ContractEnd,
    string HomeStore)
{
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Id = ").Append(Id.ToString()).Append(", HomeStore = ").Append(HomeStore);
        return true;
    }
}
