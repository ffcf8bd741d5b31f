using System.Diagnostics;
using Custodian.Identity;
using Xunit.Abstractions;

namespace Custodian.Monitoring.Tests.Detectors;

public sealed class DistinctSubjectsDetectorTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 3, 0, 0, 0, TimeSpan.Zero);
    private static readonly Principal Clerk = new(PrincipalKind.Clerk, "C0001");
    private static readonly Principal Terminal = new(PrincipalKind.Terminal, "S001-T1");

    private static SubscriberId[] S(params long[] ids) => [.. ids.Select(SubscriberId.From)];

    private static DistinctSubjectsDetector Default() => new(new MonitorOptions());

    [Fact]
    public void Thirteen_distinct_within_ten_minutes_breaches_the_clerk_limit_of_twelve()
    {
        var d = Default();
        // One new subscriber every 49 s: the 13th arrives at 9 min 48 s.
        for (var i = 0; i < 12; i++)
        {
            Assert.False(d.Observe(Clerk, T0.AddSeconds(49 * i), S(1000 + i), i, out _));
        }

        Assert.True(d.Observe(Clerk, T0.AddSeconds(49 * 12), S(1012), 12, out var breach));
        Assert.Equal(new DetectorBreach(Clerk, TimeSpan.FromMinutes(10), 13, 12, 12), breach);
    }

    [Fact]
    public void The_same_thirteen_spread_over_eleven_minutes_do_not_breach_the_ten_minute_window()
    {
        var d = Default();
        // One every 55 s: the 13th at 11 min; the first has left the 10-minute window.
        for (var i = 0; i < 13; i++)
        {
            Assert.False(d.Observe(Clerk, T0.AddSeconds(55 * i), S(1000 + i), i, out _));
        }

        var counts = d.GetCounts(Clerk, T0.AddSeconds(55 * 12));
        Assert.Equal(
            [new WindowCount(TimeSpan.FromMinutes(10), 11, 12), new WindowCount(TimeSpan.FromHours(1), 13, 40), new WindowCount(TimeSpan.FromHours(24), 13, 150)],
            counts);
    }

    [Fact]
    public void The_window_boundary_is_exclusive_to_the_millisecond()
    {
        var d = Default();
        for (var i = 0; i < 12; i++)
        {
            d.Observe(Clerk, T0.AddSeconds(i), S(1000 + i), i, out _);
        }

        // Exactly 10 minutes after the first read, the first has left the window: 12, no breach.
        Assert.False(d.Observe(Clerk, T0.AddMinutes(10), S(2000), 12, out _));
        Assert.Equal(12, d.GetCounts(Clerk, T0.AddMinutes(10))[0].Observed);

        // One millisecond before the second read leaves, a new subscriber makes 13.
        Assert.True(d.Observe(Clerk, T0.AddMinutes(10).AddSeconds(1).AddMilliseconds(-1), S(2001), 13, out var breach));
        Assert.Equal(13, breach.Observed);
    }

    [Fact]
    public void Repeated_reads_of_the_same_subscriber_count_once_and_keep_it_in_the_window()
    {
        var d = Default();
        // 11 others read in the 11 seconds before T0, then subscriber 1 every minute for an hour.
        for (var i = 0; i < 11; i++)
        {
            d.Observe(Clerk, T0.AddSeconds(i - 11), S(100 + i), i, out _);
        }

        for (var m = 0; m <= 60; m++)
        {
            Assert.False(d.Observe(Clerk, T0.AddMinutes(m), S(1), 100 + m, out _));
        }

        var counts = d.GetCounts(Clerk, T0.AddMinutes(60));
        Assert.Equal(1, counts[0].Observed);   // only subscriber 1 was read in the last 10 minutes
        Assert.Equal(1, counts[1].Observed);   // the 11 early ones were read more than an hour ago
        Assert.Equal(12, counts[2].Observed);

        // Re-reading an early subscriber re-enters it into the shorter windows without growing the day count.
        d.Observe(Clerk, T0.AddMinutes(61), S(100), 200, out _);
        Assert.Equal([2, 2, 12], d.GetCounts(Clerk, T0.AddMinutes(61)).Select(c => c.Observed));
    }

    [Fact]
    public void One_entry_with_several_subjects_counts_each_distinct_subject()
    {
        var d = Default();
        Assert.False(d.Observe(Clerk, T0, S(1, 2, 3, 3, 2), 0, out _));
        Assert.Equal(3, d.GetCounts(Clerk, T0)[0].Observed);

        // A search returning 10 more at once breaches in one go.
        Assert.True(d.Observe(Clerk, T0.AddSeconds(1), S(4, 5, 6, 7, 8, 9, 10, 11, 12, 13), 1, out var breach));
        Assert.Equal(13, breach.Observed);
    }

    [Fact]
    public void Clerks_and_terminals_have_separate_state_and_limits()
    {
        var d = Default();
        var terminalBreached = false;
        for (var i = 0; i < 17; i++)
        {
            // Two clerks share the terminal, alternating: each reads 8 or 9 distinct, the terminal 17.
            var clerk = new Principal(PrincipalKind.Clerk, i % 2 == 0 ? "C0001" : "C0002");
            Assert.False(d.Observe(clerk, T0.AddSeconds(10 * i), S(500 + i), i, out _));
            terminalBreached |= d.Observe(Terminal, T0.AddSeconds(10 * i), S(500 + i), i, out var breach);
            if (terminalBreached)
            {
                Assert.Equal(new DetectorBreach(Terminal, TimeSpan.FromMinutes(10), 17, 16, 16), breach);
            }
        }

        Assert.True(terminalBreached);
        Assert.Equal(9, d.GetCounts(Clerk, T0.AddSeconds(160))[0].Observed);
    }

    [Fact]
    public void A_breach_is_reported_once_then_the_principal_is_latched_until_reset()
    {
        var d = Default();
        var breaches = 0;
        for (var i = 0; i < 40; i++)
        {
            breaches += d.Observe(Clerk, T0.AddSeconds(i), S(1000 + i), i, out _) ? 1 : 0;
        }

        Assert.Equal(1, breaches);
        Assert.True(d.IsLatched(Clerk));

        Assert.True(d.Reset(Clerk));
        Assert.False(d.IsLatched(Clerk));
        Assert.Equal([0, 0, 0], d.GetCounts(Clerk, T0.AddSeconds(40)).Select(c => c.Observed));
        for (var i = 0; i < 12; i++)
        {
            Assert.False(d.Observe(Clerk, T0.AddSeconds(41 + i), S(1000 + i), 41 + i, out _));
        }

        Assert.True(d.Observe(Clerk, T0.AddSeconds(53), S(5000), 53, out _));
    }

    [Fact]
    public void A_latched_principal_keeps_at_most_the_largest_limit_plus_one_subscribers()
    {
        var d = Default();
        for (var i = 0; i < 100_000; i++)
        {
            d.Observe(Clerk, T0.AddMilliseconds(i), S(1 + i), i, out _);
        }

        // Largest window (24 h) clerk limit is 150: 151 kept, not 100,000.
        Assert.Equal([151, 151, 151], d.GetCounts(Clerk, T0.AddMilliseconds(100_000)).Select(c => c.Observed));
    }

    [Fact]
    public void The_limit_factor_is_asked_only_when_a_count_exceeds_an_unraised_limit_or_the_principal_is_latched()
    {
        var asked = new List<(Principal Principal, long Ms)>();
        var d = new DistinctSubjectsDetector(new MonitorOptions())
        {
            LimitFactor = (p, ms) =>
            {
                asked.Add((p, ms));
                return 2;
            },
        };

        // Twelve distinct in ten minutes: at the 10-minute limit, never above it; the factor cannot change the answer.
        for (var i = 0; i < 12; i++)
        {
            Assert.False(d.Observe(Clerk, T0.AddSeconds(i), S(1 + i), i, out _));
        }

        Assert.Empty(asked);

        // The 13th exceeds the unraised 12: asked once; raised ×2 (24) it does not breach.
        Assert.False(d.Observe(Clerk, T0.AddSeconds(12), S(13), 12, out _));
        Assert.Equal([(Clerk, T0.AddSeconds(12).ToUnixTimeMilliseconds())], asked);

        // The 25th exceeds 24: a breach at the raised limit; then latched, every read asks once (the cap of limit + 1).
        for (var i = 13; i < 25; i++)
        {
            Assert.Equal(i == 24, d.Observe(Clerk, T0.AddSeconds(i), S(1 + i), i, out var breach));
            if (i == 24)
            {
                Assert.Equal(new DetectorBreach(Clerk, TimeSpan.FromMinutes(10), 25, 24, 24), breach);
            }
        }

        Assert.Equal(13, asked.Count);
        Assert.False(d.Observe(Clerk, T0.AddSeconds(25), S(1), 25, out _));
        Assert.Equal(14, asked.Count);
    }

    [Fact]
    public void An_explicit_latch_suppresses_breaches()
    {
        var d = Default();
        d.Latch(Clerk);
        for (var i = 0; i < 20; i++)
        {
            Assert.False(d.Observe(Clerk, T0.AddSeconds(i), S(1 + i), i, out _));
        }
    }

    [Fact]
    public void Entries_slightly_out_of_time_order_count_at_the_latest_time()
    {
        var d = Default();
        d.Observe(Clerk, T0.AddMinutes(5), S(1), 0, out _);
        d.Observe(Clerk, T0.AddMinutes(5).AddMilliseconds(-3), S(2), 1, out _); // committed 3 ms out of order

        // Subscriber 2 counts as read at 5:00.000 (the latest time), so both leave the window together at 15:00.000.
        Assert.Equal(2, d.GetCounts(Clerk, T0.AddMinutes(15).AddMilliseconds(-1))[0].Observed);
        Assert.Equal(0, d.GetCounts(Clerk, T0.AddMinutes(15))[0].Observed);
    }

    [Fact]
    public void Evidence_lists_the_latest_sequence_of_each_subscriber_in_the_breached_window()
    {
        var d = Default();
        d.Observe(Clerk, T0, S(1), 10, out _);                       // leaves the 10-min window
        for (var i = 0; i < 12; i++)
        {
            Assert.False(d.Observe(Clerk, T0.AddMinutes(10).AddSeconds(i), S(100 + i), 20 + i, out _));
        }

        Assert.False(d.Observe(Clerk, T0.AddMinutes(11), S(100), 40, out _)); // re-read: its latest sequence is 40
        Assert.True(d.Observe(Clerk, T0.AddMinutes(11), S(200), 41, out var breach));
        var evidence = d.GetEvidence(breach);
        Assert.Equal(new long[] { 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 40, 41 }, evidence.Sequences);
        Assert.Equal(21, evidence.FirstSequence);
        Assert.Equal(41, evidence.LastSequence);
        Assert.Equal(13, evidence.TotalSequences);
    }

    [Fact]
    public void Evidence_is_capped_at_200_sequences_keeping_the_newest()
    {
        var options = new MonitorOptions { Windows = [new WindowLimit(TimeSpan.FromHours(1), 250, 250)] };
        var d = new DistinctSubjectsDetector(options);
        DetectorBreach breach = default;
        var breached = false;
        for (var i = 0; i < 251; i++)
        {
            breached = d.Observe(Clerk, T0.AddSeconds(i), S(1 + i), 1000 + i, out breach);
        }

        Assert.True(breached);
        var evidence = d.GetEvidence(breach);
        Assert.Equal(251, evidence.TotalSequences);
        Assert.Equal(1000, evidence.FirstSequence);
        Assert.Equal(1250, evidence.LastSequence);
        Assert.Equal(Enumerable.Range(1051, 200).Select(i => (long)i), evidence.Sequences);
    }

    [Fact]
    public void Prune_drops_idle_principals_and_keeps_latched_ones_while_asked()
    {
        var d = Default();
        d.Observe(Clerk, T0, S(1), 0, out _);
        d.Observe(Terminal, T0, S(1), 0, out _);
        d.Latch(Terminal);
        Assert.Equal(0, d.Prune(T0.AddHours(23)));
        Assert.Equal(1, d.Prune(T0.AddHours(24)));                    // the clerk's day window is empty
        Assert.Equal(1, d.TrackedPrincipals);                          // latched terminal kept
        Assert.Equal(0, d.Prune(T0.AddHours(25), _ => true));
        Assert.Equal(1, d.Prune(T0.AddHours(25), _ => false));         // no longer suspended: dropped
        Assert.Equal(0, d.TrackedPrincipals);
    }

    [Fact]
    public void Matches_a_brute_force_count_on_random_traffic()
    {
        var options = new MonitorOptions
        {
            Windows = [new WindowLimit(TimeSpan.FromMinutes(1), 1_000_000, 1_000_000), new WindowLimit(TimeSpan.FromMinutes(7), 1_000_000, 1_000_000), new WindowLimit(TimeSpan.FromMinutes(30), 1_000_000, 1_000_000)],
        };
        var d = new DistinctSubjectsDetector(options);
        var random = new Random(42);
        var history = new List<(long Ms, long Subject)>();
        var ms = T0.ToUnixTimeMilliseconds();
        for (var i = 0; i < 3000; i++)
        {
            ms += random.Next(0, 5000);
            var subjects = Enumerable.Range(0, random.Next(1, 4)).Select(_ => (long)random.Next(1, 200)).ToArray();
            d.Observe(Clerk, DateTimeOffset.FromUnixTimeMilliseconds(ms), S(subjects), i, out _);
            history.AddRange(subjects.Select(s => (ms, s)));
            if (i % 50 == 0)
            {
                var expected = options.Windows.Select(w => history.Where(h => ms - h.Ms < (long)w.Window.TotalMilliseconds).Select(h => h.Subject).Distinct().Count());
                Assert.Equal(expected, d.GetCounts(Clerk, DateTimeOffset.FromUnixTimeMilliseconds(ms)).Select(c => c.Observed));
            }
        }
    }

    [Fact]
    public void Steady_state_updates_allocate_nothing()
    {
        var d = Default();
        var subjects = Enumerable.Range(1, 50).Select(i => S(i)).ToArray();
        var clerks = Enumerable.Range(0, 20).Select(i => new Principal(PrincipalKind.Clerk, "C" + i)).ToArray();
        var ms = T0.ToUnixTimeMilliseconds();

        void Run(int n)
        {
            for (var i = 0; i < n; i++)
            {
                // Each clerk cycles through 10 subscribers: never breaches, windows full of repeats.
                var c = i % clerks.Length;
                d.Observe(clerks[c], DateTimeOffset.FromUnixTimeMilliseconds(ms + (i * 1000L)), subjects[(c * 2) + (i / clerks.Length % 10)], i, out _);
            }
        }

        Run(50_000); // warm up: JIT tiers, arrays and dictionaries at size
        var before = GC.GetAllocatedBytesForCurrentThread();
        Run(50_000);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Throughput_of_200000_entries_is_reported()
    {
        // One key set (a clerk and their terminal), 10 million subscribers, an entry every 2 s, limits out of reach
        // so that the windows stay full and every update evicts: the detector's steady-state hot path.
        var options = new MonitorOptions
        {
            Windows =
            [
                new WindowLimit(TimeSpan.FromMinutes(10), 1_000_000, 1_000_000),
                new WindowLimit(TimeSpan.FromHours(1), 1_000_000, 1_000_000),
                new WindowLimit(TimeSpan.FromHours(24), 1_000_000, 1_000_000),
            ],
        };
        var d = new DistinctSubjectsDetector(options);
        const int N = 200_000;
        var random = new Random(7);
        var subjects = Enumerable.Range(0, N).Select(_ => S(random.NextInt64(1, 10_000_000))).ToArray();
        var times = Enumerable.Range(0, N).Select(i => T0.AddSeconds(2.0 * i)).ToArray();
        var clerk = Clerk;
        var terminal = Terminal;

        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < N; i++)
        {
            d.Observe(clerk, times[i], subjects[i], i, out _);
            d.Observe(terminal, times[i], subjects[i], i, out _);
        }

        stopwatch.Stop();
        var rate = 2 * N / stopwatch.Elapsed.TotalSeconds;
        output.WriteLine($"{2 * N:N0} updates (200,000 entries × clerk and terminal) in {stopwatch.Elapsed.TotalMilliseconds:N1} ms: {rate:N0} updates/s on one core.");

        // The day window holds the last 43,200 entries' subscribers (one every 2 s); a few may repeat.
        var day = d.GetCounts(clerk, times[^1])[2].Observed;
        Assert.Equal(subjects.Skip(N - 43_200).Select(s => s[0]).Distinct().Count(), day);
    }
}
