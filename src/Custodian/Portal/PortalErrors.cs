namespace Custodian.Portal;

/// <summary>Error codes of the subscriber portal (RFC 9457 <c>type</c> = <c>urn:custodian:error:&lt;code&gt;</c>).</summary>
public static class PortalErrors
{
    /// <summary>The disclosure request was already answered; answers are final (409).</summary>
    public const string DisclosureAlreadyAnswered = "disclosure-already-answered";

    /// <summary>The ledger entry cannot be held back from this subscriber: missing, erased, not about them, or not a staff action (404 in the CLI's words).</summary>
    public const string DeferralEntryInvalid = "deferral-entry-invalid";

    /// <summary>
    /// The usage-history notice's period ended before the deployment's start (its first ledger entry): the ledger holds
    /// nothing of it, so there is nothing to notify (409; exit 2 in the CLI).
    /// </summary>
    public const string NoticePeriodBeforeDeployment = "notice-period-before-deployment";
}
