using System.Net;
using System.Net.Http.Json;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Monitoring;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Events;

/// <summary>
/// Two API nodes (two real servers) on one PostgreSQL schema and one nats-server (docs/events.md, "Several API nodes"):
/// their guarded reads land in one order, the stream's, which the ledger tables mirror; the tree verifies.
/// </summary>
public sealed class TwoNodeTests
{
    [Fact]
    public async Task Two_api_nodes_on_one_postgres_and_one_nats_append_in_one_order_that_verifies()
    {
        await using var nats = await NatsServer.StartNewAsync();
        await using var schema = await TestStorage.CreateSchemaAsync();
        await using var nodeA = await CustodianTestHost.StartAsync(subscribers: 20, backend: TestBackend.Sqlite, options: o =>
        {
            o.Storage = schema.ConnectionString;
            o.Events = nats.Url;
        });

        // The second node shares the first one's keys and CA (a deployment copies the data directory's key material).
        var shared = Directory.CreateTempSubdirectory("custodian-node-b-");
        try
        {
            CopyDirectory(nodeA.Directory.FullName, shared.FullName);
            await using var nodeB = await CustodianTestHost.StartAsync(subscribers: 0, backend: TestBackend.Sqlite, options: o =>
            {
                o.DataDirectory = shared.FullName;
                o.Storage = schema.ConnectionString;
                o.Events = nats.Url;
            });
            var (clientA, _, _) = await nodeA.ClerkAsync("C0001");
            var (clientB, _, _) = await nodeB.ClerkAsync("C0002");
            var phones = nodeA.Population.Take(8).Select(p => p.Phone).ToList();

            // Both nodes read at the same time.
            var reads = await Task.WhenAll(phones.Select(p => SearchAsync(clientA, p)).Concat(phones.Select(p => SearchAsync(clientB, p))));
            Assert.Equal(reads.Length, reads.Distinct().Count()); // one sequence per read, across nodes

            // One order: the tables mirror the stream one to one, gap-free; each read's entry is its node's clerk's.
            // (The monitors may still be appending their own entries: read until the stream and the tables hold the same count.)
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var stream = await JetStreamLedgerTests.ReadStreamAsync(nats);
            var ledger = await nodeA.LedgerAsync();
            while (stream.Count != ledger.Count && watch.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(100);
                stream = await JetStreamLedgerTests.ReadStreamAsync(nats);
                ledger = await nodeA.LedgerAsync();
            }

            Assert.True(stream.Count == ledger.Count, $"stream {stream.Count}, ledger {ledger.Count}: " + string.Join(",", ledger.Select(e => e.Entry.Task)));
            Assert.Equal(Enumerable.Range(0, ledger.Count).Select(i => (long)i), ledger.Select(e => e.Sequence));
            Assert.Equal(stream.Select(m => Convert.ToHexString(MerkleTree.HashLeaf(m.Payload))), ledger.Select(e => Convert.ToHexString(e.LeafHash.Span)));
            Assert.Equal(stream.Count, stream.Select(m => m.MessageId).Distinct().Count());
            Assert.Equal(8, reads.Take(8).Count(s => ledger[(int)s].Entry is { Task: AccessTask.Search, Account: "C0001" }));
            Assert.Equal(8, reads.Skip(8).Count(s => ledger[(int)s].Entry is { Task: AccessTask.Search, Account: "C0002" }));

            // Verification: the stored root is the root of every payload's leaf hash, and each read's inclusion proof
            // verifies against it from either node.
            // (The monitors may have appended more since: the head covers at least the entries read above, and its
            // root is the root of the stream's first head.Size messages.)
            var head = await nodeB.Get<ILedgerProofs>().GetTreeHeadAsync();
            Assert.True(head.Size >= ledger.Count, $"head {head.Size}, ledger {ledger.Count}");
            stream = await JetStreamLedgerTests.ReadStreamAsync(nats);
            Assert.True(stream.Count >= head.Size, $"stream {stream.Count}, head {head.Size}");
            Assert.Equal(MerkleTree.ComputeRoot(stream.Take((int)head.Size).Select(m => MerkleTree.HashLeaf(m.Payload))), head.Root.ToArray());
            foreach (var sequence in reads)
            {
                var proof = await nodeA.Get<ILedgerProofs>().GetInclusionProofAsync(sequence, head.Size);
                Assert.Equal(proof, await nodeB.Get<ILedgerProofs>().GetInclusionProofAsync(sequence, head.Size));
                Assert.True(MerkleTree.VerifyInclusion(sequence, head.Size, ledger[(int)sequence].LeafHash.Span, proof, head.Root.Span));
            }

            // Each node's monitor saw the whole order, the other node's reads included.
            var last = ledger.Count - 1;
            Assert.True(await nodeA.Get<AccessMonitor>().WaitForProcessedAsync(last, TimeSpan.FromSeconds(30)));
            Assert.True(await nodeB.Get<AccessMonitor>().WaitForProcessedAsync(last, TimeSpan.FromSeconds(30)));
        }
        finally
        {
            try
            {
                shared.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task<long> SearchAsync(HttpClient client, string phone)
    {
        using var response = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<SearchResponse>())!.LedgerSequence;
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var directory in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, directory)));
        }

        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            if (!file.EndsWith(".lock", StringComparison.Ordinal))
            {
                File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
            }
        }
    }
}
