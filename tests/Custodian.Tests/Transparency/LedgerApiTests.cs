using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Custodian.Ledger;
using Custodian.Ledger.Checkpoints;
using Custodian.Lookup;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;
using Custodian.Transparency;
using Microsoft.Extensions.DependencyInjection;

namespace Custodian.Tests.Transparency;

/// <summary>The public transparency API on the real pipeline: checkpoints, proofs, cosignatures, portal receipts.</summary>
public sealed class LedgerApiTests
{
    [Fact]
    public async Task Checkpoint_is_a_signed_note_on_the_portal_listener_only_and_proofs_verify_against_it()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var checkpoints = host.Get<LedgerCheckpoints>();
        await AppendAsync(host, 6);
        var first = (await checkpoints.SignLatestAsync())!;
        await AppendAsync(host, 5);
        var second = (await checkpoints.SignLatestAsync())!;
        Assert.True(second.Size > first.Size);
        Assert.True(File.Exists(LogKeyFile.PathFor(host.Directory.FullName)));
        Assert.False(OperatingSystem.IsWindows(), "Custodian runs on Linux hosts.");
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(LogKeyFile.PathFor(host.Directory.FullName)));

            // The database is created owner-only before SQLite opens it, so the WAL and shared-memory
            // files it creates on first start (kept while the server runs) are owner-only too. On
            // PostgreSQL the data directory holds no database file at all.
            foreach (var suffix in new[] { "", "-wal", "-shm" })
            {
                var file = Path.Combine(host.Directory.FullName, "custodian.db" + suffix);
                Assert.Equal(host.Backend == TestBackend.Sqlite, File.Exists(file));
                if (host.Backend == TestBackend.Postgres)
                {
                    continue;
                }

                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            }
        }

        using var portal = host.PortalClient();
        using var response = await portal.GetAsync("/ledger/v1/checkpoint");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var opened = CheckpointVerifier.Open(await response.Content.ReadAsStringAsync(), checkpoints.LogKey, [], 0);
        Assert.True(opened.IsSuccess, opened.Error?.Message);
        Assert.Equal(second.Size, opened.Value.Checkpoint.Size);
        Assert.Equal(second.Root, opened.Value.Checkpoint.Root);
        Assert.Equal(checkpoints.LogKey.ToString() + "\n", await portal.GetStringAsync("/ledger/v1/key"));

        using var terminal = host.TerminalClient(null);
        using var wrongListener = await terminal.GetAsync("/ledger/v1/checkpoint");
        await ProblemAssert.IsProblemAsync(wrongListener, HttpStatusCode.NotFound, ErrorCodes.NotFound);

        var consistency = (await portal.GetFromJsonAsync<ConsistencyProofResponse>($"/ledger/v1/proof/consistency?from={first.Size}&to={second.Size}"))!;
        Assert.True(MerkleTree.VerifyConsistency(first.Size, second.Size, first.Root, second.Root, consistency.Proof.Select(Convert.FromBase64String).ToList()));

        var entries = await host.LedgerAsync();
        for (var i = 0L; i < second.Size; i += 3)
        {
            var inclusion = (await portal.GetFromJsonAsync<InclusionProofResponse>($"/ledger/v1/proof/inclusion?index={i}&size={second.Size}"))!;
            Assert.True(MerkleTree.VerifyInclusion(i, second.Size, entries[(int)i].LeafHash.Span, inclusion.Proof.Select(Convert.FromBase64String).ToList(), second.Root));
        }

        foreach (var query in new[]
        {
            "consistency", "consistency?from=1", "consistency?from=abc&to=2", "consistency?from=-1&to=2", "consistency?from=0&to=2",
            $"consistency?from=3&to=2", $"consistency?from=1&to={second.Size + 1}", "consistency?from=1&from=2&to=3",
            "inclusion?index=0", $"inclusion?index={second.Size}&size={second.Size}", $"inclusion?index=0&size={second.Size + 1}", "inclusion?index=1e3&size=2000",
        })
        {
            using var bad = await portal.GetAsync("/ledger/v1/proof/" + query);
            await ProblemAssert.IsProblemAsync(bad, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
        }
    }

    [Fact]
    public async Task Cosignatures_are_accepted_only_from_configured_witnesses_with_valid_signatures()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10, services: s => s.AddSingleton(new CheckpointOptions { MaxFutureSkewSeconds = 86_400 }));
        var checkpoints = host.Get<LedgerCheckpoints>();
        await AppendAsync(host, 3);
        var stored = (await checkpoints.SignLatestAsync())!;
        var body = Checkpoint.Parse(stored.Note[..(stored.Note.IndexOf("\n\n", StringComparison.Ordinal) + 1)]).Value.Body;
        var witness = NoteSigningKey.Generate("witness.example/w1", NoteAlgorithms.CosignatureV1);
        var stranger = NoteSigningKey.Generate("witness.example/w2", NoteAlgorithms.CosignatureV1);
        await checkpoints.Store.AddWitnessAsync(witness.Verifier, host.Clock.GetUtcNow());
        var now = host.Clock.GetUtcNow().ToUnixTimeSeconds();
        using var portal = host.PortalClient();

        async Task<HttpResponseMessage> PostAsync(string? checkpoint, string? line) =>
            await portal.PostAsJsonAsync("/ledger/v1/cosignatures", new CosignatureSubmission(checkpoint, line));

        await ProblemAssert.IsProblemAsync(await PostAsync(body, CosignatureV1.Sign(stranger, body, now).Line), HttpStatusCode.Forbidden, CheckpointErrors.WitnessUnknown);
        var otherBody = body.Replace($"\n{stored.Size}\n", $"\n{stored.Size + 100}\n", StringComparison.Ordinal);
        await ProblemAssert.IsProblemAsync(await PostAsync(otherBody, CosignatureV1.Sign(witness, otherBody, now).Line), HttpStatusCode.NotFound, CheckpointErrors.CheckpointUnknown);
        var forged = CosignatureV1.Sign(witness, otherBody, now);
        await ProblemAssert.IsProblemAsync(await PostAsync(body, forged.Line), HttpStatusCode.BadRequest, CheckpointErrors.CosignatureInvalid);
        await ProblemAssert.IsProblemAsync(await PostAsync(body, "- witness.example/w1 AAAA"), HttpStatusCode.BadRequest, CheckpointErrors.NoteMalformed);
        await ProblemAssert.IsProblemAsync(await PostAsync("not a checkpoint", CosignatureV1.Sign(witness, body, now).Line), HttpStatusCode.BadRequest, CheckpointErrors.CheckpointMalformed);
        await ProblemAssert.IsProblemAsync(await PostAsync(body, CosignatureV1.Sign(witness, body, now + 200_000).Line), HttpStatusCode.BadRequest, CheckpointErrors.CosignatureInvalid);
        Assert.Null(await checkpoints.GetLatestNoteAsync(1));

        using var accepted = await PostAsync(body, CosignatureV1.Sign(witness, body, now).Line);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        var note = await portal.GetStringAsync("/ledger/v1/checkpoint");
        var opened = CheckpointVerifier.Open(note, checkpoints.LogKey, [witness.Verifier], 1);
        Assert.True(opened.IsSuccess, opened.Error?.Message);
        Assert.Equal([new VerifiedCosignature("witness.example/w1", now)], opened.Value.Cosignatures);
    }

    [Fact]
    public async Task Portal_receipt_covers_only_the_subscribers_own_entries_and_withholds_the_payload()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var a = host.Population[1];
        var b = host.Population[2];
        var aId = await GuardedLookupTests.IdOf(host, a.Phone);
        var bId = await GuardedLookupTests.IdOf(host, b.Phone);
        // The publisher signs once at start, asynchronously: let that checkpoint land first, or on a loaded machine it can
        // come after the appends below and cover them (the next one is due only after 10 s on the test's clock).
        var checkpoints = host.Get<LedgerCheckpoints>();
        for (var wait = 0; await checkpoints.Store.GetLatestAsync(0) is null; wait++)
        {
            Assert.True(wait < 300, "the start-up checkpoint was not signed within 30 s");
            await Task.Delay(100);
        }

        var ledger = host.Get<IAccessLedger>();
        var own = await ledger.AppendAsync(Entry(aId));
        var other = await ledger.AppendAsync(Entry(bId));
        using var portal = await PortalTests.SignInAsync(host, a.Phone);

        using var pending = await portal.GetAsync($"/portal/api/v1/history/{own.Sequence}/receipt");
        await ProblemAssert.IsProblemAsync(pending, HttpStatusCode.ServiceUnavailable, CheckpointErrors.ReceiptPending);
        Assert.NotNull(pending.Headers.RetryAfter);

        await host.Get<LedgerCheckpoints>().SignLatestAsync();
        using var response = await portal.GetAsync($"/portal/api/v1/history/{own.Sequence}/receipt");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("\"entry\"", json, StringComparison.Ordinal);
        var receipt = LedgerReceipt.Parse(json);
        Assert.True(receipt.IsSuccess, receipt.Error?.Message);
        Assert.Null(receipt.Value.Entry);
        Assert.Equal(own.LeafHash.ToArray(), receipt.Value.LeafHash);
        Assert.True(receipt.Value.Verify(host.Get<LedgerCheckpoints>().LogKey, [], 0).IsSuccess);

        using var foreign = await portal.GetAsync($"/portal/api/v1/history/{other.Sequence}/receipt");
        await ProblemAssert.IsProblemAsync(foreign, HttpStatusCode.NotFound, ErrorCodes.NotFound);
        using var missing = await portal.GetAsync("/portal/api/v1/history/999999/receipt");
        await ProblemAssert.IsProblemAsync(missing, HttpStatusCode.NotFound, ErrorCodes.NotFound);
        using var bad = await portal.GetAsync("/portal/api/v1/history/-1/receipt");
        await ProblemAssert.IsProblemAsync(bad, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
        using var anonymous = host.PortalClient();
        using var noSession = await anonymous.GetAsync($"/portal/api/v1/history/{own.Sequence}/receipt");
        Assert.Equal(HttpStatusCode.Unauthorized, noSession.StatusCode);
    }

    [Fact]
    public async Task Publisher_signs_when_the_ledger_grew_on_the_injected_clock()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var store = host.Get<LedgerCheckpoints>().Store;
        await AppendAsync(host, 2);
        var size = await host.Get<IAccessLedgerReader>().GetSizeAsync();
        for (var i = 0; i < 200 && (await store.GetLatestAsync())?.Size != size; i++)
        {
            host.Time.Advance(TimeSpan.FromSeconds(host.Get<CheckpointOptions>().IntervalSeconds));
            await Task.Delay(10);
        }

        Assert.Equal(size, (await store.GetLatestAsync())!.Size);
    }

    internal static async Task AppendAsync(CustodianTestHost host, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await host.Get<IAccessLedger>().AppendAsync(Entry(new Identity.SubscriberId(1_000 + i)));
        }
    }

    private static AccessEntry Entry(Identity.SubscriberId subject) => new()
    {
        Time = TimeProvider.System.GetUtcNow(),
        Task = AccessTask.View,
        Outcome = AccessOutcome.Allowed,
        Account = "C0001",
        Role = Identity.StaffRole.Clerk,
        Store = "S001",
        Purpose = "plan-change",
        Subjects = [subject],
    };
}
