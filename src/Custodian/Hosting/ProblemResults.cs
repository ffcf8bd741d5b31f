using Custodian.Problems;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Custodian.Hosting;

/// <summary>Maps <see cref="CustodianError"/> values to RFC 9457 problem responses.</summary>
public static class ProblemResults
{
    /// <summary>
    /// The problem response for <paramref name="error"/>: <c>type</c> = <c>urn:custodian:error:&lt;code&gt;</c>,
    /// <c>title</c> = the code, <c>status</c>, <c>detail</c> = the message, and extension members
    /// <c>errorCode</c>, <c>transient</c> and (for validation) <c>errors</c>.
    /// </summary>
    public static ProblemHttpResult ToProblem(this CustodianError error)
    {
        var extensions = new Dictionary<string, object?>
        {
            ["errorCode"] = error.Code,
            ["transient"] = error.IsTransient,
        };
        if (error.Errors is not null)
        {
            extensions["errors"] = error.Errors;
        }

        return TypedResults.Problem(
            detail: error.Message,
            statusCode: error.Status,
            title: error.Code,
            type: error.TypeUri,
            extensions: extensions);
    }

    /// <summary>The problem response for <paramref name="error"/>, setting <c>Retry-After</c> on <paramref name="context"/> when the error carries one.</summary>
    public static ProblemHttpResult ToProblem(this CustodianError error, HttpContext context)
    {
        if (error.RetryAfter is { } retry)
        {
            context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return error.ToProblem();
    }

    /// <summary>Writes <paramref name="error"/> as a problem response directly (for middleware).</summary>
    public static Task WriteAsync(this CustodianError error, HttpContext context) => error.ToProblem().ExecuteAsync(context);

    /// <summary>A validation failure naming one field and its rule.</summary>
    public static CustodianError Validation(string field, string rule) =>
        new(ErrorCodes.ValidationFailed, StatusCodes.Status400BadRequest, $"The field '{field}' is invalid: {rule}")
        {
            Errors = new Dictionary<string, string[]> { [field] = [rule] },
        };
}
