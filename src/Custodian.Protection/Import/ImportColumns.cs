namespace Custodian.Protection.Import;

/// <summary>
/// The import CSV's columns (RFC 4180, UTF-8, header required; column order free, names case-insensitive): the eight of
/// <see cref="All"/>, required, and the <see cref="Optional"/> ones, which a file may leave out (docs/households.md).
/// </summary>
public static class ImportColumns
{
    /// <summary>Full name, 1–50 characters, without control, bidirectional-control or other format (Cf) characters.</summary>
    public const string Name = "name";

    /// <summary>Resident registration number, 13 digits with or without hyphen.</summary>
    public const string Rrn = "rrn";

    /// <summary>Korean mobile number in any common form.</summary>
    public const string Phone = "phone";

    /// <summary>Postal address, 1–200 characters, without control, bidirectional-control or other format (Cf) characters.</summary>
    public const string Address = "address";

    /// <summary>Rate plan name, 1–100 characters, as the name; not starting with <c>=</c>, <c>+</c>, <c>-</c> or <c>@</c> (CSV formula injection).</summary>
    public const string RatePlan = "rate_plan";

    /// <summary>Contract start date, yyyy-MM-dd.</summary>
    public const string ContractStart = "contract_start";

    /// <summary>Contract end date, yyyy-MM-dd, not before the start.</summary>
    public const string ContractEnd = "contract_end";

    /// <summary>Home store code (see <c>Custodian.Identity.Codes</c>).</summary>
    public const string HomeStore = "home_store";

    /// <summary>
    /// Optional: the subscriber's family-plan group code, 1–32 characters, letters, digits and hyphens (letters compared
    /// without case); empty or absent for a subscriber on no family plan. Stored only as a keyed index
    /// (<see cref="Households.HouseholdIndex.ForFamilyPlan"/>).
    /// </summary>
    public const string FamilyPlan = "family_plan";

    /// <summary>The required columns, in the canonical order <c>SampleGenerator.WriteCsv</c> writes them first.</summary>
    public static IReadOnlyList<string> All { get; } = [Name, Rrn, Phone, Address, RatePlan, ContractStart, ContractEnd, HomeStore];

    /// <summary>The optional columns, in the order <c>SampleGenerator.WriteCsv</c> writes them after <see cref="All"/>: <see cref="FamilyPlan"/>.</summary>
    public static IReadOnlyList<string> Optional { get; } = [FamilyPlan];

    /// <summary>The required columns' header line (<see cref="All"/>).</summary>
    public static string HeaderLine { get; } = string.Join(',', All);

    /// <summary>The header line <c>SampleGenerator.WriteCsv</c> writes: <see cref="All"/>, then <see cref="Optional"/>.</summary>
    public static string FullHeaderLine { get; } = string.Join(',', All.Concat(Optional));

    /// <summary>
    /// The header as the import's refusals name it (an empty file, an overlong header line), built from <see cref="All"/>
    /// and <see cref="Optional"/> so that it names every column:
    /// <c>'name,rrn,phone,address,rate_plan,contract_start,contract_end,home_store,family_plan' (family_plan may be left out)</c>.
    /// </summary>
    public static string ExpectedHeader { get; } = $"'{FullHeaderLine}' ({string.Join(", ", Optional)} may be left out)";
}
