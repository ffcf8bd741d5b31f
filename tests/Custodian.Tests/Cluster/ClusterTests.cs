using Xunit.Abstractions;

namespace Custodian.Tests.Cluster;

/// <summary>
/// Issue 8's multi-node test on loopback (<see cref="ClusterRun"/>, docs/events.md "A cluster on loopback"): a
/// three-node JetStream cluster (stream replicas 3), two real API nodes on one PostgreSQL schema, a scraper across both
/// nodes, kill -9 of the stream's leader and of one API node mid-scrape. Needs nats-server and
/// <c>CUSTODIAN_TEST_POSTGRES</c> (scripts/test.sh and .ci/run provide both).
/// </summary>
public sealed class ClusterTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_scraper_across_two_api_nodes_is_contained_and_killing_the_stream_leader_and_one_node_loses_nothing_answered()
    {
        await using var run = new ClusterRun(new ClusterRunOptions(), output);
        await run.RunAsync();
    }

    /// <summary>
    /// The long version: 12 clerks, traffic for 30 s after the kills, the kills later in the scrape. Run it with
    /// <c>dotnet test tests/Custodian.Tests --filter "FullyQualifiedName~Cluster.ClusterTests&amp;Category=Long"</c>.
    /// </summary>
    [Fact]
    [Trait("Category", "Long")]
    public async Task Long_run_with_more_clerks_and_traffic_after_the_kills()
    {
        await using var run = new ClusterRun(new ClusterRunOptions { Clerks = 12, Subscribers = 400, KillAfterScraped = 7, TrafficAfterKill = TimeSpan.FromSeconds(30), Seed = 9 }, output);
        await run.RunAsync();
    }
}
