using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Custodian.Monitoring.Detection;

/// <summary>
/// A detector's per-principal state keyed by <see cref="PrincipalSlots"/> slot: an array indexed by slot, so that the
/// hot path finds a principal's state with one bounds-checked load, plus the order in which the states are visited by
/// the detectors' sweeps ("positions"). The positions reproduce exactly the enumeration order of the
/// <see cref="Dictionary{TKey, TValue}"/> that used to hold the states (and still defines the order): an added state
/// takes the position most recently freed by a removal, else the next position after all used ones; enumeration
/// visits used positions in ascending order. So sweeps visit principals exactly as before, without the dictionary.
/// </summary>
/// <typeparam name="T">The state type.</typeparam>
/// <remarks>The arrays grow by doubling. Not thread-safe.</remarks>
internal sealed class SlotMap<T>
    where T : class
{
    private const int Free = -1;

    private T?[] _array = new T?[64]; // by slot
    private int[] _positionOf = new int[64]; // by slot: its position, valid while it has a state
    private int[] _slotAt = new int[64]; // by position: the slot, or Free
    private int[] _freed = new int[64]; // freed positions, the most recently freed last (a dictionary's free list)
    private int _freedCount;
    private int _end; // positions ever used (a dictionary's _count)
#if DEBUG
    private readonly Dictionary<int, T> _shadow = []; // Debug builds (the tests): the dictionary whose order the positions reproduce
#endif

    /// <summary>Number of states.</summary>
    public int Count => _end - _freedCount;

    /// <summary>One past the highest position in use or freed: enumerate positions 0 to <see cref="End"/> − 1 with <see cref="SlotAt"/>.</summary>
    public int End => _end;

    /// <summary>The state of <paramref name="slot"/>; null when it has none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T? Get(int slot)
    {
        var array = _array;
        return (uint)slot < (uint)array.Length ? array[slot] : null;
    }

    /// <summary>The slot at <paramref name="position"/> (0 to <see cref="End"/> − 1); −1 when that position is free.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int SlotAt(int position) => _slotAt[position];

    /// <summary>The position of <paramref name="slot"/>, which must have a state.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int PositionOf(int slot) => _positionOf[slot];

    /// <summary>Adds the state of <paramref name="slot"/>, which must have none.</summary>
    /// <exception cref="ArgumentException">When <paramref name="slot"/> already has a state.</exception>
    public void Add(int slot, T state)
    {
        if (Get(slot) is not null)
        {
            throw new ArgumentException("The slot already has a state.", nameof(slot));
        }

        if (slot >= _array.Length)
        {
            var size = Math.Max(slot + 1, _array.Length * 2);
            Array.Resize(ref _array, size);
            Array.Resize(ref _positionOf, size);
        }

        int position;
        if (_freedCount > 0)
        {
            position = _freed[--_freedCount];
        }
        else
        {
            if (_end == _slotAt.Length)
            {
                Array.Resize(ref _slotAt, _end * 2);
            }

            position = _end++;
        }

        _array[slot] = state;
#if DEBUG
        _shadow.Add(slot, state);
#endif
        _positionOf[slot] = position;
        _slotAt[position] = slot;
    }

    /// <summary>Removes the state of <paramref name="slot"/>; false when it had none.</summary>
    public bool Remove(int slot, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out T? state)
    {
        state = Get(slot);
        if (state is null)
        {
            return false;
        }

        _array[slot] = null;
#if DEBUG
        _shadow.Remove(slot);
#endif
        var position = _positionOf[slot];
        _slotAt[position] = Free;
        if (_freedCount == _freed.Length)
        {
            Array.Resize(ref _freed, _freedCount * 2);
        }

        _freed[_freedCount++] = position;
        return true;
    }

    /// <summary>Debug builds (the tests): checks that the positions enumerate the slots in the order a dictionary holding the same states would.</summary>
    /// <exception cref="InvalidOperationException">When they do not.</exception>
    [Conditional("DEBUG")]
    public void CheckOrder()
    {
#if DEBUG
        var position = 0;
        foreach (var slot in _shadow.Keys)
        {
            while (_slotAt[position] == Free)
            {
                position++;
            }

            if (_slotAt[position] != slot)
            {
                throw new InvalidOperationException("The positions do not enumerate the states in the dictionary's order.");
            }

            position++;
        }

        for (; position < _end; position++)
        {
            if (_slotAt[position] != Free)
            {
                throw new InvalidOperationException("A position beyond the dictionary's states is in use.");
            }
        }
#endif
    }
}
