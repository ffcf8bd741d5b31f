namespace Custodian.Monitoring.Evaluation;

/// <summary>The workloads <c>custodian evaluate</c> runs. Stable names from <see cref="Scenarios.ToName"/>.</summary>
public enum Scenario
{
    /// <summary>Normal work only: measures false alerts and false suspensions.</summary>
    Normal = 0,

    /// <summary>KT-2012: one clerk's real login and terminal, one record per query at <see cref="WorkloadOptions.ScraperIntervalSeconds"/> (± jitter), blended into the clerk's day, from 11:00 on the attack day and every working day after.</summary>
    Scraper = 1,

    /// <summary>A few extra records a day (<see cref="WorkloadOptions.SlowScraperPerDay"/>) at random working hours, for weeks.</summary>
    SlowScraper = 2,

    /// <summary>A telemarketing insider: 20 numbers from a prospect list each afternoon, 40 % not customers, none served; the customers found are mostly on expiring contracts (80 % flagged <c>ending</c>) and often from another area (50 % <c>away</c>).</summary>
    Telemarketer = 3,

    /// <summary>Three clerks of three stores each reading 6 a day from one shared target list (the same tool resold), starts staggered by a day.</summary>
    Collusion = 4,

    /// <summary>A clerk looking up watch-listed subscribers (one a day, three days) and members of their own household (flagged <see cref="Custodian.Ledger.AccessSignals.SameHousehold"/>, one a day, never served).</summary>
    Snooping = 5,

    /// <summary>A departed employee's password tried at a store terminal after the account was disabled.</summary>
    DepartedCredential = 6,

    /// <summary>A stolen password tried from an unenrolled PC: refused at the gateway (no device certificate).</summary>
    UnenrolledDevice = 7,

    /// <summary>A clerk searching near-sequential phone numbers from 11:00 on the attack day, one a minute (± 20 s): 75 % not customers, the rest found and viewed (number blocks, <see cref="Custodian.Ledger.AccessSignals.NumberBlock"/>).</summary>
    Enumerator = 8,
}

/// <summary>Stable names of <see cref="Scenario"/>.</summary>
public static class Scenarios
{
    private static readonly (Scenario Value, string Name)[] Names =
    [
        (Scenario.Normal, "normal"), (Scenario.Scraper, "scraper"), (Scenario.SlowScraper, "slow-scraper"),
        (Scenario.Telemarketer, "telemarketer"), (Scenario.Collusion, "collusion"), (Scenario.Snooping, "snooping"),
        (Scenario.DepartedCredential, "departed-credential"), (Scenario.UnenrolledDevice, "unenrolled-device"),
        (Scenario.Enumerator, "enumerator"),
    ];

    /// <summary>Every scenario, in report order.</summary>
    public static IReadOnlyList<Scenario> All { get; } = [.. Names.Select(n => n.Value)];

    /// <summary>The stable name, e.g. <c>slow-scraper</c>.</summary>
    public static string ToName(this Scenario scenario) => Names.First(n => n.Value == scenario).Name;

    /// <summary>Parses a stable name.</summary>
    public static bool TryParse(string? name, out Scenario scenario)
    {
        foreach (var (value, n) in Names)
        {
            if (n == name)
            {
                scenario = value;
                return true;
            }
        }

        scenario = default;
        return false;
    }
}

/// <summary>
/// Parameters of a simulated workload. Times are store-local (UTC+9). Defaults describe the target evaluation:
/// 30 days, 300 clerks in 50 stores.
/// </summary>
public sealed class WorkloadOptions
{
    /// <summary>Simulated days, 1–60.</summary>
    /// <value>The default is 30.</value>
    public int Days { get; set; } = 30;

    /// <summary>Clerks, 6–5,000 (plus one store manager per store).</summary>
    /// <value>The default is 300.</value>
    public int Clerks { get; set; } = 300;

    /// <summary>Clerks per store, 2–50.</summary>
    /// <value>The default is 6.</value>
    public int ClerksPerStore { get; set; } = 6;

    /// <summary>Subscribers in the population, 1,000–10,000,000.</summary>
    /// <value>The default is 2,000,000.</value>
    public int Subscribers { get; set; } = 2_000_000;

    /// <summary>Mean customers per clerk per working day, before the daily and weekly profile, 5–200.</summary>
    /// <value>The default is 32.</value>
    public double CustomersPerClerkDay { get; set; } = 32;

    /// <summary>Day (0-based) the attack starts, after the baselines have formed.</summary>
    /// <value>The default is 10.</value>
    public int AttackDay { get; set; } = 10;

    /// <summary>Mean seconds between the KT-2012 scraper's records, 1–3,600.</summary>
    /// <value>The default is 60 (one record a minute).</value>
    public double ScraperIntervalSeconds { get; set; } = 60;

    /// <summary>Relative jitter of the scraper's interval, 0–0.9 (uniform ± this share).</summary>
    /// <value>The default is 0.3.</value>
    public double ScraperJitter { get; set; } = 0.3;

    /// <summary>Extra records a day of the slow scraper, 1–50.</summary>
    /// <value>The default is 5.</value>
    public int SlowScraperPerDay { get; set; } = 5;

    /// <summary>Random seed; the same seed and options give the same workload.</summary>
    /// <value>The default is 1.</value>
    public int Seed { get; set; } = 1;

    /// <summary>Checks ranges.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Naming the first setting out of range.</exception>
    public void Validate()
    {
        Check(Days is >= 1 and <= 60, nameof(Days), "1-60");
        Check(Clerks is >= 6 and <= 5000, nameof(Clerks), "6-5000");
        Check(ClerksPerStore is >= 2 and <= 50, nameof(ClerksPerStore), "2-50");
        Check(Subscribers is >= 1000 and <= 10_000_000, nameof(Subscribers), "1000-10000000");
        Check(CustomersPerClerkDay is >= 5 and <= 200, nameof(CustomersPerClerkDay), "5-200");
        Check(AttackDay >= 0 && AttackDay < Days, nameof(AttackDay), "0 to Days-1");
        Check(ScraperIntervalSeconds is >= 1 and <= 3600, nameof(ScraperIntervalSeconds), "1-3600");
        Check(ScraperJitter is >= 0 and <= 0.9, nameof(ScraperJitter), "0-0.9");
        Check(SlowScraperPerDay is >= 1 and <= 50, nameof(SlowScraperPerDay), "1-50");
    }

    private static void Check(bool ok, string name, string range)
    {
        if (!ok)
        {
            throw new ArgumentOutOfRangeException(name, $"{name} must be {range}.");
        }
    }
}
