using System.Text;
using Custodian.Classification;

namespace Custodian.Protection.Sample;

/// <summary>One synthetic subscriber (realistic but invented; treated like real data all the same).</summary>
/// <param name="Name">Full name, e.g. <c>김민준</c>.</param>
/// <param name="Rrn">Resident registration number, 13 digits without hyphen, structurally valid.</param>
/// <param name="Phone">Mobile number in E.164 form, unique within one generated population.</param>
/// <param name="Address">Address: province/city, district, neighbourhood, lot number (and sometimes building/unit).</param>
/// <param name="RatePlan">Rate plan name.</param>
/// <param name="ContractStart">Contract start date (up to three years before <c>today</c>).</param>
/// <param name="ContractEnd">Contract end date (start + 12, 24 or 36 months − 1 day).</param>
/// <param name="HomeStore">Home store code <c>S001</c>…</param>
/// <param name="FamilyPlan">Family-plan group code (<c>FP-</c>, 8 hex digits of the seed, <c>-</c>, 7 digits), shared by 2–5 members of one
/// household; null for a subscriber on no family plan (the default).</param>
public sealed record SampleSubscriber(
    [property: PersonalData] string Name,
    [property: UniqueIdentifier] string Rrn,
    [property: PersonalData] string Phone,
    [property: PersonalData] string Address,
    [property: PersonalData] string RatePlan,
    [property: PersonalData] DateOnly ContractStart,
    [property: PersonalData] DateOnly ContractEnd,
    string HomeStore,
    [property: PersonalData] string? FamilyPlan = null)
{
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("HomeStore = ").Append(HomeStore);
        return true;
    }
}
