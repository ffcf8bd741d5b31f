namespace Custodian.Identity;

/// <summary>Roles of staff accounts (DESIGN.md vocabulary). Stored and logged by their kebab-case names.</summary>
public enum StaffRole
{
    /// <summary>A store clerk: searches, views and (with consent) unmasks subscribers of any store.</summary>
    Clerk = 0,

    /// <summary>A store manager: a clerk who may also approve step-ups at their store.</summary>
    StoreManager = 1,

    /// <summary>A security officer: enrolls terminals, manages staff, handles alerts. Never reads subscriber data.</summary>
    SecurityOfficer = 2,

    /// <summary>A privacy officer: reviews the access ledger and handles subscribers' requests.</summary>
    PrivacyOfficer = 3,
}

/// <summary>Conversions between <see cref="StaffRole"/> and its stable wire and storage names.</summary>
public static class StaffRoles
{
    /// <summary>The stable name: <c>clerk</c>, <c>store-manager</c>, <c>security-officer</c> or <c>privacy-officer</c>.</summary>
    public static string ToName(this StaffRole role) => role switch
    {
        StaffRole.Clerk => "clerk",
        StaffRole.StoreManager => "store-manager",
        StaffRole.SecurityOfficer => "security-officer",
        StaffRole.PrivacyOfficer => "privacy-officer",
        _ => throw new ArgumentOutOfRangeException(nameof(role)),
    };

    /// <summary>Parses a stable name; returns false for anything else.</summary>
    public static bool TryParse(string? name, out StaffRole role)
    {
        switch (name)
        {
            case "clerk": role = StaffRole.Clerk; return true;
            case "store-manager": role = StaffRole.StoreManager; return true;
            case "security-officer": role = StaffRole.SecurityOfficer; return true;
            case "privacy-officer": role = StaffRole.PrivacyOfficer; return true;
            default: role = default; return false;
        }
    }

    /// <summary>Whether the role reads subscriber data through the lookup path.</summary>
    public static bool IsStoreStaff(this StaffRole role) => role is StaffRole.Clerk or StaffRole.StoreManager;
}
