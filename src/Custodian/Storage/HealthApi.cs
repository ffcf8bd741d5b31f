using Microsoft.AspNetCore.Http.HttpResults;

namespace Custodian.Storage;

/// <summary>
/// <c>GET /health</c> on both listeners (no device certificate needed): the process answers, and its storage dependency
/// is checked with one <c>SELECT 1</c> (docs/storage.md, "Health").
/// </summary>
public static class HealthApi
{
    /// <summary>
    /// Maps <c>/health</c>: 200 <c>{"status":"ok","storage":{"backend":"sqlite","status":"ok"}}</c>, or 503 with
    /// <c>"status":"unavailable"</c> (overall and for storage) when the database cannot be reached. With the JetStream
    /// event log it adds <c>"events":{"backend":"jetstream","status":…}</c>: <c>ok</c>; <c>unavailable</c> when NATS is
    /// down or the stream does not answer within the ack timeout; <c>diverged</c> when the projection found the ledger
    /// tables diverging from the stream (log event 6018) and every append is refused until a restart. Either of the last
    /// two makes the answer 503 with <c>"status":"unavailable"</c> overall. With <c>--monitor workers</c> it adds
    /// <c>"monitor":{"backend":"workers","status":…}</c>: <c>ok</c> when at least one monitor worker is live in the
    /// membership bucket (<see cref="Events.JetStreamAccessLedger.CountLiveMonitorWorkersAsync"/>), <c>unavailable</c>
    /// otherwise (reads would be refused <c>monitor-behind</c>), which makes the answer 503 (docs/events.md, "Monitor
    /// workers"). The body names the backend only, never its address or credentials.
    /// </summary>
    /// <param name="app">The application.</param>
    /// <returns>The same application.</returns>
    public static WebApplication MapHealthApi(this WebApplication app)
    {
        app.MapGet("/health", async Task<Results<Ok<HealthReport>, JsonHttpResult<HealthReport>>> (CustodianDatabase db, HttpContext context) =>
        {
            var ok = true;
            try
            {
                await db.CheckAvailableAsync(context.RequestAborted);
            }
            catch (StorageUnavailableException)
            {
                ok = false;
            }

            var storage = ok;

            // The JetStream event log, when configured (docs/events.md): NATS connected and the stream answering, and the
            // projection not latched by a divergence (every append refused until a restart: "diverged", whatever NATS says).
            DependencyHealth? events = null;
            if (context.RequestServices.GetService<Events.EventsSettings>() is { IsJetStream: true })
            {
                var ledger = context.RequestServices.GetRequiredService<Events.JetStreamAccessLedger>();
                var eventsStatus = ledger.IsDiverged ? "diverged" : await ledger.IsAvailableAsync(context.RequestAborted) ? "ok" : "unavailable";
                events = new DependencyHealth("jetstream", eventsStatus);
                ok &= eventsStatus == "ok";
            }

            // The monitor workers, with --monitor workers: reads wait for them, so none live means reads are refused.
            DependencyHealth? monitor = null;
            if (context.RequestServices.GetService<Events.EventsSettings>() is { IsJetStream: true, JetStream.Monitor: "workers" })
            {
                var live = await context.RequestServices.GetRequiredService<Events.JetStreamAccessLedger>().CountLiveMonitorWorkersAsync(context.RequestAborted);
                monitor = new DependencyHealth("workers", live > 0 ? "ok" : "unavailable");
                ok &= live > 0;
            }

            var storageStatus = storage ? "ok" : "unavailable";
            var status = ok ? "ok" : "unavailable";
            var body = new HealthReport(status, new DependencyHealth(db.Dialect.Backend, storageStatus), events, monitor);
            return ok ? TypedResults.Ok(body) : TypedResults.Json(body, statusCode: StatusCodes.Status503ServiceUnavailable);
        }).WithName("Health");
        return app;
    }

    /// <summary>The health answer.</summary>
    /// <param name="Status"><c>ok</c> or <c>unavailable</c>.</param>
    /// <param name="Storage">The storage dependency.</param>
    /// <param name="Events">The JetStream event log when configured (<c>backend</c> <c>jetstream</c>); omitted in the embedded default.</param>
    /// <param name="Monitor">The monitor workers with <c>--monitor workers</c> (<c>backend</c> <c>workers</c>, <c>ok</c> when at least one is live); omitted otherwise.</param>
    public sealed record HealthReport(
        string Status,
        DependencyHealth Storage,
        [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] DependencyHealth? Events = null,
        [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] DependencyHealth? Monitor = null);

    /// <summary>One dependency's health.</summary>
    /// <param name="Backend">E.g. <c>sqlite</c>, <c>postgres</c>.</param>
    /// <param name="Status"><c>ok</c> or <c>unavailable</c>; for the JetStream event log also <c>diverged</c> (the projection latched, docs/events.md).</param>
    public sealed record DependencyHealth(string Backend, string Status);
}
