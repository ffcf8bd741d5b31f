using Custodian.Identity;

namespace Custodian.Monitoring.Detection;

/// <summary>
/// One closed local day of a principal as the <see cref="BaselineDetector"/> keeps it: the counts its 1-day, 7-day and
/// 30-day windows and own history are built from, and nothing else — no subscriber. Stored by the live monitor as days
/// close (<see cref="BaselineDayStore"/>) so that a restart restores the baseline's last 60 days instead of rebuilding it
/// from the 7 days it replays (docs/monitoring.md, "Restart").
/// </summary>
/// <param name="Principal">The clerk or terminal.</param>
/// <param name="Store">The store of its peer group; null for none (judged against the chain only).</param>
/// <param name="Role">The clerk's role in its peer group; null for terminals.</param>
/// <param name="Day">Local day number: days since 1970-01-01 at <see cref="DetectionOptions.LocalOffset"/> (UTC+9 by default).</param>
/// <param name="Distinct">Distinct subscribers read that day, ≥ 0.</param>
/// <param name="Orphans">Orphan lookups found that day, ≥ 0.</param>
/// <param name="MaxHour">Distinct subscribers read in the day's busiest clock hour, ≥ 0.</param>
public readonly record struct BaselineDay(Principal Principal, string? Store, StaffRole? Role, long Day, int Distinct, int Orphans, int MaxHour);
