using System.Runtime.CompilerServices;

namespace Custodian.Monitoring.Detection;

/// <summary>
/// A detector's per-principal state keyed by <see cref="PrincipalSlots"/> slot: a dictionary (the states that exist,
/// enumerated in the dictionary's own order, so that sweeps visit principals exactly as before) mirrored by an array
/// indexed by slot, so that the hot path finds a principal's state with one bounds-checked load instead of hashing the
/// slot and probing the dictionary's buckets and entries.
/// </summary>
/// <typeparam name="T">The state type.</typeparam>
/// <remarks>The array grows by doubling up to the highest slot added. Not thread-safe.</remarks>
internal sealed class SlotMap<T>
    where T : class
{
    private readonly Dictionary<int, T> _bySlot = [];
    private T?[] _array = new T?[64];

    /// <summary>The states, in the dictionary's enumeration order (do not add or remove while enumerating).</summary>
    public Dictionary<int, T> Entries => _bySlot;

    /// <summary>The state of <paramref name="slot"/>; null when it has none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T? Get(int slot)
    {
        var array = _array;
        return (uint)slot < (uint)array.Length ? array[slot] : null;
    }

    /// <summary>Adds the state of <paramref name="slot"/>, which must have none.</summary>
    public void Add(int slot, T state)
    {
        _bySlot.Add(slot, state);
        if (slot >= _array.Length)
        {
            Array.Resize(ref _array, Math.Max(slot + 1, _array.Length * 2));
        }

        _array[slot] = state;
    }

    /// <summary>Removes the state of <paramref name="slot"/>; false when it had none.</summary>
    public bool Remove(int slot, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out T? state)
    {
        if (!_bySlot.Remove(slot, out state))
        {
            return false;
        }

        _array[slot] = null;
        return true;
    }
}
