using Custodian.Identity;

namespace Custodian.Monitoring.Tests.Detectors;

/// <summary>
/// <see cref="DistinctSubjectsDetector"/> over many random operations (reads of several subscribers, repeats, out-of-order
/// times, latches, resets, prunes, count and evidence queries, limit factors, code strings passed as the same or as a new
/// instance) against (1) a straightforward reference model — per principal a dictionary subscriber → (last read time,
/// sequence), every count recomputed from it — and (2) the Dictionary-based detector it replaced
/// (<see cref="OriginalDistinctSubjectsDetector"/>, commit 2628df8), compared on every answer.
/// </summary>
public sealed class DistinctSubjectsDetectorEquivalenceTests
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 3, 8, 0, 0, TimeSpan.Zero);

    // Small windows and limits, so that breaches, latches and evictions are frequent.
    private static MonitorOptions Options() => new()
    {
        Windows =
        [
            new WindowLimit(TimeSpan.FromMinutes(1), 3, 4),
            new WindowLimit(TimeSpan.FromMinutes(3), 6, 8),
            new WindowLimit(TimeSpan.FromMinutes(10), 10, 12),
        ],
    };

    private static readonly string[] Codes = ["C0001", "C0002", "C0003", "C0004", "S001-T1", "S001-T2", "S002-T1"];

    // A raise for C0002 that changes every 10 minutes of ledger time (1, 2 or 3); everyone else 1.
    private static int Factor(Principal p, long nowMs) =>
        p is { Kind: PrincipalKind.Clerk, Id: "C0002" } ? (int)(Math.Abs(nowMs / 600_000) % 3) + 1 : 1;

    private static bool KeepLatched(Principal p) => p.Kind == PrincipalKind.Clerk;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Matches_a_reference_model_over_random_operations(int seed)
    {
        var run = new Run(seed, farPrunes: false);
        var model = new ReferenceModel(Options()) { LimitFactor = Factor };
        var breaches = 0;
        for (var op = 0; op < 20_000; op++)
        {
            switch (run.Next())
            {
                case Op.Observe:
                    var (p, time, subjects, sequence) = run.Read();
                    var hit = run.Detector.Observe(p, time, subjects, sequence, out var breach);
                    var expected = model.Observe(p, time, subjects, sequence);
                    Assert.Equal(expected is not null, hit);
                    if (expected is { } e)
                    {
                        breaches++;
                        Assert.Equal(e, breach);
                        var evidence = run.Detector.GetEvidence(breach);
                        var (first, sequences, total) = model.Evidence(e);
                        Assert.Equal((first, sequence, total), (evidence.FirstSequence, evidence.LastSequence, evidence.TotalSequences));
                        Assert.Equal(sequences, evidence.Sequences);
                    }

                    break;
                case Op.Latch:
                    var latched = run.Principal();
                    run.Detector.Latch(latched);
                    model.Latch(latched);
                    break;
                case Op.Reset:
                    var reset = run.Principal();
                    Assert.Equal(model.Reset(reset), run.Detector.Reset(reset));
                    break;
                case Op.Prune:
                    var now = run.PruneTime();
                    Assert.Equal(model.Prune(now, KeepLatched), run.Detector.Prune(now, KeepLatched));
                    Assert.Equal(model.Tracked, run.Detector.TrackedPrincipals);
                    break;
                case Op.Counts:
                    var asked = run.Principal();
                    var at = run.QueryTime();
                    Assert.Equal(model.Counts(asked, at), run.Detector.GetCounts(asked, at));
                    break;
            }

            var probe = run.Principal();
            Assert.Equal(model.IsLatched(probe), run.Detector.IsLatched(probe));
        }

        Assert.True(breaches > 100, $"only {breaches} breaches: the run does not exercise the limits");
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    public void Matches_the_replaced_detector_exactly_including_prunes_ahead_of_the_reads(int seed)
    {
        var run = new Run(seed, farPrunes: true);
        var original = new OriginalDistinctSubjectsDetector(Options()) { LimitFactor = Factor };
        var breaches = 0;
        for (var op = 0; op < 20_000; op++)
        {
            switch (run.Next())
            {
                case Op.Observe:
                    var (p, time, subjects, sequence) = run.Read();
                    var hit = run.Detector.Observe(p, time, subjects, sequence, out var breach);
                    Assert.Equal(original.Observe(p, time, subjects, sequence, out var expected), hit);
                    Assert.Equal(expected, breach);
                    if (hit)
                    {
                        breaches++;
                        var a = run.Detector.GetEvidence(breach);
                        var b = original.GetEvidence(expected);
                        Assert.Equal((b.FirstSequence, b.LastSequence, b.TotalSequences), (a.FirstSequence, a.LastSequence, a.TotalSequences));
                        Assert.Equal(b.Sequences, a.Sequences);
                    }

                    break;
                case Op.Latch:
                    var latched = run.Principal();
                    run.Detector.Latch(latched);
                    original.Latch(latched);
                    break;
                case Op.Reset:
                    var reset = run.Principal();
                    Assert.Equal(original.Reset(reset), run.Detector.Reset(reset));
                    break;
                case Op.Prune:
                    var now = run.PruneTime();
                    Assert.Equal(original.Prune(now, KeepLatched), run.Detector.Prune(now, KeepLatched));
                    Assert.Equal(original.TrackedPrincipals, run.Detector.TrackedPrincipals);
                    break;
                case Op.Counts:
                    var asked = run.Principal();
                    var at = run.QueryTime();
                    Assert.Equal(original.GetCounts(asked, at), run.Detector.GetCounts(asked, at));
                    break;
            }

            var probe = run.Principal();
            Assert.Equal(original.IsLatched(probe), run.Detector.IsLatched(probe));
        }

        Assert.True(breaches > 100, $"only {breaches} breaches: the run does not exercise the limits");
    }

    private enum Op
    {
        Observe,
        Latch,
        Reset,
        Prune,
        Counts,
    }

    // The random operations of one seed, and the detector under test.
    private sealed class Run(int seed, bool farPrunes)
    {
        private const int MaxLateMs = 3_000; // a read may carry a time up to 3 s before the latest one
        private readonly Random _random = new(seed);
        private long _clockMs;
        private long _sequence;

        public DistinctSubjectsDetector Detector { get; } = new(Options()) { LimitFactor = Factor };

        public Op Next() => _random.Next(100) switch
        {
            < 82 => Op.Observe,
            < 85 => Op.Latch,
            < 88 => Op.Reset,
            < 93 => Op.Prune,
            _ => Op.Counts,
        };

        // A principal whose code is usually the shared string instance (the cache's hit), sometimes a new copy (its miss).
        public Principal Principal()
        {
            var i = _random.Next(Codes.Length);
            var code = _random.Next(4) == 0 ? new string(Codes[i].AsSpan()) : Codes[i];
            return new Principal(i < 4 ? PrincipalKind.Clerk : PrincipalKind.Terminal, code);
        }

        public (Principal Principal, DateTimeOffset Time, IReadOnlyList<SubscriberId> Subjects, long Sequence) Read()
        {
            // Mostly a few seconds apart; now and then a pause that empties the short windows or all of them.
            _clockMs += _random.Next(100) switch
            {
                < 90 => _random.Next(0, 15_000),
                < 98 => _random.Next(60_000, 240_000),
                _ => _random.Next(600_000, 900_000),
            };
            var time = T0.AddMilliseconds(_clockMs - _random.Next(0, MaxLateMs + 1));
            var count = _random.Next(1, 4);
            var ids = new SubscriberId[count];
            for (var i = 0; i < count; i++)
            {
                ids[i] = SubscriberId.From(1000 + _random.Next(25)); // repeats within and across reads
            }

            IReadOnlyList<SubscriberId> subjects = _random.Next(2) == 0 ? ids : ids.ToList();
            return (Principal(), time, subjects, _sequence++);
        }

        // A prune at most as late as any later read's time (the model's windows then never see a prune ahead of the
        // reads), or, with farPrunes, anywhere up to 20 minutes ahead of the latest read.
        public DateTimeOffset PruneTime() =>
            T0.AddMilliseconds(farPrunes ? _clockMs + _random.Next(-MaxLateMs, 1_200_000) : _clockMs - MaxLateMs);

        public DateTimeOffset QueryTime() => T0.AddMilliseconds(_clockMs + _random.Next(-60_000, 900_000));
    }

    // The specification, written plainly: per principal the last read time and sequence of every subscriber it read
    // (within the largest window), its latest ledger time and its latch; every count recomputed from them.
    private sealed class ReferenceModel(MonitorOptions options)
    {
        private readonly WindowLimit[] _windows = [.. options.Windows.OrderBy(w => w.Window)];
        private readonly Dictionary<(PrincipalKind, string), State> _states = [];

        public Func<Principal, long, int>? LimitFactor { get; init; }

        public int Tracked => _states.Count;

        public DetectorBreach? Observe(Principal p, DateTimeOffset time, IReadOnlyList<SubscriberId> subjects, long sequence)
        {
            var s = GetOrAdd(p);
            var now = Math.Max(time.ToUnixTimeMilliseconds(), s.LastMs);
            s.LastMs = now;
            var factor = FactorOf(p, now);
            Forget(s, now);
            var largest = _windows[^1].LimitFor(p.Kind) * factor;
            foreach (var subject in subjects)
            {
                if (s.Latched && s.Reads.Count > largest && !s.Reads.ContainsKey(subject.Value))
                {
                    continue; // latched: at most limit + 1 subscribers kept
                }

                s.Reads[subject.Value] = (now, sequence);
            }

            if (s.Latched)
            {
                return null;
            }

            foreach (var w in _windows)
            {
                var observed = s.Reads.Values.Count(r => r.Ms > now - (long)w.Window.TotalMilliseconds);
                if (observed > w.LimitFor(p.Kind) * factor)
                {
                    s.Latched = true;
                    return new DetectorBreach(p, w.Window, observed, w.LimitFor(p.Kind) * factor, sequence);
                }
            }

            return null;
        }

        public (long First, List<long> Sequences, int Total) Evidence(DetectorBreach breach)
        {
            var s = _states[(breach.Principal.Kind, breach.Principal.Id)];
            var all = s.Reads.Values.Where(r => r.Ms > s.LastMs - (long)breach.Window.TotalMilliseconds).Select(r => r.Sequence).Distinct().Order().ToList();
            return (all.Count == 0 ? breach.Sequence : all[0], all.Skip(Math.Max(0, all.Count - AlertEvidence.MaxSequences)).ToList(), all.Count);
        }

        public IReadOnlyList<WindowCount> Counts(Principal p, DateTimeOffset now)
        {
            _states.TryGetValue((p.Kind, p.Id), out var s);
            var nowMs = Math.Max(now.ToUnixTimeMilliseconds(), s?.LastMs ?? long.MinValue);
            return
            [
                .. _windows.Select(w => new WindowCount(
                    w.Window,
                    s?.Reads.Values.Count(r => r.Ms > nowMs - (long)w.Window.TotalMilliseconds) ?? 0,
                    w.LimitFor(p.Kind) * FactorOf(p, nowMs))),
            ];
        }

        public void Latch(Principal p) => GetOrAdd(p).Latched = true;

        public bool IsLatched(Principal p) => _states.TryGetValue((p.Kind, p.Id), out var s) && s.Latched;

        public bool Reset(Principal p) => _states.Remove((p.Kind, p.Id));

        public int Prune(DateTimeOffset now, Func<Principal, bool> keepLatched)
        {
            var drop = new List<(PrincipalKind, string)>();
            foreach (var (key, s) in _states)
            {
                Forget(s, Math.Max(now.ToUnixTimeMilliseconds(), s.LastMs));
                if (s.Reads.Count == 0 && (!s.Latched || !keepLatched(new Principal(key.Item1, key.Item2))))
                {
                    drop.Add(key);
                }
            }

            drop.ForEach(k => _states.Remove(k));
            return drop.Count;
        }

        private int FactorOf(Principal p, long nowMs) => LimitFactor is { } f ? Math.Clamp(f(p, nowMs), 1, 10) : 1;

        // Reads that left the largest window at nowMs.
        private void Forget(State s, long nowMs)
        {
            var cutoff = nowMs - (long)_windows[^1].Window.TotalMilliseconds;
            foreach (var (subject, read) in s.Reads.ToList())
            {
                if (read.Ms <= cutoff)
                {
                    s.Reads.Remove(subject);
                }
            }
        }

        private State GetOrAdd(Principal p)
        {
            if (!_states.TryGetValue((p.Kind, p.Id), out var s))
            {
                _states[(p.Kind, p.Id)] = s = new State();
            }

            return s;
        }

        private sealed class State
        {
            public long LastMs = long.MinValue;
            public bool Latched;
            public readonly Dictionary<long, (long Ms, long Sequence)> Reads = [];
        }
    }
}
