using System.Collections.Concurrent;
using Custodian.Transparency;
using Microsoft.Extensions.Time.Testing;

namespace Custodian.Tests.Portal;

/// <summary>The per-number state behind portal sign-in: bounded memory, the miss cap under concurrency, address keys.</summary>
public sealed class PortalCodeBookTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Numbers_idle_for_an_hour_are_forgotten_so_cycling_through_numbers_stays_bounded()
    {
        var time = new FakeTimeProvider(Start) { AutoAdvanceAmount = TimeSpan.Zero };
        var book = new PortalCodeBook(time);
        for (var i = 0; i <= 10_000; i++)
        {
            Assert.NotNull(book.Request($"n{i}", "192.0.2.1", _ => TimeSpan.Zero, out _));
        }

        Assert.Equal(10_001, book.NumberCount);
        time.Advance(TimeSpan.FromMinutes(30));
        Assert.NotNull(book.Request("recent", "192.0.2.1", _ => TimeSpan.Zero, out _)); // sweeps too, but nothing is idle yet
        Assert.Equal(10_002, book.NumberCount);

        time.Advance(TimeSpan.FromMinutes(30)); // the first 10,001 requests leave the hour; their codes expired long ago
        Assert.NotNull(book.Request("new", "192.0.2.1", _ => TimeSpan.Zero, out _));
        Assert.Equal(2, book.NumberCount); // "recent" (30 minutes old) and "new"
    }

    [Fact]
    public async Task Concurrent_wrong_checks_from_many_addresses_never_exceed_the_per_number_cap()
    {
        var time = new FakeTimeProvider(Start) { AutoAdvanceAmount = TimeSpan.Zero };
        var book = new PortalCodeBook(time);
        Assert.NotNull(book.Request("victim", "192.0.2.1", _ => TimeSpan.Zero, out _));
        var outcomes = new ConcurrentBag<TimeSpan>();
        await Parallel.ForAsync(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 8 }, (i, _) =>
        {
            // 80 addresses × 5 checks: four times as many misses as the number allows, all at once.
            var matched = book.Verify("victim", $"198.51.100.{i % 80}", "not-a-code", out var retry);
            Assert.False(matched);
            outcomes.Add(retry);
            return ValueTask.CompletedTask;
        });

        Assert.Equal(PortalSignIn.FailedChecksPerNumberPerHour, outcomes.Count(r => r == TimeSpan.Zero)); // compared and counted
        Assert.Equal(400 - PortalSignIn.FailedChecksPerNumberPerHour, outcomes.Count(r => r == TimeSpan.FromHours(1))); // refused before comparing
    }

    [Theory]
    [InlineData("192.0.2.7", "192.0.2.7")]
    [InlineData("::ffff:192.0.2.7", "192.0.2.7")]
    [InlineData("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:3::1", "2001:db8:1:3::/64")]
    [InlineData(null, "?")]
    [InlineData("not an address", "?")]
    public void Source_addresses_are_counted_as_ipv4_or_ipv6_slash_64(string? remote, string key) =>
        Assert.Equal(key, PortalSignIn.AddressKey(remote));
}
