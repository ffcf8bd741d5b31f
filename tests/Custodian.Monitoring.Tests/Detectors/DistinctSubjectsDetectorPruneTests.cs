using Custodian.Identity;

namespace Custodian.Monitoring.Tests.Detectors;

/// <summary>
/// <see cref="DistinctSubjectsDetector.Prune"/> visits only the states that can be empty and defers the other states'
/// eviction to their next use: these cases check that every answer stays the one of the replaced detector
/// (<see cref="OriginalDistinctSubjectsDetector"/>), which evicted every state at every prune.
/// </summary>
public sealed class DistinctSubjectsDetectorPruneTests
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 3, 8, 0, 0, TimeSpan.Zero);

    private static MonitorOptions Options() => new()
    {
        Windows =
        [
            new WindowLimit(TimeSpan.FromMinutes(1), 3, 4),
            new WindowLimit(TimeSpan.FromMinutes(3), 6, 8),
            new WindowLimit(TimeSpan.FromMinutes(10), 10, 12),
        ],
    };

    [Fact]
    public void Counts_after_prunes_without_reads_apply_the_latest_prune_not_the_last_one()
    {
        var clerk = new Principal(PrincipalKind.Clerk, "C0001");
        var detector = new DistinctSubjectsDetector(Options());
        var original = new OriginalDistinctSubjectsDetector(Options());
        foreach (var (minute, subject) in new[] { (3, 1), (5, 2), (9, 3) })
        {
            SubscriberId[] subjects = [SubscriberId.From(subject)];
            detector.Observe(clerk, T0.AddMinutes(minute), subjects, minute, out _);
            original.Observe(clerk, T0.AddMinutes(minute), subjects, minute, out _);
        }

        // The prune at minute 9 visits the new state (it finds it not empty: due at minute 19); the one at 14 drops
        // subscriber 1 (read at 3, out of the 10-minute window), which the later prune at 12 (an earlier ledger time)
        // would not have; neither visits the state.
        foreach (var minute in new[] { 9, 14, 12 })
        {
            Assert.Equal(0, detector.Prune(T0.AddMinutes(minute)));
            Assert.Equal(0, original.Prune(T0.AddMinutes(minute)));
        }

        var counts = detector.GetCounts(clerk, T0.AddMinutes(9));
        Assert.Equal([1, 1, 2], counts.Select(c => c.Observed));
        Assert.Equal(original.GetCounts(clerk, T0.AddMinutes(9)), counts);
        Assert.Equal(1, detector.TrackedPrincipals);
    }

    [Fact]
    public void A_latched_empty_principal_is_asked_about_at_every_prune_and_dropped_once_not_kept()
    {
        var clerk = new Principal(PrincipalKind.Clerk, "C0001");
        var detector = new DistinctSubjectsDetector(Options());
        detector.Latch(clerk);
        var asked = 0;
        var keep = true;
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(0, detector.Prune(T0.AddMinutes(i), _ => { asked++; return keep; }));
        }

        Assert.Equal(3, asked);
        Assert.True(detector.IsLatched(clerk));
        keep = false;
        Assert.Equal(1, detector.Prune(T0.AddMinutes(3), _ => { asked++; return keep; }));
        Assert.Equal(4, asked);
        Assert.Equal(0, detector.TrackedPrincipals);
        Assert.False(detector.IsLatched(clerk));
    }

    [Theory]
    [InlineData(21)]
    [InlineData(22)]
    [InlineData(23)]
    public void Matches_the_replaced_detector_with_many_principals_bursts_of_prunes_and_changing_suspensions(int seed)
    {
        var random = new Random(seed);
        var codes = Enumerable.Range(0, 60).Select(i => i < 40 ? $"C{i:D4}" : $"S{i:D3}-T1").ToArray();
        var suspended = new HashSet<string>(StringComparer.Ordinal);
        bool Keep(Principal p) => suspended.Contains(p.Id!);
        Principal Pick()
        {
            var i = random.Next(codes.Length);
            return new Principal(i < 40 ? PrincipalKind.Clerk : PrincipalKind.Terminal, codes[i]);
        }

        var detector = new DistinctSubjectsDetector(Options());
        var original = new OriginalDistinctSubjectsDetector(Options());
        long clockMs = 0;
        long sequence = 0;
        var breaches = 0;
        var dropped = 0;
        for (var op = 0; op < 20_000; op++)
        {
            var roll = random.Next(100);
            if (roll < 60)
            {
                clockMs += random.Next(100) < 95 ? random.Next(0, 5_000) : random.Next(60_000, 900_000);
                var p = Pick();
                var time = T0.AddMilliseconds(clockMs - random.Next(0, 3_001));
                // Now and then a read with no subscriber (the state may be emptied by its own eviction).
                var subjects = Enumerable.Range(0, random.Next(10) == 0 ? 0 : random.Next(1, 4))
                    .Select(_ => SubscriberId.From(1000 + random.Next(20))).ToArray();
                var hit = detector.Observe(p, time, subjects, sequence, out var breach);
                Assert.Equal(original.Observe(p, time, subjects, sequence, out var expected), hit);
                Assert.Equal(expected, breach);
                if (hit)
                {
                    breaches++;
                    var a = detector.GetEvidence(breach);
                    var b = original.GetEvidence(expected);
                    Assert.Equal((b.FirstSequence, b.LastSequence, b.TotalSequences), (a.FirstSequence, a.LastSequence, a.TotalSequences));
                    Assert.Equal(b.Sequences, a.Sequences);
                }

                sequence++;
            }
            else if (roll < 75)
            {
                // A burst of prunes with no read between them, behind or ahead of the reads, in no particular order.
                for (var k = random.Next(1, 6); k > 0; k--)
                {
                    var now = T0.AddMilliseconds(clockMs + random.Next(-900_000, 1_200_000));
                    var n = original.Prune(now, Keep);
                    Assert.Equal(n, detector.Prune(now, Keep));
                    dropped += n;
                    Assert.Equal(original.TrackedPrincipals, detector.TrackedPrincipals);
                }
            }
            else if (roll < 88)
            {
                var p = Pick();
                var at = T0.AddMilliseconds(clockMs + random.Next(-900_000, 900_000));
                Assert.Equal(original.GetCounts(p, at), detector.GetCounts(p, at));
            }
            else if (roll < 93)
            {
                var p = Pick();
                detector.Latch(p);
                original.Latch(p);
            }
            else if (roll < 96)
            {
                var p = Pick();
                Assert.Equal(original.Reset(p), detector.Reset(p));
            }
            else
            {
                var code = codes[random.Next(codes.Length)];
                if (!suspended.Remove(code))
                {
                    suspended.Add(code);
                }
            }

            var probe = Pick();
            Assert.Equal(original.IsLatched(probe), detector.IsLatched(probe));
        }

        Assert.True(breaches > 100, $"only {breaches} breaches");
        Assert.True(dropped > 1_000, $"only {dropped} principals dropped");
    }
}
