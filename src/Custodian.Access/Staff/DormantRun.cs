namespace Custodian.Access.Staff;

/// <summary>What one run of <see cref="StaffDirectory.DisableDormantRunAsync"/> did (docs/access.md §6.2).</summary>
/// <param name="Disabled">The account IDs disabled, ordered (ordinal); empty when none.</param>
/// <param name="KeptOfficer">
/// The ID of the dormant security officer that was not disabled because it is the last active security officer (event
/// 3312); null when none was kept.
/// </param>
public sealed record DormantRun(IReadOnlyList<string> Disabled, string? KeptOfficer);
