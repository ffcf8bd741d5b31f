using System.Net;
using System.Net.Http.Json;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Portal;

/// <summary>Portal sign-in code requests as the limit tests make them (<see cref="PortalSignInHardeningTests"/>, <see cref="SharedPortalCodesTests"/>).</summary>
internal static class PortalSignInRequests
{
    /// <summary>
    /// Steps <paramref name="host"/>'s clock by a second (unless <paramref name="step"/> is false), requests a code for
    /// <paramref name="phone"/> through <paramref name="client"/>, and checks the status; a 429 must be a
    /// <see cref="ErrorCodes.RateLimited"/> problem.
    /// </summary>
    /// <returns>The response; the caller disposes it.</returns>
    public static async Task<HttpResponseMessage> RequestAsync(CustodianTestHost host, HttpClient client, string phone, HttpStatusCode expected, bool step = true)
    {
        if (step)
        {
            host.Time.Advance(TimeSpan.FromSeconds(1)); // the outbox orders by time: keep this code the newest
        }

        var response = await client.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone });
        if (expected == HttpStatusCode.TooManyRequests)
        {
            await ProblemAssert.IsProblemAsync(response, HttpStatusCode.TooManyRequests, ErrorCodes.RateLimited);
        }
        else
        {
            Assert.Equal(expected, response.StatusCode);
        }

        return response;
    }
}
