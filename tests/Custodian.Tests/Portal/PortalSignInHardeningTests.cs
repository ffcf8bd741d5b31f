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
    public async Task Five_wrong_attempts_void_the_code_and_a_new_code_voids_the_old_one()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        using var portal = host.PortalClient();
        var phone = host.Population[1].Phone;
        using (await portal.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone }))
        {
        }

        var code = await PortalTests.PortalCodeAsync(host, phone);
        var wrong = code == "000000" ? "111111" : "000000";
        for (var i = 0; i < PortalSignIn.AttemptsPerCode; i++)
        {
            using var attempt = await portal.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code = wrong });
            await ProblemAssert.IsProblemAsync(attempt, HttpStatusCode.Unauthorized, ErrorCodes.PortalCodeInvalid);
        }

        using var voided = await portal.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code });
        await ProblemAssert.IsProblemAsync(voided, HttpStatusCode.Unauthorized, ErrorCodes.PortalCodeInvalid);

        host.Time.Advance(TimeSpan.FromSeconds(1));
        using (await portal.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone }))
        {
        }

        var second = await PortalTests.PortalCodeAsync(host, phone, count: 2);
        host.Time.Advance(TimeSpan.FromSeconds(1)); // outbox order is by time
        using (await portal.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone }))
        {
        }

        var third = await PortalTests.PortalCodeAsync(host, phone, count: 3);
        if (second != third)
        {
            using var old = await portal.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code = second });
            await ProblemAssert.IsProblemAsync(old, HttpStatusCode.Unauthorized, ErrorCodes.PortalCodeInvalid);
        }

        using var ok = await portal.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code = third });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        using var reused = await portal.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code = third });
        await ProblemAssert.IsProblemAsync(reused, HttpStatusCode.Unauthorized, ErrorCodes.PortalCodeInvalid);
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
}
