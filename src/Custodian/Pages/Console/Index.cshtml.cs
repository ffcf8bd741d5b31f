using Custodian.Identity;
using Custodian.Web;

namespace Custodian.Pages.Console;

/// <summary>Base of the officer console pages: security and privacy officers only.</summary>
public abstract class ConsolePageModel : StaffPageModel
{
    private static readonly StaffRole[] Officers = [StaffRole.SecurityOfficer, StaffRole.PrivacyOfficer];

    /// <inheritdoc />
    protected override IReadOnlyCollection<StaffRole> AllowedRoles => Officers;

    /// <summary>The signed-in officer's role, by its stable name.</summary>
    public string RoleName => Staff.Session.Principal.Role.ToName();
}

/// <summary><c>/console</c>: the officer console's home page.</summary>
public sealed class IndexModel : ConsolePageModel
{
    /// <summary>Shows the page.</summary>
    public void OnGet()
    {
    }
}
