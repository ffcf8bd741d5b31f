namespace Custodian.Monitoring;

/// <summary>
/// Error codes the monitoring capability adds to <see cref="Custodian.Problems.ErrorCodes"/> (same rules: stable,
/// kebab-case, problem <c>type</c> <c>urn:custodian:error:&lt;code&gt;</c>).
/// </summary>
public static class MonitoringErrorCodes
{
    /// <summary>
    /// The monitor has not yet processed the principal's previous ledger entry within the guard's wait
    /// (<see cref="MonitorOptions.GuardWaitTimeout"/>), so the read is refused rather than served unchecked (503, transient).
    /// </summary>
    public const string MonitorBehind = "monitor-behind";

    /// <summary>The alert is in a final state, or the requested transition is not allowed (409).</summary>
    public const string AlertStateConflict = "alert-state-conflict";

    /// <summary>
    /// The clerk or terminal is under step-up (<see cref="Detection.MonitorAction.StepUp"/>): a plain view is refused;
    /// request the subscriber's consent and unmask with it instead, which needs the subscriber present (403).
    /// </summary>
    public const string StepUpRequired = "step-up-required";
}
