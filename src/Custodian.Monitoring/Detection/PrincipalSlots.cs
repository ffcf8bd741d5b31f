using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Custodian.Ledger;

namespace Custodian.Monitoring.Detection;

/// <summary>
/// Interns clerk and terminal codes to dense integer slots (0, 1, 2, … in order of first sight), so that detectors key
/// their per-principal state by an <see cref="int"/> instead of hashing and comparing the code string on every lookup.
/// One instance is shared by the detectors of a <see cref="MonitorEngine"/>; the slots of the entry being processed are
/// resolved once (two string lookups) and then served to every detector from a one-entry cache.
/// </summary>
/// <remarks>
/// A slot is never reused: the table holds one entry per clerk and terminal ever seen (staff and counter PCs: thousands,
/// not millions). Not thread-safe: used from the engine's thread only.
/// </remarks>
internal sealed class PrincipalSlots
{
    /// <summary>The slot value meaning "no principal" (the entry has no account or no terminal).</summary>
    public const int None = -1;

    private readonly Dictionary<string, int> _clerks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _terminals = new(StringComparer.Ordinal);
    private readonly List<Principal> _principals = [];
    private const int CacheSize = 1024; // a power of two
    private readonly (string? Id, PrincipalKind Kind, int Slot)[] _byInstance = new (string?, PrincipalKind, int)[CacheSize];
    private AccessEntry? _entry;
    private int _clerk = None;
    private int _terminal = None;
    private long[] _subjects = new long[8]; // the entry's subscriber IDs, in order
    private int _subjectCount;

    /// <summary>Number of slots handed out.</summary>
    public int Count => _principals.Count;

    /// <summary>The principal of <paramref name="slot"/>.</summary>
    /// <param name="slot">A slot from this table, 0 to <see cref="Count"/> − 1.</param>
    public Principal this[int slot] => _principals[slot];

    /// <summary>The slot of <paramref name="entry"/>'s account, interning it on first sight; <see cref="None"/> when it has none.</summary>
    public int ClerkOf(AccessEntry entry)
    {
        Resolve(entry);
        return _clerk;
    }

    /// <summary>The slot of <paramref name="entry"/>'s terminal, interning it on first sight; <see cref="None"/> when it has none.</summary>
    public int TerminalOf(AccessEntry entry)
    {
        Resolve(entry);
        return _terminal;
    }

    /// <summary>
    /// <paramref name="entry"/>'s subscriber IDs (<see cref="AccessEntry.Subjects"/>' values, in order), read out of
    /// the list once per entry: the detectors then loop over a span instead of each making two interface calls per
    /// subscriber on the list. Valid until the next entry is resolved.
    /// </summary>
    public ReadOnlySpan<long> SubjectsOf(AccessEntry entry)
    {
        Resolve(entry);
        return new ReadOnlySpan<long>(_subjects, 0, _subjectCount);
    }

    /// <summary>The slot of a principal, interning it on first sight.</summary>
    public int Intern(PrincipalKind kind, string id)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(kind == PrincipalKind.Clerk ? _clerks : _terminals, id, out var exists);
        if (!exists)
        {
            slot = _principals.Count;
            _principals.Add(new Principal(kind, id));
        }

        return slot;
    }

    /// <summary>The slot of a principal already seen; false when it never was (so no detector holds state about it).</summary>
    public bool TryGet(Principal principal, out int slot)
    {
        slot = None;
        if (principal.Id is not { } id)
        {
            return false;
        }

        // The code string of an orphan lookup is the instance the entry carried: usually found by reference (see
        // InternInstance; the cache holds only codes already interned, so a hit is the interned slot).
        ref var cached = ref _byInstance[RuntimeHelpers.GetHashCode(id) & (CacheSize - 1)];
        if (ReferenceEquals(cached.Id, id) && cached.Kind == principal.Kind)
        {
            slot = cached.Slot;
            return true;
        }

        return (principal.Kind == PrincipalKind.Clerk ? _clerks : _terminals).TryGetValue(id, out slot);
    }

    // Intern, first trying a direct-mapped cache keyed by the string INSTANCE: entries that reach the live monitor in
    // process carry the same code string object for a session's clerk and terminal, so the code is usually resolved by
    // one reference comparison instead of hashing and comparing its characters. A miss (a new instance, as in a replay
    // read from storage) falls back to Intern; either way the slot is the one interned for that code.
    private int InternInstance(PrincipalKind kind, string id)
    {
        ref var cached = ref _byInstance[RuntimeHelpers.GetHashCode(id) & (CacheSize - 1)];
        if (ReferenceEquals(cached.Id, id) && cached.Kind == kind)
        {
            return cached.Slot;
        }

        var slot = Intern(kind, id);
        cached = (id, kind, slot);
        return slot;
    }

    private void Resolve(AccessEntry entry)
    {
        if (ReferenceEquals(entry, _entry))
        {
            return;
        }

        _clerk = entry.Account is { } account ? InternInstance(PrincipalKind.Clerk, account) : None;
        _terminal = entry.Terminal is { } terminal ? InternInstance(PrincipalKind.Terminal, terminal) : None;
        var subjects = entry.Subjects;
        var count = subjects.Count;
        if (count > _subjects.Length)
        {
            _subjects = new long[Math.Max(count, _subjects.Length * 2)];
        }

        for (var i = 0; i < count; i++)
        {
            _subjects[i] = subjects[i].Value;
        }

        _subjectCount = count;
        _entry = entry;
    }
}
