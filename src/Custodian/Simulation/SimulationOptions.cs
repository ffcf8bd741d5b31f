namespace Custodian.Simulation;

/// <summary>Parameters of a simulated store day. All durations are simulated time.</summary>
public sealed class SimulationOptions
{
    /// <summary>Length of the simulated period, in minutes (1–1,440).</summary>
    /// <value>The default is 600 (a 10-hour store day).</value>
    public int Minutes { get; set; } = 600;

    /// <summary>Number of stores (1–500). Ignored when a staff file is given.</summary>
    /// <value>The default is 4.</value>
    public int Stores { get; set; } = 4;

    /// <summary>Number of clerks, spread over the stores, each on their own terminal (1–2,000). Ignored when a staff file is given.</summary>
    /// <value>The default is 12.</value>
    public int Clerks { get; set; } = 12;

    /// <summary>Subscribers generated for an in-process run (100–1,000,000).</summary>
    /// <value>The default is 5,000.</value>
    public int Subscribers { get; set; } = 5_000;

    /// <summary>Mean minutes between customers arriving at one clerk (exponential inter-arrival).</summary>
    /// <value>The default is 12 minutes.</value>
    public double MeanMinutesBetweenCustomers { get; set; } = 12;

    /// <summary>Share of served subscribers for whom the clerk also needs the full RRN (consent + unmask), 0–1.</summary>
    /// <value>The default is 0.1.</value>
    public double UnmaskShare { get; set; } = 0.1;

    /// <summary>
    /// The attack to blend in, or null for a normal day: <c>scraper</c> (KT-2012: one random subscriber's record per
    /// query) or <c>enumerator</c> (working through near-sequential phone numbers from one known subscriber's number
    /// onward, one number per query, viewing each that is found; most are not customers). Both run through the first
    /// clerk's real login and terminal at <see cref="ScraperIntervalSeconds"/> from <see cref="ScraperStartMinute"/>.
    /// </summary>
    public string? Attack { get; set; }

    /// <summary>The attacks <see cref="Attack"/> accepts, by stable name.</summary>
    public static IReadOnlyList<string> Attacks { get; } = ["scraper", "enumerator"];

    /// <summary>Mean seconds between the attacker's lookups (jitter ±30 %).</summary>
    /// <value>The default is 60 seconds (the KT-2012 pattern: one record per query, around the clock).</value>
    public double ScraperIntervalSeconds { get; set; } = 60;

    /// <summary>Minutes into the day when the attack starts.</summary>
    /// <value>The default is 30.</value>
    public int ScraperStartMinute { get; set; } = 30;

    /// <summary>Random seed; the same seed gives the same day.</summary>
    /// <value>The default is 1.</value>
    public int Seed { get; set; } = 1;
}

/// <summary>What a simulated day produced.</summary>
public sealed record SimulationReport
{
    /// <summary>Reads served (search, view, unmask) with a 2xx answer.</summary>
    public required int LookupsServed { get; init; }

    /// <summary>Requests refused, by error code.</summary>
    public required IReadOnlyDictionary<string, int> Refusals { get; init; }

    /// <summary>Alerts the monitor raised.</summary>
    public required int Alerts { get; init; }

    /// <summary>Clerks other than the attacker that were suspended (false suspensions).</summary>
    public required IReadOnlyList<string> FalselySuspendedClerks { get; init; }

    /// <summary>Whether an attack ran.</summary>
    public required bool AttackRan { get; init; }

    /// <summary>Whether the attacker was suspended before the end of the run.</summary>
    public required bool AttackerSuspended { get; init; }

    /// <summary>Distinct subscribers the attacker's scraping obtained (masked) before suspension.</summary>
    public required int AttackerRecordsMasked { get; init; }

    /// <summary>Distinct subscribers the attacker's scraping obtained unmasked (RRN in full).</summary>
    public required int AttackerRecordsUnmasked { get; init; }

    /// <summary>Simulated time from the scraper's first request to its first refusal; null when not contained.</summary>
    public required TimeSpan? TimeToSuspension { get; init; }

    /// <summary>Scraper requests attempted.</summary>
    public required int AttackerRequests { get; init; }

    /// <summary>Times a clerk signed in again after the session ended for idleness (15 minutes without a request).</summary>
    public int SessionRenewals { get; init; }
}
