using Custodian.Monitoring.Detection;

namespace Custodian.Monitoring.Tests.Detection;

// The flat open-addressing tables that replaced HashSet<long> and Dictionary<long, int> on the detectors' per-read
// paths must answer exactly as those did: checked against them on random operation sequences (with growth, clears,
// colliding keys, and long.MinValue, the tables' empty marker).
public sealed class SubjectTablesTests
{
    [Fact]
    public void SubjectSet_answers_as_a_HashSet_through_growth_and_clears()
    {
        var random = new Random(20261201);
        var set = new SubjectSet(4);
        var expected = new HashSet<long>();
        var keys = Keys(random, 600);
        for (var op = 0; op < 20_000; op++)
        {
            var key = keys[random.Next(keys.Length)];
            Assert.Equal(expected.Add(key), set.Add(key));
            Assert.Equal(expected.Count, set.Count);
            if (random.Next(2_000) == 0)
            {
                expected.Clear();
                set.Clear();
                Assert.Equal(0, set.Count);
            }
        }

        Assert.True(expected.Count > 100); // the set grew well past its first capacity
    }

    [Fact]
    public void SubjectSet_holds_long_MinValue_once_and_forgets_it_on_clear()
    {
        var set = new SubjectSet(8);
        Assert.True(set.Add(long.MinValue));
        Assert.False(set.Add(long.MinValue));
        Assert.True(set.Add(0));
        Assert.Equal(2, set.Count);
        set.Clear();
        Assert.Equal(0, set.Count);
        Assert.True(set.Add(long.MinValue));
        Assert.True(set.Add(0));
    }

    [Fact]
    public void LongMap_of_int_answers_as_a_Dictionary_through_growth_and_clears()
    {
        var random = new Random(20261202);
        var map = new LongMap<int>(2);
        var expected = new Dictionary<long, int>();
        var keys = Keys(random, 900);
        for (var op = 0; op < 30_000; op++)
        {
            var key = keys[random.Next(keys.Length)];
            ref var value = ref map.GetValueRefOrAddDefault(key, out var exists);
            Assert.Equal(expected.ContainsKey(key), exists);
            Assert.Equal(expected.GetValueOrDefault(key), value);
            var next = random.Next(1, 1_000);
            value = next;
            expected[key] = next;
            Assert.Equal(expected.Count, map.Count);
            if (random.Next(5_000) == 0)
            {
                expected.Clear();
                map.Clear();
            }
        }

        foreach (var (key, v) in expected)
        {
            Assert.Equal(v, map.GetValueRefOrAddDefault(key, out var exists));
            Assert.True(exists);
        }
    }

    [Fact]
    public void LongMap_of_int_keeps_a_value_for_long_MinValue()
    {
        var map = new LongMap<int>(4);
        map.GetValueRefOrAddDefault(long.MinValue, out var exists) = 7;
        Assert.False(exists);
        map.GetValueRefOrAddDefault(-1, out _) = 3;
        Assert.Equal(7, map.GetValueRefOrAddDefault(long.MinValue, out exists));
        Assert.True(exists);
        Assert.Equal(2, map.Count);
        map.Clear();
        Assert.Equal(0, map.GetValueRefOrAddDefault(long.MinValue, out exists));
        Assert.False(exists);
    }

    [Theory]
    [InlineData(20261203, 900)] // grows well past its first capacity
    [InlineData(20261204, 12)] // stays small: long probe runs that wrap around the array's end, removed from often
    public void LongMap_answers_as_a_Dictionary_through_adds_removes_growth_and_clears(int seed, int keyCount)
    {
        var random = new Random(seed);
        var map = new LongMap<(long Ms, string? Store)>(4);
        var expected = new Dictionary<long, (long Ms, string? Store)>();
        var keys = Keys(random, keyCount);
        for (var op = 0; op < 40_000; op++)
        {
            var key = keys[random.Next(keys.Length)];
            switch (random.Next(4))
            {
                case 0:
                case 1:
                    ref var value = ref map.GetValueRefOrAddDefault(key, out var exists);
                    Assert.Equal(expected.ContainsKey(key), exists);
                    Assert.Equal(expected.GetValueOrDefault(key), value);
                    var next = (random.NextInt64(), random.Next(3) == 0 ? null : "s" + op);
                    value = next;
                    expected[key] = next;
                    break;
                case 2:
                    Assert.Equal(expected.Remove(key, out var removedExpected), map.Remove(key, out var removed));
                    Assert.Equal(removedExpected, removed);
                    break;
                default:
                    ref var found = ref map.GetValueRefOrNullRef(key);
                    Assert.Equal(expected.TryGetValue(key, out var v), !System.Runtime.CompilerServices.Unsafe.IsNullRef(ref found));
                    if (expected.ContainsKey(key))
                    {
                        Assert.Equal(v, found);
                    }

                    break;
            }

            Assert.Equal(expected.Count, map.Count);
            if (random.Next(8_000) == 0)
            {
                expected.Clear();
                map.Clear();
            }

            if (op % 997 == 0)
            {
                // Every key still reachable (backward-shift removal kept the probe runs intact), none extra.
                foreach (var k in keys)
                {
                    Assert.Equal(expected.ContainsKey(k), !System.Runtime.CompilerServices.Unsafe.IsNullRef(ref map.GetValueRefOrNullRef(k)));
                }

                var values = new List<(long Ms, string? Store)>();
                map.CopyValues(values);
                Assert.Equal(expected.Values.OrderBy(x => x.Ms), values.OrderBy(x => x.Ms));
            }
        }
    }

    // Keys of every shape the ledger could carry: small sequential IDs, large and negative values, multiples of a
    // power of two (which collide under a poor hash), and long.MinValue / MaxValue.
    private static long[] Keys(Random random, int n)
    {
        var keys = new List<long> { long.MinValue, long.MaxValue, 0, -1 };
        while (keys.Count < n)
        {
            keys.Add(random.Next(4) switch
            {
                0 => random.Next(1, 3_000),
                1 => random.NextInt64(),
                2 => -random.NextInt64(),
                _ => (long)random.Next(1, 100_000) << 32,
            });
        }

        return [.. keys];
    }
}
