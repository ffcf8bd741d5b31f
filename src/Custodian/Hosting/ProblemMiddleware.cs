using Custodian.Problems;
using Microsoft.Extensions.Logging;

namespace Custodian.Hosting;

/// <summary>
/// Turns framework exceptions into problem responses with stable codes: malformed JSON and bad
/// parameters (400 <c>validation-failed</c>), free text holding a phone number or RRN (400 <c>personal-data-in-text</c>), oversized bodies (413 <c>body-too-large</c>), a body of the wrong media type (415 <c>unsupported-media-type</c>),
/// an access ledger that cannot record the request (503 <c>ledger-unavailable</c>, transient: fail closed), a database
/// that is unreachable or refuses for a transient reason (503 <c>storage-unavailable</c>, transient) and
/// anything unexpected (500 <c>internal-error</c>, logged without request data).
/// A refused body on the terminal listener is recorded in the ledger (<see cref="BodyRefusals"/>).
/// </summary>
public sealed class ProblemMiddleware(RequestDelegate next, ILogger<ProblemMiddleware> logger)
{
    /// <summary>Handles one request.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            var error = ex.StatusCode switch
            {
                StatusCodes.Status413PayloadTooLarge => new CustodianError(ErrorCodes.BodyTooLarge, 413, "The request body is larger than allowed."),
                StatusCodes.Status415UnsupportedMediaType => new CustodianError(ErrorCodes.UnsupportedMediaType, 415, "The request is malformed: " + SafeMessage(ex)),
                _ => new CustodianError(ErrorCodes.ValidationFailed, ex.StatusCode, "The request is malformed: " + SafeMessage(ex)),
            };
            await BodyRefusals.RecordAsync(context, error);
            context.Response.Clear();
            await error.WriteAsync(context);
        }
        catch (Classification.PersonalDataInTextException ex) when (!context.Response.HasStarted)
        {
            // Raised before anything is recorded or changed (the ledger entry comes first); the message names the field only.
            context.Response.Clear();
            await new CustodianError(ErrorCodes.PersonalDataInText, 400, ex.Message) { Errors = new Dictionary<string, string[]> { [ex.Field] = [Classification.FreeText.Rule] } }.WriteAsync(context);
        }
        catch (Ledger.LedgerUnavailableException ex) when (!context.Response.HasStarted)
        {
            // Fail closed with the stable code wherever a service lets the ledger's refusal through (an officer's claim view,
            // an export, a review): nothing was returned, and the client learns that retrying later is the remedy.
            Log.LedgerFailed(logger, ex);
            context.Response.Clear();
            await new CustodianError(ErrorCodes.LedgerUnavailable, 503, "The access ledger could not record this request, so it was refused. Try again shortly.", IsTransient: true).WriteAsync(context);
        }
        catch (Exception ex) when (!context.Response.HasStarted && IsTransientStorageFailure(ex))
        {
            // A database outage is not a server bug: the client learns to retry (503, transient), as for the ledger.
            Log.StorageFailed(logger, (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no endpoint)", ex);
            context.Response.Clear();
            await new CustodianError(ErrorCodes.StorageUnavailable, 503, "The database is unavailable, so the request was refused. Try again shortly.", IsTransient: true).WriteAsync(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
        catch (Exception ex) when (!context.Response.HasStarted)
        {
            Log.Unhandled(logger, (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no endpoint)", ex);
            context.Response.Clear();
            await new CustodianError(ErrorCodes.InternalError, 500, "Unexpected server error.").WriteAsync(context);
        }
    }

    /// <summary>
    /// Whether <paramref name="exception"/> or one it wraps is a database failure that retrying can cure: a
    /// <see cref="Storage.StorageUnavailableException"/>, or a driver exception the driver marks transient
    /// (<see cref="System.Data.Common.DbException.IsTransient"/>; for Npgsql a lost or refused connection, a timeout, and
    /// SQLSTATEs such as 57P01 admin_shutdown and 40001 serialization_failure).
    /// </summary>
    internal static bool IsTransientStorageFailure(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is Storage.StorageUnavailableException or System.Data.Common.DbException { IsTransient: true })
            {
                return true;
            }

            if (e is AggregateException aggregate)
            {
                return aggregate.InnerExceptions.Any(IsTransientStorageFailure);
            }
        }

        return false;
    }

    // Framework messages can quote the client's input (a value that failed to bind, a JSON token),
    // so only the parameter's name or the JSON location is kept, never the value.
    private static string SafeMessage(BadHttpRequestException ex)
    {
        if (ex.InnerException is System.Text.Json.JsonException { Path: { } member } unmapped
            && unmapped.Message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal))
        {
            return $"the JSON body has a member this endpoint does not take (at {member}); see the API's documented request shape.";
        }

        if (ex.InnerException is System.Text.Json.JsonException json)
        {
            return $"the JSON body is not valid (at {json.Path ?? "$"}, line {json.LineNumber}, byte {json.BytePositionInLine}).";
        }

        if (ex.Message.Contains("JSON media type", StringComparison.Ordinal))
        {
            return "the body must be JSON, sent with 'Content-Type: application/json'.";
        }

        var parameter = System.Text.RegularExpressions.Regex.Match(ex.Message, "parameter \"(?:[^\" ]+ )?([A-Za-z0-9_]+)\"");
        return parameter.Success
            ? $"the parameter '{parameter.Groups[1].Value}' is missing or has a value of the wrong type."
            : "bad request.";
    }
}
