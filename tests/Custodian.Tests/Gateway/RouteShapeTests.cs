using System.Net;
using System.Net.Http.Json;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;
using Custodian.Web;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Custodian.Tests.Gateway;

/// <summary>
/// A parameter route beside a literal sibling that takes other methods (<c>GET /api/v1/subscribers/{handle}</c> beside
/// <c>POST /api/v1/subscribers/search</c>) must not take the literal as a value: the wrong method is answered 405 with
/// <c>Allow</c>, like any other path that does not take the method (<c>GET /api/v1/enroll</c>).
/// </summary>
public sealed class RouteShapeTests
{
    [Fact]
    public async Task A_wrong_method_on_a_literal_beside_a_parameter_route_is_405_with_allow_like_any_other()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var (clerk, _, _) = await host.ClerkAsync("C0001");

        foreach (var path in new[] { "/api/v1/subscribers/search", "/api/v1/subscribers/SEARCH", "/api/v1/enroll" })
        {
            using var response = await clerk.GetAsync(path);
            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.MethodNotAllowed, ErrorCodes.MethodNotAllowed);
            Assert.Equal("POST", string.Join(",", response.Content.Headers.Allow));
            Assert.Equal("Method not allowed.", problem.GetProperty("detail").GetString());
        }

        // A handle this session never obtained is still the guard's answer (and is recorded as a refusal).
        using var unknown = await clerk.GetAsync("/api/v1/subscribers/AAAAAAAAAAAAAAAA?purpose=plan-change");
        await ProblemAssert.IsProblemAsync(unknown, HttpStatusCode.NotFound, ErrorCodes.SubscriberHandleUnknown);
        using var searched = await clerk.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = host.Population[1].Phone });
        Assert.Equal(HttpStatusCode.OK, searched.StatusCode);
    }

    [Fact]
    public async Task No_parameter_route_takes_the_literal_of_a_sibling_that_takes_other_methods()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        var factory = host.Get<ParameterPolicyFactory>();
        var endpoints = host.Get<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => (e.RoutePattern, Methods: e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? []))
            .ToList();
        var checkedPairs = new List<string>();
        foreach (var (pattern, methods) in endpoints)
        {
            for (var i = 0; i < pattern.PathSegments.Count; i++)
            {
                if (pattern.PathSegments[i].Parts is not [RoutePatternParameterPart parameter])
                {
                    continue;
                }

                foreach (var (sibling, siblingMethods) in endpoints)
                {
                    if (sibling.PathSegments.Count != pattern.PathSegments.Count
                        || sibling.PathSegments[i].Parts is not [RoutePatternLiteralPart literal]
                        || !methods.Except(siblingMethods, StringComparer.OrdinalIgnoreCase).Any()
                        || Enumerable.Range(0, i).Any(j => !string.Equals(Text(pattern, j), Text(sibling, j), StringComparison.OrdinalIgnoreCase)))
                    {
                        continue;
                    }

                    var values = new RouteValueDictionary { [parameter.Name] = literal.Content };
                    var refused = parameter.ParameterPolicies
                        .Select(p => factory.Create(parameter, p))
                        .OfType<IRouteConstraint>()
                        .Any(c => !c.Match(null, null, parameter.Name, values, RouteDirection.IncomingRequest));
                    Assert.True(refused, $"{string.Join(",", methods)} {pattern.RawText} takes '{literal.Content}' of {string.Join(",", siblingMethods)} {sibling.RawText}");
                    checkedPairs.Add($"{pattern.RawText} / {sibling.RawText}");
                }
            }
        }

        // The one such pair today; a new one must carry a constraint like it.
        Assert.Equal(["/api/v1/subscribers/{handle:not(search)} / /api/v1/subscribers/search"], checkedPairs);
    }

    private static string Text(RoutePattern pattern, int segment) =>
        string.Concat(pattern.PathSegments[segment].Parts.Select(p => p switch
        {
            RoutePatternLiteralPart l => l.Content,
            RoutePatternParameterPart => "{}",
            _ => "?",
        }));
}
