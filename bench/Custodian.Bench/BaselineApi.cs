using Custodian.Identity;
using Custodian.Lookup;
using Custodian.Protection.Masking;
using Custodian.Protection.Subscribers;
using Custodian.Protection.Validation;

namespace Custodian.Bench;

/// <summary>
/// The unguarded baseline, which exists ONLY in this bench project: it reads and returns the same
/// row in the same response shape as the guarded endpoints, with no session, no policy, no monitor
/// wait and no ledger entry. It runs on the terminal listener, over the same mutual-TLS connections
/// (the clients present the same device certificates), but before the device gateway, so it does not
/// pay the gateway's certificate check either (see <see cref="UseBypass"/>).
/// </summary>
internal static class BaselineApi
{
    public const string Prefix = "/bench/baseline";

    private static readonly PathString PrefixPath = new(Prefix);

    /// <summary>Maps the baseline endpoints (the <c>mapExtra</c> hook of <c>CustodianServer.Build</c>).</summary>
    public static void Map(WebApplication app)
    {
        var group = app.MapGroup(Prefix);
        group.MapPost("/search", SearchAsync);
        group.MapGet("/subscribers/{id:long}", ViewAsync);
        group.MapPost("/subscribers/{id:long}/unmask", UnmaskAsync);
    }

    /// <summary>
    /// The <c>configurePipeline</c> hook: runs before the device gateway. Routing has already matched the
    /// endpoint (WebApplication adds routing first), so a baseline request is executed here and never
    /// reaches the gateway; every other request goes on unchanged.
    /// </summary>
    public static void UseBypass(WebApplication app) =>
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments(PrefixPath, StringComparison.Ordinal) && context.GetEndpoint()?.RequestDelegate is { } endpoint)
            {
                await endpoint(context);
                return;
            }

            await next(context);
        });

    private static async Task<IResult> SearchAsync(SearchRequest body, SubscriberVault vault, MaskingPolicy masking, CancellationToken cancellationToken)
    {
        var normalized = PhoneNumbers.NormalizeKorean(body.Phone);
        if (!normalized.IsSuccess)
        {
            return TypedResults.BadRequest();
        }

        var ids = await vault.FindByPhoneAsync(normalized.Value, cancellationToken);
        var hits = new List<SearchHit>(ids.Count);
        foreach (var id in ids)
        {
            var record = await vault.DecryptAsync(id, cancellationToken);
            if (record is null)
            {
                continue;
            }

            // Same shape as the guarded search; a fixed 16-character stand-in for the per-session handle.
            hits.Add(new SearchHit("baseline-handle0", masking.MaskName(record.Name), masking.MaskPhone(record.Phone), record.RatePlan, record.HomeStore));
        }

        return TypedResults.Ok(new SearchResponse(hits, 0));
    }

    private static async Task<IResult> ViewAsync(long id, string? purpose, SubscriberVault vault, MaskingPolicy masking, CancellationToken cancellationToken)
    {
        var record = await vault.DecryptAsync(new SubscriberId(id), cancellationToken);
        if (record is null)
        {
            return TypedResults.NotFound();
        }

        return TypedResults.Ok(new SubscriberView(
            "baseline-handle0",
            purpose ?? string.Empty,
            masking.MaskName(record.Name),
            masking.MaskRrn(record.Rrn),
            masking.MaskPhone(record.Phone),
            masking.MaskAddress(record.Address),
            record.RatePlan,
            record.ContractStart,
            record.ContractEnd,
            record.HomeStore,
            0));
    }

    private static async Task<IResult> UnmaskAsync(long id, UnmaskRequest body, SubscriberVault vault, CancellationToken cancellationToken)
    {
        var record = await vault.DecryptAsync(new SubscriberId(id), cancellationToken);
        if (record is null)
        {
            return TypedResults.NotFound();
        }

        var fields = body.Fields is { Count: > 0 } ? body.Fields.Distinct(StringComparer.Ordinal).ToArray() : ["rrn"];
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var field in fields)
        {
            values[field] = field switch
            {
                "rrn" => string.Concat(record.Rrn.AsSpan(0, 6), "-", record.Rrn.AsSpan(6)),
                "phone" => PhoneNumbers.FormatNational(record.Phone),
                "name" => record.Name,
                _ => record.Address,
            };
        }

        return TypedResults.Ok(new UnmaskedView("baseline-handle0", body.Purpose ?? string.Empty, values, 0));
    }
}
