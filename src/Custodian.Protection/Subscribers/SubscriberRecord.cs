using System.Text;
using Custodian.Classification;
using Custodian.Identity;

namespace Custodian.Protection.Subscribers;

/// <summary>
/// One subscriber in plaintext, as only <see cref="SubscriberVault"/> produces it. Every property
/// carrying subscriber data is classified; <see cref="object.ToString"/> prints only the id and the
/// home store so a record dropped into a log or exception message leaks nothing.
/// </summary>
/// <param name="Id">Internal subscriber id.</param>
/// <param name="Name">Full name (NFC), 1–50 characters.</param>
/// <param name="Rrn">Resident registration number, 13 digits without hyphen (unique identification information, PIPA Art. 24).</param>
/// <param name="Phone">Mobile number in E.164 form, e.g. <c>+821012345678</c>.</param>
/// <param name="Address">Postal address, 1–200 characters.</param>
/// <param name="RatePlan">Rate plan name, 1–100 characters (personal data once linked to a subscriber).</param>
/// <param name="ContractStart">Contract start date.</param>
/// <param name="ContractEnd">Contract end date (not before <paramref name="ContractStart"/>).</param>
/// <param name="HomeStore">Code of the subscriber's home store (see <see cref="Codes"/>).</param>
public sealed record SubscriberRecord(
    [property: Pseudonymous] SubscriberId Id,
    [property: PersonalData] string Name,
    [property: UniqueIdentifier] string Rrn,
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
