using System.Globalization;
using Custodian.Access.Staff;
using Custodian.Identity;

namespace Custodian.Simulation;

/// <summary>A bad line of a staff file: its line number, the field and the rule it breaks, never its value.</summary>
/// <param name="Line">1-based physical line (the header is line 1).</param>
/// <param name="Field"><c>header</c>, <c>row</c>, <c>account</c>, <c>role</c> or <c>store</c>.</param>
/// <param name="Rule">What the field must be.</param>
public sealed record StaffPlanError(int Line, string Field, string Rule)
{
    /// <inheritdoc/>
    public override string ToString() => $"line {Line}: {Field}: {Rule}";
}

/// <summary>One simulated staff member.</summary>
/// <param name="Account">Account ID as planned (the run prefixes it to keep runs apart).</param>
/// <param name="Role">Role.</param>
/// <param name="Store">Store code.</param>
public sealed record StaffPlan(string Account, StaffRole Role, string Store)
{
    /// <summary>The header line a staff file starts with.</summary>
    public const string Header = "account,role,store";

    /// <summary>Spreads <paramref name="clerks"/> clerks over <paramref name="stores"/> stores S001….</summary>
    public static IReadOnlyList<StaffPlan> Spread(int clerks, int stores) =>
        Enumerable.Range(0, clerks)
            .Select(i => new StaffPlan(
                "C" + (i + 1).ToString("0000", CultureInfo.InvariantCulture),
                StaffRole.Clerk,
                "S" + ((i % stores) + 1).ToString("000", CultureInfo.InvariantCulture)))
            .ToList();

    /// <summary>
    /// Reads a staff CSV written by <c>custodian sample --clerks</c> (header <c>account,role,store</c>), checking every line:
    /// a bad line is reported by line number, field and rule (never by value) and the lines after it are still checked.
    /// Empty lines are skipped. A bad header is the only error reported (the rows cannot be told apart without it).
    /// </summary>
    /// <param name="reader">The file's text.</param>
    /// <returns>The good rows in file order, and every bad line's errors in file order (one per field at fault).</returns>
    public static (IReadOnlyList<StaffPlan> Plans, IReadOnlyList<StaffPlanError> Errors) Read(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var list = new List<StaffPlan>();
        var errors = new List<StaffPlanError>();
        var header = reader.ReadLine();
        if (header?.Trim().TrimStart('\uFEFF') != Header)
        {
            errors.Add(new StaffPlanError(1, "header", $"must be '{Header}'"));
            return (list, errors);
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var stores = new StoreSpellings();
        var line = 1;
        while (reader.ReadLine() is { } text)
        {
            line++;
            if (text.Length == 0)
            {
                continue;
            }

            var parts = text.Split(',');
            if (parts.Length != 3)
            {
                errors.Add(new StaffPlanError(line, "row", "must have 3 fields like the header (account,role,store)"));
                continue;
            }

            var before = errors.Count;
            var account = parts[0].Trim();
            if (StaffAccountRules.CheckId(account) is { } badId)
            {
                // The same rule as staff add and the HR feed: the run's prefix would otherwise hide an RRN-shaped ID.
                errors.Add(new StaffPlanError(line, "account", badId.Rule));
            }
            else if (!seen.Add(account))
            {
                errors.Add(new StaffPlanError(line, "account", "must appear only once in the file"));
            }

            if (!StaffRoles.TryParse(parts[1].Trim(), out var role) || !role.IsStoreStaff())
            {
                errors.Add(new StaffPlanError(line, "role", "must be clerk or store-manager"));
            }

            var store = parts[2].Trim();
            if (!Codes.IsValid(store))
            {
                errors.Add(new StaffPlanError(line, "store", "must be a store code: " + Codes.Rule));
            }
            else if (StaffAccountRules.CheckCode(store, "store") is { } personal)
            {
                errors.Add(new StaffPlanError(line, "store", personal.Rule));
            }
            else if (stores.Check(store) is { } secondSpelling)
            {
                // Store codes are case-sensitive: as staff add and the HR feed, refuse a second spelling of one store.
                errors.Add(new StaffPlanError(line, "store", secondSpelling.Rule));
            }

            if (errors.Count == before)
            {
                list.Add(new StaffPlan(account, role, store));
            }
        }

        return (list, errors);
    }
}
