using System.Net;
using System.Net.Http.Json;
using Custodian.Messaging;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;
using Custodian.Tests.Transparency;
using Custodian.Transparency;

namespace Custodian.Tests.Portal;

public sealed class PortalSignInHardeningTests
{
    [Fact]
    public async Task Five_wrong_attempts_void_that_addresss_code_and_an_addresss_new_code_replaces_its_old_one()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        using var portal = host.PortalClient();
        using var other = host.PortalClientFrom("127.0.0.2");
        var phone = host.Population[1].Phone;
        using (await portal.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone }))
        {
        }

        var code = await PortalTests.PortalCodeAsync(host, phone);
        foreach (var missing in new object[] { new { phone }, new { phone, code = "" }, new { phone, code = "  " } })
        {
            // Malformed, not a guess: 400, and none of the address's failed checks is used (the five below still count).
            using var malformed = await portal.PostAsJsonAsync("/portal/api/v1/sign-in/verify", missing);
            var problem = await ProblemAssert.IsProblemAsync(malformed, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
            Assert.Equal("is required: the code sent by SMS", problem.GetProperty("errors").GetProperty("code")[0].GetString());
        }

        var wrong = WrongCodes.NoneOf(code);
        for (var i = 0; i < PortalSignIn.AttemptsPerCode; i++)
        {
            using var attempt = await portal.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code = wrong });
            await ProblemAssert.IsProblemAsync(attempt, HttpStatusCode.Unauthorized, ErrorCodes.PortalCodeInvalid);
        }

        // The code is void (whoever presents it), and its address has used up its failed checks on this number.
        using var voided = await other.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code });
        await ProblemAssert.IsProblemAsync(voided, HttpStatusCode.Unauthorized, ErrorCodes.PortalCodeInvalid);
        using var blocked = await portal.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code });
        await ProblemAssert.IsProblemAsync(blocked, HttpStatusCode.TooManyRequests, ErrorCodes.RateLimited);
        Assert.Equal(TimeSpan.FromHours(1), blocked.Headers.RetryAfter?.Delta);

        host.Time.Advance(TimeSpan.FromSeconds(1));
        using (await other.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone }))
        {
        }

        var second = await PortalTests.PortalCodeAsync(host, phone, count: 2);
        host.Time.Advance(TimeSpan.FromSeconds(1)); // outbox order is by time
        using (await other.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone }))
        {
        }

        var third = await PortalTests.PortalCodeAsync(host, phone, count: 3);
        if (second != third)
        {
            using var old = await other.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code = second });
            await ProblemAssert.IsProblemAsync(old, HttpStatusCode.Unauthorized, ErrorCodes.PortalCodeInvalid);
        }

        using var ok = await other.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code = third });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        using var reused = await other.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code = third });
        await ProblemAssert.IsProblemAsync(reused, HttpStatusCode.Unauthorized, ErrorCodes.PortalCodeInvalid);
    }

    [Fact]
    public async Task Another_address_at_its_limits_neither_voids_nor_blocks_the_subscribers_code()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        using var subscriber = host.PortalClientFrom("127.0.0.2");
        using var attacker = host.PortalClientFrom("127.0.0.3");
        var phone = host.Population[1].Phone;
        var start = host.Time.GetUtcNow();

        await PortalSignInRequests.RequestAsync(host, subscriber, phone, HttpStatusCode.Accepted); // start + 1 s
        var code = await PortalTests.PortalCodeAsync(host, phone);
        for (var i = 0; i < PortalSignIn.CodesPerNumberAndAddressPerHour; i++)
        {
            await PortalSignInRequests.RequestAsync(host, attacker, phone, HttpStatusCode.Accepted); // start + 2 s … + 6 s
        }

        using (var limited = await PortalSignInRequests.RequestAsync(host, attacker, phone, HttpStatusCode.TooManyRequests)) // start + 7 s
        {
            Assert.Equal(TimeSpan.FromSeconds(3600 - 5), limited.Headers.RetryAfter?.Delta); // until start + 2 s leaves the hour
        }

        var attackersCode = await PortalTests.PortalCodeAsync(host, phone, count: 1 + PortalSignIn.CodesPerNumberAndAddressPerHour);
        var wrong = WrongCodes.NoneOf(code, attackersCode);
        for (var i = 0; i < PortalSignIn.FailedChecksPerNumberAndAddressPerHour; i++)
        {
            using var guess = await attacker.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code = wrong });
            await ProblemAssert.IsProblemAsync(guess, HttpStatusCode.Unauthorized, ErrorCodes.PortalCodeInvalid);
        }

        using (var guess = await attacker.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code = wrong }))
        {
            await ProblemAssert.IsProblemAsync(guess, HttpStatusCode.TooManyRequests, ErrorCodes.RateLimited);
            Assert.Equal(TimeSpan.FromHours(1), guess.Headers.RetryAfter?.Delta);
        }

        // Neither the attacker's five requests nor its five wrong guesses voided the subscriber's code.
        Assert.Equal(start + TimeSpan.FromSeconds(7), host.Time.GetUtcNow());
        using (var signIn = await subscriber.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code }))
        {
            Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        }

        // And the subscriber's address still gets (and uses) a new code.
        await PortalSignInRequests.RequestAsync(host, subscriber, phone, HttpStatusCode.Accepted);
        var fresh = await PortalTests.PortalCodeAsync(host, phone, count: 2 + PortalSignIn.CodesPerNumberAndAddressPerHour);
        using var again = await subscriber.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code = fresh });
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task The_per_number_cap_takes_four_addresses_and_its_window_slides()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var phone = host.Population[2].Phone;
        var start = host.Time.GetUtcNow();
        var clients = Enumerable.Range(11, 6).Select(i => host.PortalClientFrom($"127.0.0.{i}")).ToList();
        try
        {
            // Three other addresses at their limit leave the fourth (the subscriber's) its full five: start + 1 s … + 20 s.
            foreach (var client in clients.Take(4))
            {
                for (var i = 0; i < PortalSignIn.CodesPerNumberAndAddressPerHour; i++)
                {
                    (await PortalSignInRequests.RequestAsync(host, client, phone, HttpStatusCode.Accepted)).Dispose();
                }
            }

            // Twenty from four addresses: the number is at its cap for a fifth, until start + 1 s leaves the hour.
            Assert.Equal(PortalSignIn.CodesPerNumberPerHour, 4 * PortalSignIn.CodesPerNumberAndAddressPerHour);
            using (var capped = await PortalSignInRequests.RequestAsync(host, clients[4], phone, HttpStatusCode.TooManyRequests)) // start + 21 s
            {
                Assert.Equal(TimeSpan.FromSeconds(3600 - 20), capped.Headers.RetryAfter?.Delta);
            }

            host.Time.Advance(TimeSpan.FromSeconds(3600 - 21)); // start + 3600 s
            using (var stillCapped = await PortalSignInRequests.RequestAsync(host, clients[4], phone, HttpStatusCode.TooManyRequests, step: false))
            {
                Assert.Equal(TimeSpan.FromSeconds(1), stillCapped.Headers.RetryAfter?.Delta);
            }

            host.Time.Advance(TimeSpan.FromSeconds(1)); // start + 3601 s: the request of start + 1 s has left the hour
            (await PortalSignInRequests.RequestAsync(host, clients[4], phone, HttpStatusCode.Accepted, step: false)).Dispose();
            using (var full = await PortalSignInRequests.RequestAsync(host, clients[5], phone, HttpStatusCode.TooManyRequests, step: false))
            {
                Assert.Equal(TimeSpan.FromSeconds(1), full.Headers.RetryAfter?.Delta); // start + 2 s leaves next
            }

            Assert.Equal(start + TimeSpan.FromSeconds(3601), host.Time.GetUtcNow());
            await PortalTests.PortalCodeAsync(host, phone, count: 21);
            var sent = await ((OutboxSmsSender)host.Get<ISmsSender>()).ReadAsync(await GuardedLookupTests.IdOf(host, phone), SmsKind.PortalCode, 100);
            Assert.Equal(21, sent.Count); // nothing was sent while limited
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task A_fifth_address_waits_for_a_free_code_slot_and_no_request_voids_another_addresss_code()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var phone = host.Population[3].Phone;
        var clients = Enumerable.Range(21, 5).Select(i => host.PortalClientFrom($"127.0.0.{i}")).ToList();
        try
        {
            (await PortalSignInRequests.RequestAsync(host, clients[0], phone, HttpStatusCode.Accepted)).Dispose(); // start + 1 s, expires start + 301 s
            var code = await PortalTests.PortalCodeAsync(host, phone);
            foreach (var client in clients.Skip(1).Take(PortalSignIn.LiveCodesPerNumber - 1))
            {
                (await PortalSignInRequests.RequestAsync(host, client, phone, HttpStatusCode.Accepted)).Dispose(); // start + 2 s … + 4 s
            }

            using (var full = await PortalSignInRequests.RequestAsync(host, clients[4], phone, HttpStatusCode.TooManyRequests)) // start + 5 s
            {
                // The first code is accepted until start + 301 s inclusive, so its slot is free a tick later: 296 s and a tick, rounded up.
                Assert.Equal(TimeSpan.FromSeconds(297), full.Headers.RetryAfter?.Delta);
            }

            using (var signIn = await clients[0].PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code }))
            {
                Assert.Equal(HttpStatusCode.OK, signIn.StatusCode); // three later requests from other addresses did not void it
            }

            (await PortalSignInRequests.RequestAsync(host, clients[4], phone, HttpStatusCode.Accepted, step: false)).Dispose(); // the used code's slot is free
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task Failed_checks_are_capped_per_number_across_addresses_and_the_window_slides()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var phone = host.Population[4].Phone;
        using var subscriber = host.PortalClientFrom("127.0.0.31");
        var guessers = Enumerable.Range(32, 4).Select(i => host.PortalClientFrom($"127.0.0.{i}")).ToList();
        try
        {
            (await PortalSignInRequests.RequestAsync(host, subscriber, phone, HttpStatusCode.Accepted)).Dispose(); // start + 1 s
            var first = await PortalTests.PortalCodeAsync(host, phone);

            // Three addresses at their five misses each (start + 2 s, + 3 s, + 4 s): the subscriber's code still works.
            foreach (var guesser in guessers.Take(3))
            {
                host.Time.Advance(TimeSpan.FromSeconds(1));
                await GuessFiveTimesAsync(guesser, phone, WrongCodes.NoneOf(first));
            }

            using (var signIn = await subscriber.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code = first }))
            {
                Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
            }

            // A fourth address brings the number to 20 misses: no further check of any code of it this hour.
            (await PortalSignInRequests.RequestAsync(host, subscriber, phone, HttpStatusCode.Accepted)).Dispose(); // start + 5 s
            var second = await PortalTests.PortalCodeAsync(host, phone, count: 2);
            Assert.Equal(PortalSignIn.FailedChecksPerNumberPerHour, 4 * PortalSignIn.FailedChecksPerNumberAndAddressPerHour);
            await GuessFiveTimesAsync(guessers[3], phone, WrongCodes.NoneOf(first, second));
            using (var blocked = await subscriber.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code = second }))
            {
                await ProblemAssert.IsProblemAsync(blocked, HttpStatusCode.TooManyRequests, ErrorCodes.RateLimited);
                Assert.Equal(TimeSpan.FromSeconds(3600 - 3), blocked.Headers.RetryAfter?.Delta); // until start + 2 s leaves the hour
            }

            host.Time.Advance(TimeSpan.FromSeconds(3600 - 3)); // start + 3602 s: the misses of start + 2 s have left the hour
            using (var stillBlocked = await guessers[3].PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code = WrongCodes.NoneOf(first, second) }))
            {
                await ProblemAssert.IsProblemAsync(stillBlocked, HttpStatusCode.TooManyRequests, ErrorCodes.RateLimited);
                Assert.Equal(TimeSpan.FromSeconds(3), stillBlocked.Headers.RetryAfter?.Delta); // its own five of start + 5 s still count
            }

            (await PortalSignInRequests.RequestAsync(host, subscriber, phone, HttpStatusCode.Accepted, step: false)).Dispose();
            var third = await PortalTests.PortalCodeAsync(host, phone, count: 3);
            using var later = await subscriber.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code = third });
            Assert.Equal(HttpStatusCode.OK, later.StatusCode);
        }
        finally
        {
            guessers.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task Code_lives_five_minutes()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        using var portal = host.PortalClient();
        var phone = host.Population[2].Phone;
        using (await portal.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone }))
        {
        }

        var code = await PortalTests.PortalCodeAsync(host, phone);
        host.Time.Advance(PortalSignIn.CodeLifetime + TimeSpan.FromMilliseconds(1));
        using var expired = await portal.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code });
        await ProblemAssert.IsProblemAsync(expired, HttpStatusCode.Unauthorized, ErrorCodes.PortalCodeInvalid);

        using (await portal.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone }))
        {
        }

        var fresh = await PortalTests.PortalCodeAsync(host, phone, count: 2);
        host.Time.Advance(PortalSignIn.CodeLifetime);
        using var justInTime = await portal.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code = fresh });
        Assert.Equal(HttpStatusCode.OK, justInTime.StatusCode);
    }

    [Fact]
    public async Task Source_address_is_limited_across_numbers_and_nothing_is_sent_while_limited()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        using var portal = host.PortalClient();
        for (var i = 0; i < PortalSignIn.CodesPerAddressPerHour; i++)
        {
            using var request = await portal.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone = $"010-0000-{i:0000}" });
            Assert.Equal(HttpStatusCode.Accepted, request.StatusCode);
        }

        var phone = host.Population[0].Phone;
        host.Time.Advance(TimeSpan.FromMinutes(30));
        using var limited = await portal.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone });
        await ProblemAssert.IsProblemAsync(limited, HttpStatusCode.TooManyRequests, ErrorCodes.RateLimited);
        Assert.Equal(TimeSpan.FromMinutes(30), limited.Headers.RetryAfter?.Delta);

        host.Time.Advance(TimeSpan.FromMinutes(30));
        using var later = await portal.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone });
        Assert.Equal(HttpStatusCode.Accepted, later.StatusCode);
        await PortalTests.PortalCodeAsync(host, phone);
        Assert.Single(await ((OutboxSmsSender)host.Get<ISmsSender>()).ReadAsync(await GuardedLookupTests.IdOf(host, phone), SmsKind.PortalCode, 10));
    }

    [Fact]
    public async Task Failed_checks_block_the_address_until_the_hour_has_passed()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        using var portal = host.PortalClient();
        var phone = host.Population[3].Phone;
        for (var i = 0; i < PortalSignIn.FailedChecksPerAddressPerHour; i++)
        {
            using var check = await portal.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone = $"010-0000-{i:0000}", code = "123456" });
            await ProblemAssert.IsProblemAsync(check, HttpStatusCode.Unauthorized, ErrorCodes.PortalCodeInvalid);
        }

        using (await portal.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone }))
        {
        }

        var code = await PortalTests.PortalCodeAsync(host, phone);
        using var blocked = await portal.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code });
        await ProblemAssert.IsProblemAsync(blocked, HttpStatusCode.TooManyRequests, ErrorCodes.RateLimited);
        Assert.Equal(TimeSpan.FromHours(1), blocked.Headers.RetryAfter?.Delta);

        host.Time.Advance(TimeSpan.FromMinutes(4));
        using var stillBlocked = await portal.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code });
        await ProblemAssert.IsProblemAsync(stillBlocked, HttpStatusCode.TooManyRequests, ErrorCodes.RateLimited);
        Assert.Equal(TimeSpan.FromMinutes(56), stillBlocked.Headers.RetryAfter?.Delta);
    }

    private static async Task GuessFiveTimesAsync(HttpClient client, string phone, string wrong)
    {
        for (var i = 0; i < PortalSignIn.FailedChecksPerNumberAndAddressPerHour; i++)
        {
            using var guess = await client.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code = wrong });
            await ProblemAssert.IsProblemAsync(guess, HttpStatusCode.Unauthorized, ErrorCodes.PortalCodeInvalid);
        }
    }
}
