using Custodian.Problems;
using Microsoft.Extensions.Logging;

namespace Custodian.Hosting;

/// <summary>
/// Turns framework exceptions into problem responses with stable codes: malformed JSON and bad
/// parameters (400 <c>validation-failed</c>; the detail names the JSON path and the type the member must have, or that a string
/// holds bytes that are not UTF-8 (with its path), or the line and byte counted from 1, or that a JSON body is needed — never
/// the value or an internal parameter name), free text holding a phone number or RRN (400 <c>personal-data-in-text</c>), oversized bodies (413 <c>body-too-large</c>), a body of the wrong media type (415 <c>unsupported-media-type</c>),
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
                StatusCodes.Status415UnsupportedMediaType => new CustodianError(ErrorCodes.UnsupportedMediaType, 415, "The request is malformed: " + SafeMessage(ex, context)),
                _ => new CustodianError(ErrorCodes.ValidationFailed, ex.StatusCode, "The request is malformed: " + SafeMessage(ex, context)),
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
    // so only the parameter's name, the JSON member's path and the type it must have are kept, never the value.
    // Line and byte numbers are counted from 1 (System.Text.Json counts them from 0).
    private static string SafeMessage(BadHttpRequestException ex, HttpContext context)
    {
        if (ex.InnerException is System.Text.Json.JsonException { Path: { } member } unmapped
            && unmapped.Message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal))
        {
            return $"the JSON body has a member this endpoint does not take (at {member}); see the API's documented request shape.";
        }

        // Bytes that are not UTF-8 inside a JSON string: the serializer reports a string member as "could not be converted to
        // System.String", which would read as "must be a string" although a string was sent (RFC 8259 §8.1: JSON is UTF-8).
        if (ex.InnerException is System.Text.Json.JsonException notUtf8 && IsInvalidUtf8(notUtf8))
        {
            return $"the body is not valid UTF-8 JSON: a string holds bytes that are not UTF-8 (at {notUtf8.Path ?? "$"}).";
        }

        if (ex.InnerException is System.Text.Json.JsonException { Path: { } path } mistyped
            && mistyped.Message.StartsWith("The JSON value could not be converted to ", StringComparison.Ordinal)
            && ExpectedJson(context, path) is { } expected)
        {
            return path == "$" ? $"the JSON body must be {expected}." : $"{path} must be {expected}.";
        }

        if (ex.InnerException is System.Text.Json.JsonException empty
            && empty.Message.Contains("does not contain any JSON tokens", StringComparison.Ordinal))
        {
            return MissingBody;
        }

        if (ex.InnerException is System.Text.Json.JsonException json)
        {
            return $"the JSON body is not valid (at {json.Path ?? "$"}, line {json.LineNumber + 1}, byte {json.BytePositionInLine + 1}).";
        }

        if (ex.Message.Contains("JSON media type", StringComparison.Ordinal))
        {
            return "the body must be JSON, sent with 'Content-Type: application/json'.";
        }

        if (ex.Message.Contains("was not provided from body", StringComparison.Ordinal)
            || ex.Message.StartsWith("Implicit body inferred for parameter", StringComparison.Ordinal))
        {
            return MissingBody; // an empty body or the JSON literal null: the binder's message names an internal parameter
        }

        var parameter = System.Text.RegularExpressions.Regex.Match(ex.Message, "parameter \"(?:[^\" ]+ )?([A-Za-z0-9_]+)\"");
        return parameter.Success
            ? $"the parameter '{parameter.Groups[1].Value}' is missing or has a value of the wrong type."
            : "bad request.";
    }

    // System.Text.Json's transcoding to UTF-16 fails with a DecoderFallbackException, wrapped in an InvalidOperationException.
    private static bool IsInvalidUtf8(Exception exception)
    {
        for (var e = exception.InnerException; e is not null; e = e.InnerException)
        {
            if (e is System.Text.DecoderFallbackException)
            {
                return true;
            }
        }

        return false;
    }

    private const string MissingBody = "the request needs a JSON body (an object), sent with 'Content-Type: application/json'.";

    /// <summary>
    /// What the JSON value at <paramref name="path"/> (System.Text.Json's path, e.g. <c>$.phone</c> or <c>$.items[0].id</c>)
    /// of the endpoint's request body must be — "a string", "a number", "true or false", "an array", "an object", "one
    /// of the documented values", or for dates, times, durations and GUIDs "a string with …" naming the form (e.g. "a string
    /// with an ISO 8601 date and time (e.g. 2026-11-30T09:00:00Z or 2026-11-30T18:00:00+09:00)") — from the endpoint's declared request type and the serializer's contract (the exception's
    /// own message names the containing type, not the member's); null when the path cannot be followed.
    /// </summary>
    internal static string? ExpectedJson(HttpContext context, string path)
    {
        var requestType = context.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata>()?.RequestType;
        if (requestType is null)
        {
            return null;
        }

        var options = context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        var info = options.GetTypeInfo(requestType);
        foreach (System.Text.RegularExpressions.Match segment in System.Text.RegularExpressions.Regex.Matches(path, @"\.([^.\[]+)|\['((?:[^']|'')*)'\]|\[(\d+)\]"))
        {
            if (segment.Groups[3].Success)
            {
                if (info.ElementType is not { } element)
                {
                    return null;
                }

                info = options.GetTypeInfo(element);
                continue;
            }

            var name = segment.Groups[1].Success ? segment.Groups[1].Value : segment.Groups[2].Value.Replace("''", "'", StringComparison.Ordinal);
            var comparison = options.PropertyNameCaseInsensitive ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
            if (info.Properties.FirstOrDefault(p => string.Equals(p.Name, name, comparison)) is not { } property)
            {
                return null;
            }

            info = options.GetTypeInfo(property.PropertyType);
        }

        var type = Nullable.GetUnderlyingType(info.Type) ?? info.Type;
        return info.Kind switch
        {
            System.Text.Json.Serialization.Metadata.JsonTypeInfoKind.Object or System.Text.Json.Serialization.Metadata.JsonTypeInfoKind.Dictionary => "an object",
            System.Text.Json.Serialization.Metadata.JsonTypeInfoKind.Enumerable => "an array",
            _ when type == typeof(bool) => "true or false",
            _ when type.IsEnum => "one of the documented values",
            // A string that does not parse is refused with the same exception as a number sent instead: name the form, so that
            // "from": "garbage" is not told it "must be a string" (found by a README-only evaluation).
            _ when type == typeof(DateTimeOffset) || type == typeof(DateTime) => "a string with an ISO 8601 date and time (e.g. 2026-11-30T09:00:00Z or 2026-11-30T18:00:00+09:00)",
            _ when type == typeof(DateOnly) => "a string with an ISO 8601 date (yyyy-MM-dd, e.g. 2026-11-30)",
            _ when type == typeof(TimeOnly) => "a string with a time of day (hh:mm:ss, e.g. 09:30:00)",
            _ when type == typeof(TimeSpan) => "a string with a duration ([d.]hh:mm:ss, e.g. 01:30:00)",
            _ when type == typeof(Guid) => "a string with a GUID",
            _ when type == typeof(string) || type == typeof(char) || type == typeof(Uri) => "a string",
            _ when type.IsPrimitive || type == typeof(decimal) || type == typeof(Half) || type == typeof(Int128) || type == typeof(UInt128) => "a number",
            _ => null,
        };
    }
}
