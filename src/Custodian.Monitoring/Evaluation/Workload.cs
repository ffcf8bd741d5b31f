using System.Globalization;
using Custodian.Identity;
using Custodian.Ledger;

namespace Custodian.Monitoring.Evaluation;

/// <summary>A request in a simulated workload: the entry the guard would record if it allowed it, and whether an attacker sent it.</summary>
/// <param name="Entry">The entry as requested (outcome <c>allowed</c> unless the request is refused before the guard, e.g. at sign-in or the gateway).</param>
/// <param name="Attack">True for the attacker's requests.</param>
public sealed record SimRequest(AccessEntry Entry, bool Attack);

/// <summary>
/// Generates a store chain's requests day by day (store-local days, UTC+9), deterministic for a seed.
/// </summary>
/// <remarks>
/// <para>Normal work: stores open 10:00–20:00 with <see cref="WorkloadOptions.ClerksPerStore"/> clerks and one store
/// manager each; every clerk has their own terminal, a speed (0.7–1.3) and two days off a week. Customers arrive as a
/// Poisson process per clerk with daily peaks (lunch, evening) and weekly ones (Saturday ×1.4, Sunday ×0.7); a
/// service takes 4–20 minutes divided by the clerk's speed and waits for the previous one. A customer is a household
/// of 1–3 subscribers, 90 % from the store's own area; the clerk searches (4 % first mistype the number: a not-found
/// search), views each member, in 10 % asks consent and unmasks the RRN, and completes the service for each member
/// (7 % leave without a transaction). Managers make 0–6 follow-up views a day of earlier customers (no transaction).
/// Legitimate bursts: store 2 opens on day 5 with 2.5× the customers; store 3 has an outage 12:00–14:00 on day 14 and
/// serves the backlog at twice the rate until 16:00. Staff join (5 % of clerks start between day 7 and 16) and leave
/// (3 % stop between day 12 and 21; their accounts are disabled).</para>
/// <para>Signals (<see cref="AccessSignals"/>, docs/monitoring.md "Workload"), drawn from a random stream of their own so that
/// the requests themselves are those of the same seed without signals: every search carries the number block of the
/// searched customer's simulated phone number (a mistyped last digit lands in the same block); a customer's reads are
/// flagged <c>ending</c> for 6 % of customers (20 % of those who come for a plan change: about 9.5 % of reads overall)
/// and <c>away</c> when the customer is not from the store's area (about 10 %); a clerk serves a member of their own
/// household about once in 60 working days (flagged <c>household</c>; such a customer is always served).</para>
/// <para>Attacks: see <see cref="Scenario"/>. Watch-listed subscribers (20) are never normal customers.</para>
/// </remarks>
public sealed class Workload
{
    private static readonly double[] HourProfile = [0.7, 0.9, 1.4, 1.3, 0.9, 0.8, 0.9, 1.1, 1.4, 0.6]; // 10:00 … 19:00
    private static readonly double[] WeekProfile = [0.9, 0.9, 0.95, 1.0, 1.15, 1.4, 0.7]; // Monday … Sunday
    private static readonly string[] Purposes = ["in-store-service", "plan-change", "device-repair", "billing-inquiry"];
    private static readonly TimeSpan Offset = TimeSpan.FromHours(9);

    private readonly WorkloadOptions _options;
    private readonly Scenario _scenario;
    private readonly Random _random;
    private readonly Random _signals; // signals only: the requests' own draws stay those of _random
    private readonly List<Staff> _staff = [];
    private readonly int _stores;
    private readonly HashSet<long> _watch = [];
    private readonly List<long> _targets = [];
    private readonly DateTimeOffset _start;
    private readonly HashSet<Principal> _attackers = [];
    private readonly Staff[] _attackStaff;

    /// <summary>Creates the workload.</summary>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="options"/> is out of range.</exception>
    public Workload(WorkloadOptions options, Scenario scenario)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _scenario = scenario;
        _random = new Random(options.Seed);
        _signals = new Random(unchecked((options.Seed * 7919) + 104_729));
        _stores = (options.Clerks + options.ClerksPerStore - 1) / options.ClerksPerStore;
        _start = new DateTimeOffset(2026, 11, 2, 0, 0, 0, Offset); // a Monday, store-local midnight
        for (var i = 0; i < options.Clerks; i++)
        {
            var store = i % _stores;
            var joins = _random.NextDouble() < 0.05 ? 7 + _random.Next(10) : 0;
            var leaves = joins == 0 && _random.NextDouble() < 0.03 ? 12 + _random.Next(10) : int.MaxValue;
            _staff.Add(new Staff(
                "C" + (i + 1).ToString("00000", CultureInfo.InvariantCulture),
                StaffRole.Clerk,
                store,
                $"T-{StoreCode(store)}-{(i / _stores) + 1}",
                0.7 + (0.6 * _random.NextDouble()),
                (i % 7, (i + 3) % 7),
                joins,
                leaves));
        }

        for (var s = 0; s < _stores; s++)
        {
            _staff.Add(new Staff("M" + (s + 1).ToString("0000", CultureInfo.InvariantCulture), StaffRole.StoreManager, s, $"T-{StoreCode(s)}-m", 1, (6, 6), 0, int.MaxValue));
        }

        while (_watch.Count < 20)
        {
            _watch.Add(1 + _random.NextInt64(options.Subscribers));
        }

        while (_targets.Count < 400)
        {
            _targets.Add(1 + _random.NextInt64(options.Subscribers));
        }

        // Attackers: ordinary clerks who work from day 0 and do not leave.
        var eligible = _staff.Where(s => s.Role == StaffRole.Clerk && s.Joins == 0 && s.Leaves == int.MaxValue).ToList();
        _attackStaff = scenario switch
        {
            Scenario.Collusion => [.. eligible.GroupBy(s => s.Store).Take(3).Select(g => g.First())],
            Scenario.DepartedCredential or Scenario.UnenrolledDevice or Scenario.Normal => [],
            _ => [eligible[eligible.Count / 2]],
        };
        foreach (var a in _attackStaff)
        {
            _attackers.Add(new Principal(PrincipalKind.Clerk, a.Account));
            _attackers.Add(new Principal(PrincipalKind.Terminal, a.Terminal));
        }

        if (scenario == Scenario.DepartedCredential)
        {
            // The departed clerk leaves two days before the attack; the password is tried at a colleague's terminal.
            var departed = eligible[eligible.Count / 3];
            departed.Leaves = Math.Max(1, options.AttackDay - 2);
            var colleague = eligible.First(s => s.Store == departed.Store && s != departed);
            _attackers.Add(new Principal(PrincipalKind.Clerk, departed.Account));
            _attackers.Add(new Principal(PrincipalKind.Terminal, colleague.Terminal));
            _departed = (departed, colleague);
        }
    }

    private (Staff Departed, Staff Colleague)? _departed;

    /// <summary>Subscriber IDs on the watch list (give them to <see cref="Detection.DetectionOptions.WatchList"/>).</summary>
    public IReadOnlySet<long> WatchList => _watch;

    /// <summary>The attacker's clerk accounts and terminals (empty for <see cref="Scenario.Normal"/>).</summary>
    public IReadOnlySet<Principal> Attackers => _attackers;

    /// <summary>The attacking clerks' accounts (for containment: every one must be stopped).</summary>
    public IReadOnlyList<string> AttackerAccounts => [.. _attackStaff.Select(s => s.Account), .. _departed is { } d ? new[] { d.Departed.Account } : []];

    /// <summary>Store-local midnight of day 0.</summary>
    public DateTimeOffset Start => _start;

    /// <summary>The requests of day <paramref name="day"/> (0-based), in time order.</summary>
    public List<SimRequest> Day(int day)
    {
        var list = new List<(DateTimeOffset At, long Order, SimRequest Request)>();
        long order = 0;
        void Add(DateTimeOffset at, AccessEntry e, bool attack = false) => list.Add((at, order++, new SimRequest(e with { Time = at }, attack)));

        var date = _start.AddDays(day);
        var weekday = ((int)date.DayOfWeek + 6) % 7; // Monday = 0
        foreach (var staff in _staff)
        {
            if (day < staff.Joins || day >= staff.Leaves || weekday == staff.DaysOff.A || weekday == staff.DaysOff.B)
            {
                continue;
            }

            if (staff.Store == 1 && day < 5)
            {
                continue; // store 2 is not open yet
            }

            if (staff.Role == StaffRole.StoreManager)
            {
                var follow = _random.Next(7);
                for (var i = 0; i < follow; i++)
                {
                    var at = date.AddHours(15).AddSeconds(_random.Next(7200));
                    var subject = new SubscriberId(Customer(staff.Store));
                    var flags = Flags(staff.Store, subject.Value, "billing-inquiry");
                    Add(at, Entry(staff, AccessTask.Search, [subject], null) with { Signals = WithBlock(flags, subject.Value) });
                    Add(at.AddSeconds(10 + _random.Next(20)), Entry(staff, AccessTask.View, [subject], "billing-inquiry") with { Signals = flags });
                }

                continue;
            }

            ServeDay(staff, date, day, weekday, Add);
        }

        Attack(date, day, weekday, Add);
        list.Sort((a, b) => a.At != b.At ? a.At.CompareTo(b.At) : a.Order.CompareTo(b.Order));
        return [.. list.Select(x => x.Request)];
    }

    private void ServeDay(Staff staff, DateTimeOffset date, int day, int weekday, Action<DateTimeOffset, AccessEntry, bool> add)
    {
        var rateFactor = WeekProfile[weekday] * staff.Speed;
        if (staff.Store == 1 && day == 5)
        {
            rateFactor *= 2.5; // opening day
        }

        var meanPerHour = _options.CustomersPerClerkDay / 10.0;
        var free = date.AddHours(10);
        var t = date.AddHours(10);
        var close = date.AddHours(20);
        var outage = staff.Store == 2 && day == 14;
        while (true)
        {
            var hour = Math.Clamp((int)(t - date).TotalHours - 10, 0, 9);
            var rate = meanPerHour * rateFactor * HourProfile[hour];
            if (outage && t >= date.AddHours(14) && t < date.AddHours(16))
            {
                rate *= 2; // backlog after the outage
            }

            t = t.AddHours(-Math.Log(1 - _random.NextDouble()) / rate);
            if (t >= close)
            {
                break;
            }

            if (outage && t >= date.AddHours(12) && t < date.AddHours(14))
            {
                continue; // the system is down; these customers come back later (the backlog above)
            }

            var start = t > free ? t : free;
            if (start >= date.AddHours(20.5))
            {
                continue; // the queue is too long: turned away at closing time
            }

            var duration = TimeSpan.FromMinutes((4 + (16 * _random.NextDouble())) / staff.Speed);
            free = start + duration;
            Serve(staff, start, duration, add);
        }
    }

    private void Serve(Staff staff, DateTimeOffset start, TimeSpan duration, Action<DateTimeOffset, AccessEntry, bool> add)
    {
        var head = Customer(staff.Store);
        var size = head % 7 == 0 ? 3 : head % 3 == 0 ? 2 : 1;
        var members = Enumerable.Range(0, size).Select(k => Math.Min(head + k, _options.Subscribers)).Where(id => !_watch.Contains(id)).Distinct().Select(id => new SubscriberId(id)).ToList();
        var purpose = Purposes[_random.Next(Purposes.Length)];
        var flags = Flags(staff.Store, head, purpose);
        var family = _signals.NextDouble() < 1.0 / (60 * _options.CustomersPerClerkDay); // the clerk's own household, about once in 60 working days
        if (family)
        {
            flags = (flags ?? new AccessSignals()) with { SameHousehold = true };
        }

        var searched = WithBlock(flags, head);
        var at = start.AddSeconds(5 + _random.Next(35));
        if (_random.NextDouble() < 0.04)
        {
            add(at, Entry(staff, AccessTask.Search, [], null) with { Signals = new AccessSignals { NumberBlock = searched!.NumberBlock } }, false); // a mistyped last digit: the same block, nobody found
            at = at.AddSeconds(10 + _random.Next(20));
        }

        add(at, Entry(staff, AccessTask.Search, members, null) with { Signals = searched }, false);
        foreach (var m in members)
        {
            at = at.AddSeconds(10 + _random.Next(20));
            add(at, Entry(staff, AccessTask.View, [m], purpose) with { Signals = flags }, false);
        }

        if (_random.NextDouble() < 0.10)
        {
            at = at.AddSeconds(30 + _random.Next(60));
            add(at, Entry(staff, AccessTask.ConsentRequest, [members[0]], "identity-verification"), false);
            at = at.AddSeconds(40 + _random.Next(40));
            add(at, Entry(staff, AccessTask.Unmask, [members[0]], "identity-verification") with { UnmaskedFields = ["rrn"], Signals = flags }, false);
        }

        if (_random.NextDouble() < 0.07 && !family)
        {
            return; // left without a transaction (a relative came to be served, and is)
        }

        var done = start + duration > at.AddSeconds(30) ? start + duration : at.AddSeconds(30);
        foreach (var m in members)
        {
            add(done, Entry(staff, AccessTask.ServiceComplete, [m], purpose), false);
        }
    }

    private void Attack(DateTimeOffset date, int day, int weekday, Action<DateTimeOffset, AccessEntry, bool> add)
    {
        if (day < _options.AttackDay)
        {
            return;
        }

        var working = _attackStaff.Where(a => weekday != a.DaysOff.A && weekday != a.DaysOff.B).ToList();
        switch (_scenario)
        {
            case Scenario.Scraper:
                foreach (var a in working)
                {
                    var t = date.AddHours(11);
                    while (t < date.AddHours(20))
                    {
                        var subject = new SubscriberId(1 + _random.NextInt64(_options.Subscribers));
                        var flags = Flags(a.Store, subject.Value, "in-store-service");
                        add(t, Entry(a, AccessTask.Search, [subject], null) with { Signals = WithBlock(flags, subject.Value) }, true);
                        add(t.AddSeconds(1 + _random.Next(3)), Entry(a, AccessTask.View, [subject], "in-store-service") with { Signals = flags }, true);
                        var jitter = 1 + (_options.ScraperJitter * ((2 * _random.NextDouble()) - 1));
                        t = t.AddSeconds(_options.ScraperIntervalSeconds * jitter);
                    }
                }

                break;
            case Scenario.SlowScraper:
                foreach (var a in working)
                {
                    for (var i = 0; i < _options.SlowScraperPerDay; i++)
                    {
                        var t = date.AddHours(10).AddSeconds(_random.Next(36_000));
                        var subject = new SubscriberId(1 + _random.NextInt64(_options.Subscribers));
                        var flags = Flags(a.Store, subject.Value, "in-store-service");
                        add(t, Entry(a, AccessTask.Search, [subject], null) with { Signals = WithBlock(flags, subject.Value) }, true);
                        add(t.AddSeconds(5 + _random.Next(20)), Entry(a, AccessTask.View, [subject], "in-store-service") with { Signals = flags }, true);
                    }
                }

                break;
            case Scenario.Telemarketer:
                foreach (var a in working)
                {
                    for (var i = 0; i < 20; i++)
                    {
                        var t = date.AddHours(13).AddMinutes(6 * i).AddSeconds(_random.Next(300));
                        if (_random.NextDouble() < 0.4)
                        {
                            add(t, Entry(a, AccessTask.Search, [], null) with { Signals = new AccessSignals { NumberBlock = BlockOf(_signals.NextInt64(100_000_000)) } }, true);
                            continue;
                        }

                        var subject = new SubscriberId(1 + _random.NextInt64(_options.Subscribers));
                        // A prospect list of expiring contracts, bought from elsewhere: mostly ending, often another area.
                        var flags = new AccessSignals { ContractEnding = _signals.NextDouble() < 0.8, OtherArea = _signals.NextDouble() < 0.5 };
                        add(t, Entry(a, AccessTask.Search, [subject], null) with { Signals = WithBlock(flags, subject.Value) }, true);
                        add(t.AddSeconds(5 + _random.Next(20)), Entry(a, AccessTask.View, [subject], "plan-change") with { Signals = flags.IsEmpty ? null : flags }, true);
                    }
                }

                break;
            case Scenario.Collusion:
                for (var k = 0; k < _attackStaff.Length; k++)
                {
                    var a = _attackStaff[k];
                    var days = day - _options.AttackDay - k;
                    if (days < 0 || !working.Contains(a))
                    {
                        continue;
                    }

                    for (var i = 0; i < 6; i++)
                    {
                        var subject = new SubscriberId(_targets[((days * 6) + i) % _targets.Count]);
                        var t = date.AddHours(10).AddSeconds(_random.Next(36_000));
                        var flags = Flags(a.Store, subject.Value, "in-store-service");
                        add(t, Entry(a, AccessTask.Search, [subject], null) with { Signals = WithBlock(flags, subject.Value) }, true);
                        add(t.AddSeconds(5 + _random.Next(20)), Entry(a, AccessTask.View, [subject], "in-store-service") with { Signals = flags }, true);
                    }
                }

                break;
            case Scenario.Snooping:
                foreach (var a in working)
                {
                    var i = day - _options.AttackDay;
                    if (i < 3)
                    {
                        var subject = new SubscriberId(_watch.ElementAt(i));
                        var t = date.AddHours(15).AddSeconds(_random.Next(3600));
                        add(t, Entry(a, AccessTask.Search, [subject], null) with { Signals = WithBlock(null, subject.Value) }, true);
                        add(t.AddSeconds(10), Entry(a, AccessTask.View, [subject], "in-store-service"), true);

                        // A member of the clerk's own household (a relative's new partner, an ex), looked up and never served.
                        var relative = new SubscriberId(1 + _signals.NextInt64(_options.Subscribers));
                        var household = new AccessSignals { SameHousehold = true };
                        var h = date.AddHours(16).AddSeconds(_signals.Next(3600)); // after the watch-listed read
                        add(h, Entry(a, AccessTask.Search, [relative], null) with { Signals = WithBlock(household, relative.Value) }, true);
                        add(h.AddSeconds(15), Entry(a, AccessTask.View, [relative], "in-store-service") with { Signals = household }, true);
                    }
                }

                break;
            case Scenario.Enumerator:
                foreach (var a in working)
                {
                    // Near-sequential numbers from a random start, one a minute (± 20 s) from 11:00 to 19:00: a quarter
                    // are customers (found, then viewed), the rest not.
                    var number = _signals.NextInt64(100_000_000);
                    for (var i = 0; i < 480; i++)
                    {
                        var t = date.AddHours(11).AddMinutes(i).AddSeconds(_signals.Next(-20, 21));
                        var block = new AccessSignals { NumberBlock = BlockOf(number + i) };
                        if (_signals.NextDouble() < 0.75)
                        {
                            add(t, Entry(a, AccessTask.Search, [], null) with { Signals = block }, true);
                            continue;
                        }

                        var subject = new SubscriberId(1 + _signals.NextInt64(_options.Subscribers));
                        var flags = Flags(a.Store, subject.Value, "in-store-service");
                        add(t, Entry(a, AccessTask.Search, [subject], null) with { Signals = (flags ?? new AccessSignals()) with { NumberBlock = block.NumberBlock } }, true);
                        add(t.AddSeconds(5 + _signals.Next(10)), Entry(a, AccessTask.View, [subject], "in-store-service") with { Signals = flags }, true);
                    }
                }

                break;
            case Scenario.DepartedCredential when day == _options.AttackDay && _departed is { } d:
                for (var i = 0; i < 5; i++)
                {
                    var e = Entry(d.Departed, AccessTask.SignIn, [], null) with
                    {
                        Terminal = d.Colleague.Terminal,
                        Outcome = AccessOutcome.Denied,
                        ErrorCode = "account-disabled",
                    };
                    add(date.AddHours(19.5).AddMinutes(2 * i), e, true);
                }

                break;
            case Scenario.UnenrolledDevice when day == _options.AttackDay:
                for (var i = 0; i < 20; i++)
                {
                    add(date.AddHours(21).AddSeconds(30 * i), new AccessEntry
                    {
                        Time = date,
                        Task = AccessTask.DeviceRefused,
                        Outcome = AccessOutcome.Denied,
                        SourceIp = "10.99.0.7",
                        ErrorCode = "device-certificate-required",
                    }, true);
                }

                break;
        }
    }

    private long Customer(int store)
    {
        while (true)
        {
            long id = _random.NextDouble() < 0.9
                ? store + 1 + ((long)_stores * _random.NextInt64(Math.Max(1, (_options.Subscribers - store - 1) / _stores)))
                : 1 + _random.NextInt64(_options.Subscribers);
            if (id >= 1 && id <= _options.Subscribers && !_watch.Contains(id))
            {
                return id;
            }
        }
    }

    // The contract-ending and other-area flags of one customer's reads (null when neither holds): ending for 6 % of
    // customers, 20 % of those who come for a plan change; away when the subscriber is not of the store's area.
    private AccessSignals? Flags(int store, long subscriber, string? purpose)
    {
        var ending = _signals.NextDouble() < (purpose == "plan-change" ? 0.20 : 0.06);
        var away = (subscriber - 1) % _stores != store;
        return ending || away ? new AccessSignals { ContractEnding = ending, OtherArea = away } : null;
    }

    // The search's signals: the flags plus the number block of the subscriber's simulated phone number.
    private static AccessSignals WithBlock(AccessSignals? flags, long subscriber) =>
        (flags ?? new AccessSignals()) with { NumberBlock = BlockOf(PhoneNumber(subscriber)) };

    // A subscriber's simulated 8-digit number (after 010): a fixed permutation of the ID, so neighbouring IDs are not neighbouring numbers.
    private static long PhoneNumber(long subscriber) => (subscriber * 48_271) % 100_000_000;

    /// <summary>
    /// The simulated <see cref="AccessSignals.NumberBlock"/> of an 8-digit number: its 100-number block (the number
    /// without its last two digits) mixed by SplitMix64 as 16 lower-case hex characters — a deterministic stand-in for the
    /// guard's HMAC (the same block gives the same pseudonym; neighbouring blocks look unrelated).
    /// </summary>
    /// <param name="number">The number, 0 to 99,999,999 (larger values are taken as they are).</param>
    public static string BlockOf(long number)
    {
        var z = unchecked((ulong)(number / 100) + 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return z.ToString("x16", CultureInfo.InvariantCulture);
    }

    private static string StoreCode(int store) => "S" + (store + 1).ToString("000", CultureInfo.InvariantCulture);

    private AccessEntry Entry(Staff s, AccessTask task, IReadOnlyList<SubscriberId> subjects, string? purpose) => new()
    {
        Time = _start,
        Task = task,
        Outcome = AccessOutcome.Allowed,
        Account = s.Account,
        Role = s.Role,
        Terminal = s.Terminal,
        Store = StoreCode(s.Store),
        Purpose = purpose,
        Subjects = subjects,
        Fields = task is AccessTask.Search ? (subjects.Count > 0 ? ["name", "phone", "rate-plan"] : []) : task is AccessTask.View ? ["name", "rrn", "phone", "address", "rate-plan", "contract-dates"] : [],
    };

    private sealed class Staff(string account, StaffRole role, int store, string terminal, double speed, (int A, int B) daysOff, int joins, int leaves)
    {
        public string Account { get; } = account;
        public StaffRole Role { get; } = role;
        public int Store { get; } = store;
        public string Terminal { get; } = terminal;
        public double Speed { get; } = speed;
        public (int A, int B) DaysOff { get; } = daysOff;
        public int Joins { get; } = joins;
        public int Leaves { get; set; } = leaves;
    }
}
