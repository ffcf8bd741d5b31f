using Custodian.Ledger;

namespace Custodian.Monitoring.Detection;

/// <summary>
/// <c>identity</c>: credentials and devices used in ways a person does not.
/// <list type="bullet">
/// <item><b>Disabled or departed staff's credentials</b>: a sign-in refused with <c>account-disabled</c> means
/// someone holds the password of an account that was switched off (a departed employee's): score 100 for the
/// terminal it was tried on (suspend) and for the account.</item>
/// <item><b>Refused devices</b>: a terminal whose certificate is refused (revoked, expired) 3 times within 10 minutes:
/// score 60. Requests with no certificate at all name no terminal or account; the gateway refuses them and they are
/// counted by <c>monitor replay</c> and <c>evaluate</c>, but no principal can be alerted on.</item>
/// <item><b>One clerk on two terminals at once</b>: consecutive reads or sign-ins of one account from different
/// terminals less than 2 minutes apart: score 50 the first time, 100 when it happens again within 10 minutes
/// (a shared or stolen password in use at two places).</item>
/// <item><b>Insisting after step-up</b>: 3 plain views refused with <c>step-up-required</c> within 24 hours for the same
/// clerk or terminal: score 100 (a person under step-up switches to consented reads; a script keeps trying).</item>
/// </list>
/// Memory 1 day. State keyed by clerk and terminal.
/// </summary>
public sealed class IdentityDetector : IDetector
{
    /// <summary>The detector's stable name.</summary>
    public const string DetectorName = "identity";

    private const long SwitchMs = 120_000;
    private const long RepeatMs = 600_000;
    private static readonly TimeSpan Memory = TimeSpan.FromDays(1);

    private readonly PrincipalSlots _slots;
    private LastUse[] _lastTerminal = new LastUse[64]; // by clerk slot: the terminal (slot) of the clerk's last read or sign-in
    private readonly List<int> _known = []; // the clerk slots whose LastUse is Known, in no particular order
    private readonly Dictionary<string, RefusalWindow> _deviceRefusals = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RefusalWindow> _stepUpRefusals = new(StringComparer.Ordinal);
    private readonly List<string> _expired = [];

    /// <summary>Creates the detector.</summary>
    public IdentityDetector()
        : this(new PrincipalSlots())
    {
    }

    internal IdentityDetector(PrincipalSlots slots) => _slots = slots;

    /// <inheritdoc />
    public string Id => DetectorName;

    /// <inheritdoc />
    /// <remarks>One day: its findings count for a day; its own windows are shorter.</remarks>
    public TimeSpan History => Memory;

    /// <inheritdoc />
    public void Observe(long sequence, AccessEntry entry, List<Finding> findings)
    {
        var ms = entry.Time.ToUnixTimeMilliseconds();
        if (entry.Task == AccessTask.SignIn && entry.Outcome == AccessOutcome.Denied && entry.ErrorCode == "account-disabled")
        {
            if (EntryFacts.Terminal(entry) is { } t)
            {
                findings.Add(new Finding(DetectorName, t, entry.Store, 100, TimeSpan.Zero, 1, 0, "sign-in with a disabled account's valid password", [sequence], Memory));
            }

            if (EntryFacts.Clerk(entry) is { } c)
            {
                findings.Add(new Finding(DetectorName, c, entry.Store, 100, TimeSpan.Zero, 1, 0, "disabled account's valid password in use", [sequence], Memory));
            }

            return;
        }

        if (entry.Outcome == AccessOutcome.Denied && entry.ErrorCode == MonitoringErrorCodes.StepUpRequired)
        {
            foreach (var who in new[] { EntryFacts.Clerk(entry), EntryFacts.Terminal(entry) })
            {
                if (who is not { } p)
                {
                    continue;
                }

                var key = p.ToString();
                if (!_stepUpRefusals.TryGetValue(key, out var refusals))
                {
                    refusals = new RefusalWindow();
                    _stepUpRefusals[key] = refusals;
                }

                refusals.Add(sequence, ms, 86_400_000);
                if (refusals.Count == 3)
                {
                    findings.Add(new Finding(DetectorName, p, entry.Store, 100, TimeSpan.FromDays(1), 3, 3,
                        "plain views kept coming after step-up", EntryFacts.Evidence(refusals.Sequences), Memory));
                }
            }

            return;
        }

        if (entry.Task == AccessTask.DeviceRefused && entry.Terminal is not null)
        {
            if (!_deviceRefusals.TryGetValue(entry.Terminal, out var q))
            {
                q = new RefusalWindow();
                _deviceRefusals[entry.Terminal] = q;
            }

            q.Add(sequence, ms, RepeatMs);
            if (q.Count == 3)
            {
                findings.Add(new Finding(DetectorName, new Principal(PrincipalKind.Terminal, entry.Terminal), entry.Store, 60, TimeSpan.FromMinutes(10), q.Count, 3,
                    "device certificate refused repeatedly", EntryFacts.Evidence(q.Sequences), Memory));
            }

            return;
        }

        if (entry.Outcome != AccessOutcome.Allowed || entry.Account is null || entry.Terminal is null
            || !(entry.Task.ReadsPersonalData() || entry.Task == AccessTask.SignIn))
        {
            return;
        }

        var clerk = _slots.ClerkOf(entry);
        var terminal = _slots.TerminalOf(entry);
        if (clerk >= _lastTerminal.Length)
        {
            Array.Resize(ref _lastTerminal, Math.Max(clerk + 1, _lastTerminal.Length * 2));
        }

        ref var last = ref _lastTerminal[clerk];
        var known = last.Known;
        if (!known)
        {
            _known.Add(clerk);
        }

        if (known && last.Terminal != terminal && ms - last.Ms < SwitchMs)
        {
            var repeat = ms - last.LastSwitchMs < RepeatMs;
            var earlier = last.Sequence;
            last = new LastUse(true, terminal, ms, sequence, ms);
            findings.Add(new Finding(DetectorName, new Principal(PrincipalKind.Clerk, entry.Account), entry.Store, repeat ? 100 : 50, TimeSpan.FromMinutes(2), 2, 1,
                "one account used on two terminals within 2 minutes" + (repeat ? ", again within 10 minutes" : string.Empty), [earlier, sequence], Memory));
            return;
        }

        last = new LastUse(true, terminal, ms, sequence, known ? last.LastSwitchMs : long.MinValue / 2);
    }

    /// <inheritdoc />
    public void Advance(long nowMs, List<Finding> findings)
    {
        _expired.Clear();
        for (var i = _known.Count - 1; i >= 0; i--)
        {
            ref var last = ref _lastTerminal[_known[i]];
            if (nowMs - last.Ms > RepeatMs && nowMs - last.LastSwitchMs > RepeatMs)
            {
                last = default; // forgotten, as if never seen
                _known[i] = _known[^1];
                _known.RemoveAt(_known.Count - 1);
            }
        }

        foreach (var (key, refusals) in _stepUpRefusals)
        {
            if (refusals.Count == 0 || nowMs - refusals.LastMs > 86_400_000)
            {
                _expired.Add(key);
            }
        }

        Remove(_stepUpRefusals, _expired);
        foreach (var (key, refusals) in _deviceRefusals)
        {
            if (refusals.Count == 0 || nowMs - refusals.LastMs > RepeatMs)
            {
                _expired.Add(key);
            }
        }

        Remove(_deviceRefusals, _expired);
    }

    private static void Remove<T>(Dictionary<string, T> map, List<string> keys)
    {
        foreach (var key in keys)
        {
            map.Remove(key);
        }

        keys.Clear();
    }

    /// <inheritdoc />
    public void Reset(Principal principal)
    {
        _stepUpRefusals.Remove(principal.ToString());
        if (principal.Kind == PrincipalKind.Clerk)
        {
            if (_slots.TryGet(principal, out var clerk) && clerk < _lastTerminal.Length && _lastTerminal[clerk].Known)
            {
                _lastTerminal[clerk] = default;
                _known.Remove(clerk);
            }
        }
        else
        {
            _deviceRefusals.Remove(principal.Id);
        }
    }

    // A principal's refusals within a sliding window, oldest first, with the time of the latest kept in a field: Advance
    // reads it for every principal on every tick, and LINQ's Last() on a Queue walks the whole queue.
    private sealed class RefusalWindow
    {
        private readonly Queue<(long Sequence, long Ms)> _entries = new();

        public int Count => _entries.Count;

        // The time (Unix ms) of the refusal added last; meaningful only while Count > 0.
        public long LastMs { get; private set; }

        public IEnumerable<long> Sequences => _entries.Select(x => x.Sequence);

        // Drops the refusals windowMs or more before ms, then adds this one.
        public void Add(long sequence, long ms, long windowMs)
        {
            while (_entries.TryPeek(out var head) && ms - head.Ms >= windowMs)
            {
                _entries.Dequeue();
            }

            _entries.Enqueue((sequence, ms));
            LastMs = ms;
        }
    }

    // A clerk's last read or sign-in (Known false: none remembered).
    private readonly record struct LastUse(bool Known, int Terminal, long Ms, long Sequence, long LastSwitchMs);
}
