namespace Custodian.Protection.Import;

/// <summary>The import CSV's columns (RFC 4180, UTF-8, header required; column order free, names case-insensitive).</summary>
public static class ImportColumns
{
    /// <summary>Full name, 1–50 characters.</summary>
    public const string Name = "name";

    /// <summary>Resident registration number, 13 digits with or without hyphen.</summary>
    public const string Rrn = "rrn";

    /// <summary>Korean mobile number in any common form.</summary>
    public const string Phone = "phone";

    /// <summary>Postal address, 1–200 characters.</summary>
    public const string Address = "address";

    /// <summary>Rate plan name, 1–100 characters.</summary>
    public const string RatePlan = "rate_plan";

    /// <summary>Contract start date, yyyy-MM-dd.</summary>
    public const string ContractStart = "contract_start";

    /// <summary>Contract end date, yyyy-MM-dd, not before the start.</summary>
    public const string ContractEnd = "contract_end";

    /// <summary>Home store code (see <c>Custodian.Identity.Codes</c>).</summary>
    public const string HomeStore = "home_store";

    /// <summary>All columns in the canonical order written by <c>SampleGenerator.WriteCsv</c>.</summary>
    public static IReadOnlyList<string> All { get; } = [Name, Rrn, Phone, Address, RatePlan, ContractStart, ContractEnd, HomeStore];

    /// <summary>The canonical header line.</summary>
    public static string HeaderLine { get; } = string.Join(',', All);
}
