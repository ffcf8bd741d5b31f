using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Matching;

namespace Custodian.Web;

/// <summary>
/// Route constraint <c>not(a|b|…)</c>: the parameter matches any value except the listed literal segments (compared ignoring
/// case, as routing compares literals). It keeps a parameter route such as <c>GET /api/v1/subscribers/{handle}</c> from taking
/// the literal segment of a sibling route that takes other methods (<c>POST /api/v1/subscribers/search</c>), so that
/// <c>GET …/search</c> is answered <c>405 method-not-allowed</c> with <c>Allow: POST</c> by routing instead of being read as a
/// handle (docs/web.md "Routes"). Registered under <see cref="Name"/> by <see cref="WebFoundation.AddCustodianWeb"/>; a
/// convention test checks every such pair of routes. It also tells the route matcher, when the matcher is built, which literal
/// segments it never matches (<see cref="IParameterLiteralNodeMatchingPolicy"/>): a constraint checked only per request runs
/// after the method check, which would answer 404 instead of 405. Thread-safe (immutable).
/// </summary>
public sealed class NotLiteralRouteConstraint : IRouteConstraint, IParameterLiteralNodeMatchingPolicy
{
    /// <summary>The constraint's name in route templates: <c>{handle:not(search)}</c>.</summary>
    public const string Name = "not";

    private readonly HashSet<string> _literals;

    /// <summary>Creates the constraint from its template argument.</summary>
    /// <param name="literals">One or more literal segments separated by <c>|</c>, e.g. <c>search</c>; none may be empty.</param>
    /// <exception cref="ArgumentException">When <paramref name="literals"/> is blank or lists an empty segment.</exception>
    public NotLiteralRouteConstraint(string literals)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(literals);
        var split = literals.Split('|');
        if (split.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("Each literal segment must be non-empty.", nameof(literals));
        }

        _literals = new HashSet<string>(split, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The literal segments refused, in no particular order.</summary>
    public IReadOnlyCollection<string> Literals => _literals;

    /// <summary>True unless the parameter's value is one of <see cref="Literals"/> (a missing value matches: other rules decide).</summary>
    public bool Match(HttpContext? httpContext, IRouter? route, string routeKey, RouteValueDictionary values, RouteDirection routeDirection)
    {
        ArgumentNullException.ThrowIfNull(values);
        return !values.TryGetValue(routeKey, out var value) || value is not string text || !_literals.Contains(text);
    }

    /// <summary>False for the literal segments in <see cref="Literals"/>: the matcher leaves those paths to their own routes.</summary>
    public bool MatchesLiteral(string parameterName, string literal) => !_literals.Contains(literal);
}
