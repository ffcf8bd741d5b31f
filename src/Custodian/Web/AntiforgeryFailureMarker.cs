using Microsoft.AspNetCore.Mvc.Core.Infrastructure;
using Microsoft.AspNetCore.Mvc.Filters;

namespace Custodian.Web;

/// <summary>
/// Marks a request whose form failed the antiforgery check (<see cref="IAntiforgeryValidationFailedResult"/>)
/// in <see cref="HttpContext.Items"/> under <see cref="ItemKey"/>, so that the status-code page tells a missing or stale
/// page token apart from any other empty 400 (<c>CustodianServer</c>). Runs for every result, also one an authorization
/// filter short-circuited with (which the antiforgery check is).
/// </summary>
public sealed class AntiforgeryFailureMarker : IAlwaysRunResultFilter
{
    /// <summary>The <see cref="HttpContext.Items"/> key; its value is <c>true</c> when the antiforgery check failed.</summary>
    public const string ItemKey = "custodian.antiforgery-failed";

    /// <summary>Whether the antiforgery check failed for <paramref name="context"/>'s request.</summary>
    public static bool Failed(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Items[ItemKey] is true;
    }

    /// <inheritdoc />
    public void OnResultExecuting(ResultExecutingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Result is IAntiforgeryValidationFailedResult)
        {
            context.HttpContext.Items[ItemKey] = true;
        }
    }

    /// <inheritdoc />
    public void OnResultExecuted(ResultExecutedContext context)
    {
    }
}
