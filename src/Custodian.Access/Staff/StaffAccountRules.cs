using Custodian.Identity;

namespace Custodian.Access.Staff;

/// <summary>A field of a staff account that breaks a rule: the field and the rule, never the value.</summary>
/// <param name="Field"><c>id</c>, <c>role</c> or <c>store</c>.</param>
/// <param name="Rule">What the field must be.</param>
public sealed record StaffFieldError(string Field, string Rule);

/// <summary>
/// The rules a staff account's ID, role and store must follow: one copy, used by <see cref="StaffDirectory"/> when it
/// creates or changes an account and by every input that plans accounts before creating them (the HR feed's
/// pre-validation, <c>simulate --staff</c>), so a row that would be refused when applied is refused before anything is
/// applied, with the same rule. Pure functions; thread-safe.
/// </summary>
public static class StaffAccountRules
{
    /// <summary>The rule for the shape of an account ID (<see cref="Codes"/>).</summary>
    public const string IdFormat = "must be " + Codes.Rule;

    /// <summary>The rule against personal numbers used as account IDs.</summary>
    public const string IdNotPersonalNumber = "must not be a phone number or resident registration number: use the employee number";

    /// <summary>The rule for a role.</summary>
    public const string RoleRule = "must be clerk, store-manager, security-officer or privacy-officer";

    /// <summary>
    /// The rule that keeps an active security officer: the HR feed and <c>staff disable</c> may not disable the last one,
    /// nor the feed move it to another role, since no one could then use the console or approve four-eyes actions
    /// (docs/access.md §6). Reported under field <c>status</c> (disable) or <c>role</c> (move).
    /// </summary>
    public const string LastOfficerRule = "would leave no active security officer: add or enable another security officer first";

    /// <summary>The rule for a store code.</summary>
    public const string StoreRule = "is required for clerks and store managers and must be a well-formed store code";

    /// <summary>
    /// The rule against personal numbers used as store codes or terminal names (the same shapes as
    /// <see cref="IdNotPersonalNumber"/>): a store code and a terminal name go into the terminal ID, every ledger entry,
    /// the SIEM export and the database, and are kept for years.
    /// </summary>
    public const string CodeNotPersonalNumber = Codes.NotPersonalNumberRule;

    /// <summary>
    /// Checks a store code or terminal name: a well-formed <see cref="Codes">code</see> that does not have the shape of
    /// a Korean mobile number or resident registration number (<see cref="Codes.LooksLikePersonalNumber"/>). The one rule every
    /// input of a store code or terminal name applies (<c>staff add</c>, the staff directory, the HR feed, <c>terminals
    /// enroll</c> and every enrollment through <c>TerminalRegistry</c>, <c>stores import</c>, <c>simulate --staff</c>).
    /// </summary>
    /// <param name="code">The store code or terminal name.</param>
    /// <param name="field">The field to name in the error, e.g. <c>store</c> or <c>name</c>.</param>
    /// <returns>Null when acceptable; else the broken rule under <paramref name="field"/>: <c>must be </c><see cref="Codes.Rule"/> or <see cref="CodeNotPersonalNumber"/>.</returns>
    public static StaffFieldError? CheckCode(string? code, string field)
    {
        if (!Codes.IsValid(code))
        {
            return new StaffFieldError(field, "must be " + Codes.Rule);
        }

        return Codes.LooksLikePersonalNumber(code!) ? new StaffFieldError(field, CodeNotPersonalNumber) : null;
    }

    /// <summary>
    /// The rule a store code breaks when it differs only in letter case from a store code already in use (an enrolled
    /// terminal's or another account's). Store codes are case-sensitive and compared exactly, so <c>s001</c> is not the
    /// store <c>S001</c>: a clerk of <c>s001</c> could never sign in at the <c>S001</c> terminals. Codes are not personal
    /// data, so the code in use is named.
    /// </summary>
    /// <param name="inUse">The store code in use.</param>
    /// <returns>The rule, for field <c>store</c>.</returns>
    public static string StoreCaseRule(string inUse) =>
        $"must be written '{inUse}' like the store code already in use (store codes are case-sensitive)";

    /// <summary>
    /// Checks an account ID: a well-formed <see cref="Codes">code</see> that does not have the shape of a Korean mobile
    /// number (10 or 11 digits starting <c>01</c>) or of a resident registration number (13 digits), separators aside.
    /// Account IDs go into every ledger entry and are kept for years; a subscriber's or the employee's own phone number
    /// or RRN must not become one (an HR feed with its columns swapped, say).
    /// </summary>
    /// <param name="id">The account ID.</param>
    /// <returns>Null when the ID is acceptable, else the broken rule under field <c>id</c>.</returns>
    public static StaffFieldError? CheckId(string? id)
    {
        if (!Codes.IsValid(id))
        {
            return new StaffFieldError("id", IdFormat);
        }

        return Codes.LooksLikePersonalNumber(id!) ? new StaffFieldError("id", IdNotPersonalNumber) : null;
    }

    /// <summary>
    /// Checks a role and store: a defined role; a well-formed store code, required for clerks and store managers, that
    /// is not a phone number or resident registration number (<see cref="CodeNotPersonalNumber"/>).
    /// </summary>
    /// <param name="role">The role.</param>
    /// <param name="store">The store code, or null.</param>
    /// <returns>Null when both are acceptable, else the first broken rule under field <c>role</c> or <c>store</c>.</returns>
    public static StaffFieldError? CheckRoleAndStore(StaffRole role, string? store)
    {
        if (!Enum.IsDefined(role))
        {
            return new StaffFieldError("role", RoleRule);
        }

        if (store is null ? role.IsStoreStaff() : !Codes.IsValid(store))
        {
            return new StaffFieldError("store", StoreRule);
        }

        return store is not null && Codes.LooksLikePersonalNumber(store) ? new StaffFieldError("store", CodeNotPersonalNumber) : null;
    }

    /// <summary>Checks a new account: <see cref="CheckId"/>, then <see cref="CheckRoleAndStore"/>.</summary>
    /// <param name="id">The account ID.</param>
    /// <param name="role">The role.</param>
    /// <param name="store">The store code, or null.</param>
    /// <returns>Null when the account may be created, else the first broken rule.</returns>
    public static StaffFieldError? CheckNewAccount(string? id, StaffRole role, string? store) =>
        CheckId(id) ?? CheckRoleAndStore(role, store);
}

/// <summary>
/// The store codes of one input file (an HR feed, a <c>simulate --staff</c> list) as first spelt there, so that a later row
/// spelling the same store in other letter case is refused with <see cref="StaffAccountRules.StoreCaseRule"/> (store codes
/// are case-sensitive; docs/access.md §6.3). Not thread-safe: one instance per file.
/// </summary>
public sealed class StoreSpellings
{
    private readonly Dictionary<string, string> _first = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Records <paramref name="store"/> if its store is new to this file.</summary>
    /// <param name="store">A well-formed store code.</param>
    /// <returns>Null when it is the first spelling of its store in the file, or the same one; else the broken rule under field <c>store</c>.</returns>
    public StaffFieldError? Check(string store) =>
        _first.TryAdd(store, store) || string.Equals(_first[store], store, StringComparison.Ordinal)
            ? null
            : new StaffFieldError("store", StaffAccountRules.StoreCaseRule(_first[store]));
}
