namespace Custodian.Review;

/// <summary>Stable error codes of the access-log review (problem type <c>urn:custodian:error:&lt;code&gt;</c>; kebab-case, never change meaning).</summary>
public static class ReviewErrors
{
    /// <summary>A period is not <c>yyyy-MM</c> or <c>yyyy-Www</c>, or names no such month or week.</summary>
    public const string BadPeriod = "review-bad-period";

    /// <summary>A sign-off names a period of another cycle than the configured one (<c>Custodian:Review:Cycle</c>), or asks for another cycle with <c>--cycle</c> (409).</summary>
    public const string CycleMismatch = "review-cycle-mismatch";

    /// <summary>A sign-off names a period that ended before the first ledger entry (before deployment): nothing to review (409).</summary>
    public const string PeriodBeforeDeployment = "review-period-before-deployment";

    /// <summary>A sign-off names a period that has not ended yet.</summary>
    public const string PeriodNotOver = "review-period-not-over";

    /// <summary>A sign-off names a period that is already signed off.</summary>
    public const string AlreadySignedOff = "review-already-signed-off";

    /// <summary>The reviewer is not an active security-officer or privacy-officer account.</summary>
    public const string ReviewerNotOfficer = "review-reviewer-not-officer";

    /// <summary>A reason (export) or note (sign-off) is missing, blank or longer than 500 characters.</summary>
    public const string ReasonRequired = "review-reason-required";

    /// <summary>The report now differs from the SHA-256 the reviewer said they reviewed.</summary>
    public const string ReportChanged = "review-report-changed";

    /// <summary>A subscriber token is not 19 digits or does not decode to a subscriber.</summary>
    public const string BadToken = "review-bad-token";
}
