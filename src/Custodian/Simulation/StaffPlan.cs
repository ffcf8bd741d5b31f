using System.Globalization;
using Custodian.Identity;

namespace Custodian.Simulation;

/// <summary>One simulated staff member.</summary>
/// <param name="Account">Account ID as planned (the run prefixes it to keep runs apart).</param>
/// <param name="Role">Role.</param>
/// <param name="Store">Store code.</param>
public sealed record StaffPlan(string Account, StaffRole Role, string Store)
{
    /// <summary>Spreads <paramref name="clerks"/> clerks over <paramref name="stores"/> stores S001….</summary>
    public static IReadOnlyList<StaffPlan> Spread(int clerks, int stores) =>
        Enumerable.Range(0, clerks)
            .Select(i => new StaffPlan(
                "C" + (i + 1).ToString("0000", CultureInfo.InvariantCulture),
                StaffRole.Clerk,
                "S" + ((i % stores) + 1).ToString("000", CultureInfo.InvariantCulture)))
            .ToList();

    /// <summary>Reads a staff CSV written by <c>custodian sample --clerks</c> (header <c>account,role,store</c>).</summary>
    /// <exception cref="FormatException">On a malformed line, naming its line number.</exception>
    public static IReadOnlyList<StaffPlan> Read(TextReader reader)
    {
        var header = reader.ReadLine();
        if (header?.Trim() != "account,role,store")
        {
            throw new FormatException("line 1: the staff file header must be 'account,role,store'.");
        }

        var list = new List<StaffPlan>();
        var line = 1;
        while (reader.ReadLine() is { } text)
        {
            line++;
            if (text.Length == 0)
            {
                continue;
            }

            var parts = text.Split(',');
            if (parts.Length != 3 || !Codes.IsValid(parts[0]) || !StaffRoles.TryParse(parts[1], out var role) || !role.IsStoreStaff() || !Codes.IsValid(parts[2]))
            {
                throw new FormatException($"line {line}: expected account,clerk|store-manager,store with valid codes.");
            }

            list.Add(new StaffPlan(parts[0], role, parts[2]));
        }

        return list;
    }
}
