using System.Globalization;
using Custodian.Hosting;
using Custodian.Ledger;
using Custodian.Ledger.Checkpoints;
using Custodian.Problems;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging;

namespace Custodian.Transparency;

/// <summary>An RFC 9162 §2.1.4 consistency proof.</summary>
/// <param name="From">The older tree size.</param>
/// <param name="To">The newer tree size.</param>
/// <param name="Proof">The proof nodes, standard base64 of 32 bytes each.</param>
public sealed record ConsistencyProofResponse(long From, long To, IReadOnlyList<string> Proof);

/// <summary>An RFC 9162 §2.1.3 inclusion proof.</summary>
/// <param name="Index">The leaf index (entry sequence).</param>
/// <param name="Size">The tree size.</param>
/// <param name="Proof">The audit path, standard base64 of 32 bytes each.</param>
public sealed record InclusionProofResponse(long Index, long Size, IReadOnlyList<string> Proof);

/// <summary>A witness's cosignature of a checkpoint.</summary>
/// <param name="Checkpoint">The checkpoint body (origin, size, root lines, each ending in a newline) exactly as the server signed it.</param>
/// <param name="Cosignature">The cosignature/v1 note signature line, <c>— &lt;witness&gt; &lt;base64&gt;</c>.</param>
public sealed record CosignatureSubmission(string? Checkpoint, string? Cosignature);

/// <summary>Answer to an accepted cosignature.</summary>
/// <param name="Witness">The witness key name.</param>
/// <param name="Size">The cosigned tree size.</param>
/// <param name="Timestamp">The cosignature's time, POSIX seconds.</param>
public sealed record CosignatureAccepted(string Witness, long Size, long Timestamp);

/// <summary>
/// The public transparency API under <c>/ledger/v1</c> on the portal listener: the latest checkpoint
/// (a C2SP signed note with every cosignature held), consistency and inclusion proofs, the CA
/// certificate for pinning, and cosignature submission by configured witnesses. Responses hold
/// sizes, hashes and signatures only — no entry contents, no personal data. (The subscriber's receipt
/// endpoints are in <see cref="Portal.SubscriberPortalApi"/>.)
/// </summary>
public static class LedgerApi
{
    /// <summary>Maps the endpoints.</summary>
    /// <param name="app">The route builder.</param>
    /// <returns>The route builder.</returns>
    public static IEndpointRouteBuilder MapLedgerApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/ledger/v1").WithTags("Ledger transparency");
        api.MapGet("/checkpoint", CheckpointAsync).WithName("LedgerCheckpoint").WithSummary("The latest signed checkpoint (C2SP signed note, text/plain) with all cosignatures the server holds.");
        api.MapGet("/key", (LedgerCheckpoints checkpoints) => TypedResults.Text(checkpoints.LogKey + "\n", "text/plain; charset=utf-8")).WithName("LedgerKey").WithSummary("The log's verifier key (compare it with the one published out of band).");
        api.MapGet("/ca", (Access.Certificates.CertificateAuthority ca) => TypedResults.Text(ca.CertificatePem, "application/x-pem-file")).WithName("LedgerCa").WithSummary("Custodian's CA certificate, for pinning with --ca-sha256.");
        api.MapGet("/proof/consistency", ConsistencyAsync).WithName("LedgerConsistencyProof").WithSummary("RFC 9162 consistency proof between two tree sizes.");
        api.MapGet("/proof/inclusion", InclusionAsync).WithName("LedgerInclusionProof").WithSummary("RFC 9162 inclusion proof of a leaf index in a tree size.");
        api.MapPost("/cosignatures", CosignAsync).WithName("LedgerCosign").WithSummary("A configured witness submits its cosignature/v1 of a checkpoint.");
        return app;
    }

    private static async Task<Results<ContentHttpResult, ProblemHttpResult>> CheckpointAsync(LedgerCheckpoints checkpoints, HttpContext context)
    {
        var note = await checkpoints.GetLatestNoteAsync(0, context.RequestAborted);
        return note is null
            ? new CustodianError(ErrorCodes.NotFound, 404, "No checkpoint has been signed yet.").ToProblem()
            : TypedResults.Text(note, "text/plain; charset=utf-8");
    }

    private static async Task<Results<Ok<ConsistencyProofResponse>, ProblemHttpResult>> ConsistencyAsync(HttpContext context, ILedgerProofs proofs)
    {
        if (!Size(context, "from", 1, out var from, out var problem) || !Size(context, "to", 1, out var to, out problem))
        {
            return problem!.ToProblem();
        }

        var head = await proofs.GetTreeHeadAsync(context.RequestAborted);
        if (to > head.Size)
        {
            return ProblemResults.Validation("to", "must not exceed the current tree size").ToProblem();
        }

        if (from > to)
        {
            return ProblemResults.Validation("from", "must not exceed 'to'").ToProblem();
        }

        var proof = await proofs.GetConsistencyProofAsync(from, to, context.RequestAborted);
        return TypedResults.Ok(new ConsistencyProofResponse(from, to, proof.Select(Convert.ToBase64String).ToList()));
    }

    private static async Task<Results<Ok<InclusionProofResponse>, ProblemHttpResult>> InclusionAsync(HttpContext context, ILedgerProofs proofs)
    {
        if (!Size(context, "index", 0, out var index, out var problem) || !Size(context, "size", 1, out var size, out problem))
        {
            return problem!.ToProblem();
        }

        var head = await proofs.GetTreeHeadAsync(context.RequestAborted);
        if (size > head.Size)
        {
            return ProblemResults.Validation("size", "must not exceed the current tree size").ToProblem();
        }

        if (index >= size)
        {
            return ProblemResults.Validation("index", "must be less than 'size'").ToProblem();
        }

        var proof = await proofs.GetInclusionProofAsync(index, size, context.RequestAborted);
        return TypedResults.Ok(new InclusionProofResponse(index, size, proof.Select(Convert.ToBase64String).ToList()));
    }

    private static async Task<Results<Ok<CosignatureAccepted>, ProblemHttpResult>> CosignAsync(CosignatureSubmission body, LedgerCheckpoints checkpoints, HttpContext context, ILogger<CheckpointPublisher> logger)
    {
        var accepted = await checkpoints.AcceptCosignatureAsync(body.Checkpoint, body.Cosignature, context.RequestAborted);
        if (!accepted.IsSuccess)
        {
            CheckpointLog.CosignatureRefused(logger, accepted.Error!.Code);
            return accepted.Error.ToProblem();
        }

        var size = Checkpoint.Parse(body.Checkpoint).Value.Size;
        CheckpointLog.CosignatureAccepted(logger, accepted.Value.Witness, size);
        return TypedResults.Ok(new CosignatureAccepted(accepted.Value.Witness, size, accepted.Value.Timestamp));
    }

    private static bool Size(HttpContext context, string name, long min, out long value, out CustodianError? problem)
    {
        problem = null;
        var values = context.Request.Query[name];
        if (values.Count != 1 || !TryParseNumber(values[0], out value) || value < min)
        {
            value = 0;
            problem = ProblemResults.Validation(name, $"is required once, as a decimal integer of at least {min}");
            return false;
        }

        return true;
    }

    /// <summary>Parses a plain non-negative decimal integer (no sign, no spaces, at most 19 digits).</summary>
    internal static bool TryParseNumber(string? text, out long value)
    {
        value = 0;
        return !string.IsNullOrEmpty(text) && text.Length <= 19 && text.All(char.IsAsciiDigit)
            && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}

/// <summary>A receipt as served by the portal: the receipt document's members (docs/ledger-format.md, "Receipts").</summary>
/// <param name="receipt">The receipt.</param>
public sealed class ReceiptDocument(LedgerReceipt receipt)
{
    /// <summary>Always <c>custodian-receipt/v1</c>.</summary>
    public string Format => LedgerReceipt.FormatName;

    /// <summary>The entry's sequence (leaf index).</summary>
    public long Sequence => receipt.Sequence;

    /// <summary>The canonical payload in base64; absent (null) in the withheld form the portal serves.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Entry => receipt.Entry is null ? null : Convert.ToBase64String(receipt.Entry);

    /// <summary>The leaf hash in base64.</summary>
    public string LeafHash => Convert.ToBase64String(receipt.LeafHash);

    /// <summary>The checkpoint's tree size.</summary>
    public long TreeSize => receipt.TreeSize;

    /// <summary>The audit path in base64.</summary>
    public IReadOnlyList<string> InclusionProof => receipt.InclusionProof.Select(Convert.ToBase64String).ToList();

    /// <summary>The checkpoint note with its cosignatures.</summary>
    public string Checkpoint => receipt.Checkpoint;
}
