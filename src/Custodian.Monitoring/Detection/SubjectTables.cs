using System.Numerics;
using System.Runtime.CompilerServices;

namespace Custodian.Monitoring.Detection;

/// <summary>
/// A set of subscriber IDs (<see cref="Custodian.Identity.SubscriberId.Value"/>) in one flat array with open
/// addressing (linear probing, Fibonacci hashing): a lookup usually touches one cache line, where a
/// <see cref="HashSet{T}"/> touches its bucket array and then its entry array. Used for the per-principal tables that
/// every read of every principal hits (machine timing's remembered subscribers), which are too many to stay in cache.
/// </summary>
/// <remarks>
/// Holds any <see cref="long"/>, <see cref="long.MinValue"/> included (kept outside the array, which uses it to mark an
/// empty slot). Grows by doubling when more than three quarters full (eight keys share a cache line, so a probe
/// sequence rarely leaves the first line). Never enumerated (so no order is exposed). Not thread-safe.
/// </remarks>
internal sealed class SubjectSet
{
    private const long Empty = long.MinValue;

    private long[] _keys;
    private int _shift;
    private bool _hasEmptyKey;

    /// <summary>Creates a set that holds <paramref name="capacity"/> IDs before it grows.</summary>
    public SubjectSet(int capacity)
    {
        var size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(8, (capacity * 4 / 3) + 1));
        _keys = NewKeys(size);
        _shift = 64 - BitOperations.Log2((uint)size);
    }

    /// <summary>Number of IDs held.</summary>
    public int Count { get; private set; }

    /// <summary>Adds <paramref name="key"/>; true when it was not in the set.</summary>
    public bool Add(long key)
    {
        if (key == Empty)
        {
            if (_hasEmptyKey)
            {
                return false;
            }

            _hasEmptyKey = true;
            Count++;
            return true;
        }

        var keys = _keys;
        var mask = keys.Length - 1;
        var i = Slot(key, _shift);
        while (true)
        {
            var k = keys[i];
            if (k == key)
            {
                return false;
            }

            if (k == Empty)
            {
                keys[i] = key;
                if (++Count * 4 > keys.Length * 3)
                {
                    Grow();
                }

                return true;
            }

            i = (i + 1) & mask;
        }
    }

    /// <summary>Removes every ID (keeps the capacity).</summary>
    public void Clear()
    {
        if (Count > 0)
        {
            Array.Fill(_keys, Empty);
            Count = 0;
            _hasEmptyKey = false;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Slot(long key, int shift) => unchecked((int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> shift));

    private static long[] NewKeys(int size)
    {
        var keys = new long[size];
        Array.Fill(keys, Empty);
        return keys;
    }

    private void Grow()
    {
        var old = _keys;
        _keys = NewKeys(old.Length * 2);
        _shift--;
        var mask = _keys.Length - 1;
        foreach (var key in old)
        {
            if (key != Empty)
            {
                var i = Slot(key, _shift);
                while (_keys[i] != Empty)
                {
                    i = (i + 1) & mask;
                }

                _keys[i] = key;
            }
        }
    }
}

/// <summary>
/// A map from a <see cref="long"/> key (a subscriber ID, a ledger sequence) to a <typeparamref name="TValue"/> in one
/// flat array of (key, value) pairs with open addressing (linear probing, Fibonacci hashing) and removal by backward
/// shift (no tombstones): a lookup usually touches one cache line, where a <see cref="Dictionary{TKey, TValue}"/>
/// touches its bucket array and then its entry array. Used for the baseline's per-principal table of the day's
/// subscribers (<c>LongMap&lt;int&gt;</c>) and open lookups' tables of open subscribers and open episodes, which every
/// read, service and expiry of every principal hits.
/// </summary>
/// <typeparam name="TValue">The value type.</typeparam>
/// <remarks>
/// Holds any <see cref="long"/> key, <see cref="long.MinValue"/> included. Grows by doubling when more than half full;
/// never shrinks. Enumeration (<see cref="CopyValues"/>) is in table order, which is not insertion order: callers must
/// not depend on it. Not thread-safe.
/// </remarks>
internal sealed class LongMap<TValue>
{
    private const long Empty = long.MinValue;

    private Entry[] _entries;
    private int _shift;
    private bool _hasEmptyKey;
    private TValue _emptyKeyValue = default!;

    /// <summary>Creates a map that holds <paramref name="capacity"/> keys before it grows.</summary>
    public LongMap(int capacity)
    {
        var size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(8, capacity * 2));
        _entries = NewEntries(size);
        _shift = 64 - BitOperations.Log2((uint)size);
    }

    /// <summary>Number of keys held.</summary>
    public int Count { get; private set; }

    /// <summary>
    /// A reference to the value of <paramref name="key"/>, adding it with the default value when absent
    /// (<paramref name="exists"/> false). The reference is valid until the next call that adds or removes a key.
    /// </summary>
    public ref TValue GetValueRefOrAddDefault(long key, out bool exists)
    {
        if (key == Empty)
        {
            exists = _hasEmptyKey;
            if (!exists)
            {
                _hasEmptyKey = true;
                _emptyKeyValue = default!;
                Count++;
            }

            return ref _emptyKeyValue;
        }

        if ((Count + 1) * 2 > _entries.Length)
        {
            Grow(); // before the probe, so that the returned reference stays in the current array
        }

        var entries = _entries;
        var mask = entries.Length - 1;
        var i = SubjectSet.Slot(key, _shift);
        while (true)
        {
            ref var e = ref entries[i];
            if (e.Key == key)
            {
                exists = true;
                return ref e.Value;
            }

            if (e.Key == Empty)
            {
                e.Key = key;
                e.Value = default!;
                Count++;
                exists = false;
                return ref e.Value;
            }

            i = (i + 1) & mask;
        }
    }

    /// <summary>A reference to the value of <paramref name="key"/>, or a null reference when absent (test with <see cref="Unsafe.IsNullRef{T}(ref readonly T)"/>); valid until the next call that adds or removes a key.</summary>
    public ref TValue GetValueRefOrNullRef(long key)
    {
        if (key == Empty)
        {
            if (_hasEmptyKey)
            {
                return ref _emptyKeyValue;
            }

            return ref Unsafe.NullRef<TValue>();
        }

        var i = IndexOf(key);
        if (i < 0)
        {
            return ref Unsafe.NullRef<TValue>();
        }

        return ref _entries[i].Value;
    }

    /// <summary>Removes <paramref name="key"/>; false when it was absent. <paramref name="value"/> is the removed value.</summary>
    public bool Remove(long key, out TValue value)
    {
        if (key == Empty)
        {
            value = _emptyKeyValue;
            if (!_hasEmptyKey)
            {
                return false;
            }

            _hasEmptyKey = false;
            _emptyKeyValue = default!;
            Count--;
            return true;
        }

        var i = IndexOf(key);
        if (i < 0)
        {
            value = default!;
            return false;
        }

        value = _entries[i].Value;
        RemoveAt(i);
        return true;
    }

    /// <summary>Removes <paramref name="key"/>; false when it was absent.</summary>
    public bool Remove(long key) => Remove(key, out _);

    /// <summary>Appends every value, in table order (not insertion order), to <paramref name="into"/>.</summary>
    public void CopyValues(List<TValue> into)
    {
        if (_hasEmptyKey)
        {
            into.Add(_emptyKeyValue);
        }

        foreach (ref readonly var e in _entries.AsSpan())
        {
            if (e.Key != Empty)
            {
                into.Add(e.Value);
            }
        }
    }

    /// <summary>Removes every key (keeps the capacity).</summary>
    public void Clear()
    {
        if (Count > 0)
        {
            Array.Fill(_entries, new Entry { Key = Empty });
            Count = 0;
            _hasEmptyKey = false;
            _emptyKeyValue = default!;
        }
    }

    private int IndexOf(long key)
    {
        var entries = _entries;
        var mask = entries.Length - 1;
        var i = SubjectSet.Slot(key, _shift);
        while (true)
        {
            var k = entries[i].Key;
            if (k == key)
            {
                return i;
            }

            if (k == Empty)
            {
                return -1;
            }

            i = (i + 1) & mask;
        }
    }

    // Backward-shift deletion: moves later members of the probe run into the hole whenever the hole lies between a
    // member's home slot and its current slot (cyclically), so every remaining key stays reachable from its home slot.
    private void RemoveAt(int hole)
    {
        var entries = _entries;
        var mask = entries.Length - 1;
        var j = hole;
        while (true)
        {
            j = (j + 1) & mask;
            var k = entries[j].Key;
            if (k == Empty)
            {
                break;
            }

            var home = SubjectSet.Slot(k, _shift);
            var stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
            if (!stays)
            {
                entries[hole] = entries[j];
                hole = j;
            }
        }

        entries[hole] = new Entry { Key = Empty };
        Count--;
    }

    private static Entry[] NewEntries(int size)
    {
        var entries = new Entry[size];
        Array.Fill(entries, new Entry { Key = Empty });
        return entries;
    }

    private void Grow()
    {
        var old = _entries;
        _entries = NewEntries(old.Length * 2);
        _shift--;
        var mask = _entries.Length - 1;
        foreach (var e in old)
        {
            if (e.Key != Empty)
            {
                var i = SubjectSet.Slot(e.Key, _shift);
                while (_entries[i].Key != Empty)
                {
                    i = (i + 1) & mask;
                }

                _entries[i] = e;
            }
        }
    }

    private struct Entry
    {
        public long Key;
        public TValue Value;
    }
}
