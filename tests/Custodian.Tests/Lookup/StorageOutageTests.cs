using System.Net;
using System.Net.Http.Json;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;
using Npgsql;

namespace Custodian.Tests.Lookup;

/// <summary>
/// A PostgreSQL outage is a transient refusal (503 <c>storage-unavailable</c>), not a server error: the network between
/// the server and a real PostgreSQL is cut by a relay and restored.
/// </summary>
public sealed class StorageOutageTests
{
    [Fact]
    public async Task A_lookup_while_PostgreSQL_is_unreachable_is_a_transient_503_without_data_and_works_again_after()
    {
        await using var schema = await TestStorage.CreateSchemaAsync();
        var server = new NpgsqlConnectionStringBuilder(schema.ConnectionString);
        await using var proxy = await TcpProxy.StartAsync(server.Host!, server.Port);
        var relayed = new NpgsqlConnectionStringBuilder(schema.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 3 }.ConnectionString;
        await using var host = await CustodianTestHost.StartAsync(subscribers: 20, options: o => o.Storage = relayed, backend: TestBackend.Sqlite);
        var (client, _, _) = await host.ClerkAsync("C0001");
        var subscriber = host.Population[3];
        await GuardedLookupTests.SearchAsync(client, subscriber.Phone);
        var entries = (await host.LedgerAsync()).Count;

        proxy.Cut();
        host.Time.Advance(TimeSpan.FromSeconds(2)); // past the gateway's one-second caches, so the request reads the database
        using var refused = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone = subscriber.Phone });
        var body = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable, ErrorCodes.StorageUnavailable);
        Assert.True(body.GetProperty("transient").GetBoolean());
        Assert.Equal("The database is unavailable, so the request was refused. Try again shortly.", body.GetProperty("detail").GetString());
        Assert.DoesNotContain(subscriber.Phone[^4..], await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains(host.Logs.GetSnapshot(), r => r.Id.Id == 1007);
        Assert.DoesNotContain(host.Logs.GetSnapshot(), r => r.Id.Id == 1004); // not logged as an unexpected error

        proxy.Restore();
        await GuardedLookupTests.SearchAsync(client, subscriber.Phone);
        Assert.Equal(entries + 1, (await host.LedgerAsync()).Count); // the refused search recorded nothing; the retry one entry
    }

    [Theory]
    [InlineData("57P01", true)] // admin_shutdown: the server is stopping
    [InlineData("40001", true)] // serialization_failure (REPEATABLE READ / SERIALIZABLE): retry the transaction
    [InlineData("23505", false)] // unique_violation: a bug or a conflict, not an outage
    public void Transient_PostgreSQL_errors_are_storage_unavailable_and_others_are_not(string sqlState, bool transient)
    {
        var error = new PostgresException("message", "ERROR", "ERROR", sqlState);
        Assert.Equal(transient, Custodian.Hosting.ProblemMiddleware.IsTransientStorageFailure(error));
        Assert.Equal(transient, Custodian.Hosting.ProblemMiddleware.IsTransientStorageFailure(new InvalidOperationException("wrapped", error)));
    }
}
