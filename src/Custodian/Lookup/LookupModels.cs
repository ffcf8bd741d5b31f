using Custodian.Classification;

namespace Custodian.Lookup;

/// <summary>Body of a search.</summary>
/// <param name="Phone">The phone number to match exactly, in any common Korean format.</param>
public sealed record SearchRequest([property: PersonalData] string? Phone);

/// <summary>One search hit: masked summary plus a per-session handle to view it.</summary>
/// <param name="Handle">Opaque reference valid only in the session that searched (16 base64url characters).</param>
/// <param name="Name">Masked name, e.g. 김*용.</param>
/// <param name="Phone">Masked phone, e.g. 010-1234-****.</param>
/// <param name="RatePlan">Rate plan name.</param>
/// <param name="HomeStore">Home store code.</param>
public sealed record SearchHit(string Handle, [property: PersonalData] string Name, [property: PersonalData] string Phone, [property: PersonalData] string RatePlan, string HomeStore);

/// <summary>Search response.</summary>
/// <param name="Results">Hits (0 or 1 for an exact phone match).</param>
/// <param name="LedgerSequence">Sequence number of the ledger entry that recorded this search.</param>
public sealed record SearchResponse(IReadOnlyList<SearchHit> Results, long LedgerSequence);

/// <summary>A subscriber as a clerk sees it for a stated purpose: every personal field masked.</summary>
/// <param name="Handle">The handle viewed.</param>
/// <param name="Purpose">The stated purpose code.</param>
/// <param name="Name">Masked name.</param>
/// <param name="Rrn">Masked RRN, e.g. 711231-1******.</param>
/// <param name="Phone">Masked phone.</param>
/// <param name="Address">Masked address.</param>
/// <param name="RatePlan">Rate plan.</param>
/// <param name="ContractStart">Contract start date.</param>
/// <param name="ContractEnd">Contract end date.</param>
/// <param name="HomeStore">Home store code.</param>
/// <param name="LedgerSequence">Sequence number of the ledger entry that recorded this view.</param>
public sealed record SubscriberView(
    string Handle,
    string Purpose,
    [property: PersonalData] string Name,
    [property: PersonalData] string Rrn,
    [property: PersonalData] string Phone,
    [property: PersonalData] string Address,
    [property: PersonalData] string RatePlan,
    DateOnly ContractStart,
    DateOnly ContractEnd,
    string HomeStore,
    long LedgerSequence);

/// <summary>Body of a consent-code request.</summary>
/// <param name="Purpose">A purpose code that allows unmasking.</param>
public sealed record ConsentRequest(string? Purpose);

/// <summary>Answer to a consent-code request: the code went to the subscriber's phone.</summary>
/// <param name="ExpiresAt">When the code stops working.</param>
/// <param name="LedgerSequence">Sequence number of the ledger entry that recorded the request.</param>
public sealed record ConsentIssued(DateTimeOffset ExpiresAt, long LedgerSequence);

/// <summary>Body of an unmask request.</summary>
/// <param name="Purpose">A purpose code that allows unmasking.</param>
/// <param name="ConsentCode">The code the subscriber read from their phone.</param>
/// <param name="Fields">Fields to show in full: any of <c>rrn</c>, <c>phone</c>, <c>name</c>, <c>address</c>; default <c>["rrn"]</c>.</param>
public sealed record UnmaskRequest(string? Purpose, [property: Secret] string? ConsentCode, IReadOnlyList<string>? Fields);

/// <summary>The requested fields in full; the others stay masked.</summary>
/// <param name="Handle">The handle.</param>
/// <param name="Purpose">The stated purpose.</param>
/// <param name="Fields">Field name → value (RRN as 711231-1234567, phone as 010-1234-5678).</param>
/// <param name="LedgerSequence">Sequence number of the ledger entry that recorded the unmask.</param>
public sealed record UnmaskedView(string Handle, string Purpose, [property: UniqueIdentifier] IReadOnlyDictionary<string, string> Fields, long LedgerSequence);

/// <summary>Body recording that a business transaction was completed for a subscriber (service, sale).</summary>
/// <param name="Purpose">The purpose the subscriber was served for.</param>
public sealed record ServiceCompletion(string? Purpose);
