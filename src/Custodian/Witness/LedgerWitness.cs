using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Custodian.Client;
using Custodian.Ledger;
using Custodian.Ledger.Checkpoints;
using Custodian.Transparency;

namespace Custodian.Witness;

/// <summary>What one witness round did.</summary>
public enum WitnessOutcomeKind
{
    /// <summary>A new checkpoint was verified, cosigned and submitted.</summary>
    Cosigned,

    /// <summary>The log has not grown since the last cosignature.</summary>
    UpToDate,

    /// <summary>The log presented a checkpoint the witness refuses (bad signature, smaller size, inconsistent history).</summary>
    Refused,

    /// <summary>The round could not complete (network, server error); it is retried.</summary>
    Failed,
}

/// <summary>The result of one witness round.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Message">One line for the operator.</param>
/// <param name="Size">The tree size concerned, when known.</param>
public sealed record WitnessOutcome(WitnessOutcomeKind Kind, string Message, long? Size = null);

/// <summary>
/// The witness's persisted state (<c>state.json</c>): the largest consistent checkpoint it has cosigned. Before the first
/// cosignature the file holds the initial state written by <c>witness init</c> (every field null, size 0), which
/// <see cref="LedgerWitness.ReadState"/> reads as null; a missing file is a lost state (<see cref="LedgerWitness.StateExists"/>).
/// </summary>
/// <param name="LogKey">The log's verifier key the state belongs to.</param>
/// <param name="Size">The cosigned tree size.</param>
/// <param name="Root">The cosigned root, standard base64.</param>
/// <param name="Checkpoint">The log-signed checkpoint note as received (evidence).</param>
/// <param name="Cosignature">The witness's cosignature line for it.</param>
public sealed record WitnessState(string LogKey, long Size, string Root, string Checkpoint, string Cosignature);

/// <summary>
/// A witness of a Custodian ledger (docs/ledger-format.md, "Witness protocol"): a separate process with
/// its own cosigner key and state directory. Each round it fetches the log's latest checkpoint,
/// verifies the log's signature, verifies an RFC 9162 consistency proof from the size it last cosigned,
/// persists the new state atomically, cosigns (C2SP cosignature/v1) and submits the cosignature.
/// A smaller size, a different root at the same size or a failed consistency proof is refused and the
/// evidence (both checkpoints) is kept in the state directory. Not thread-safe: one round at a time.
/// </summary>
public sealed class LedgerWitness
{
    /// <summary>File name of the witness key in the state directory.</summary>
    public const string KeyFileName = "witness.key";

    /// <summary>File name of the state in the state directory.</summary>
    public const string StateFileName = "state.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private readonly NoteSigningKey _key;
    private readonly NoteVerifierKey _logKey;
    private readonly string _directory;
    private readonly HttpClient _client;
    private readonly TimeProvider _time;
    private bool _acceptFirstCheckpoint;

    /// <summary>Creates a witness.</summary>
    /// <param name="key">The witness's cosigner key (algorithm 0x04).</param>
    /// <param name="logKey">The log's verifier key (algorithm 0x01).</param>
    /// <param name="directory">The state directory.</param>
    /// <param name="client">A client whose base address is the server's portal URL.</param>
    /// <param name="time">The clock (cosignature timestamps, evidence names).</param>
    /// <param name="acceptFirstCheckpoint">
    /// Accept the first checkpoint seen although the state file is missing (the operator's explicit re-bootstrap,
    /// <c>witness run --accept-first-checkpoint</c>); good for the first state written only. Default false: a missing
    /// state file stops every round (<see cref="RunOnceAsync"/>).
    /// </param>
    public LedgerWitness(NoteSigningKey key, NoteVerifierKey logKey, string directory, HttpClient client, TimeProvider time, bool acceptFirstCheckpoint = false)
    {
        _acceptFirstCheckpoint = acceptFirstCheckpoint;
        _key = key;
        _logKey = logKey;
        _directory = directory;
        _client = client;
        _time = time;
    }

    /// <summary>
    /// Whether the state file exists. <c>witness init</c> writes it with the key, so a key without it means the state
    /// was lost (deleted, or the directory restored without it): trusting the next checkpoint seen would let a
    /// rolled-back or forked log pass unnoticed, so <see cref="RunOnceAsync"/> refuses unless told to accept it.
    /// </summary>
    /// <param name="directory">The state directory.</param>
    /// <returns>True when <c>state.json</c> is there (initial or cosigned).</returns>
    public static bool StateExists(string directory) => File.Exists(Path.Combine(directory, StateFileName));

    /// <summary>
    /// Writes the initial state (nothing cosigned yet: every field null, size 0) as <c>witness init</c> does, atomically
    /// and 0600 like the key (<see cref="LogKeyFile.WriteSecret"/>).
    /// </summary>
    /// <param name="directory">The state directory; must exist.</param>
    /// <exception cref="IOException">When the file cannot be written.</exception>
    public static void WriteInitialState(string directory) =>
        LogKeyFile.WriteSecret(Path.Combine(directory, StateFileName), "{\n  \"logKey\": null,\n  \"size\": 0,\n  \"root\": null,\n  \"checkpoint\": null,\n  \"cosignature\": null\n}\n");

    /// <summary>Reads the state, or null when the witness has not cosigned yet (no state file, or the initial state).</summary>
    /// <param name="directory">The state directory.</param>
    /// <exception cref="InvalidOperationException">When the state file is unreadable, or only partly filled in.</exception>
    public static WitnessState? ReadState(string directory)
    {
        var path = Path.Combine(directory, StateFileName);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            var state = JsonSerializer.Deserialize<WitnessState>(File.ReadAllText(path), Json) ?? throw new InvalidOperationException($"The witness state {path} is empty.");
            if (state is { LogKey: null, Root: null, Checkpoint: null, Cosignature: null, Size: 0 })
            {
                return null; // the initial state: nothing cosigned yet
            }

            return state.LogKey is null || state.Root is null || state.Checkpoint is null || state.Cosignature is null || state.Size < 0
                ? throw new InvalidOperationException($"The witness state {path} is incomplete; restore it from a backup.")
                : state;
        }
        catch (JsonException)
        {
            throw new InvalidOperationException($"The witness state {path} is not valid JSON; restore it from a backup.");
        }
    }

    /// <summary>Runs one round.</summary>
    /// <param name="cancellationToken">Cancels the round.</param>
    /// <returns>The outcome.</returns>
    /// <exception cref="InvalidOperationException">
    /// When the state file is missing and the witness was not told to accept the first checkpoint (a lost state: see
    /// <see cref="StateExists"/>), when the state is unreadable, or when it belongs to another log key.
    /// </exception>
    public async Task<WitnessOutcome> RunOnceAsync(CancellationToken cancellationToken)
    {
        if (!_acceptFirstCheckpoint && !StateExists(_directory))
        {
            throw new InvalidOperationException(LostStateMessage(_directory));
        }

        var state = ReadState(_directory);
        if (state is not null && !string.Equals(state.LogKey, _logKey.ToString(), StringComparison.Ordinal))
        {
            throw new InvalidOperationException("The state directory belongs to another log key; use a separate --state per log.");
        }

        string text;
        try
        {
            using var response = await _client.GetAsync(new Uri("/ledger/v1/checkpoint", UriKind.Relative), cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return new WitnessOutcome(WitnessOutcomeKind.Failed, $"the server answered {(int)response.StatusCode} for the checkpoint");
            }

            text = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            return new WitnessOutcome(
                WitnessOutcomeKind.Failed,
                ex.InnerException is System.Security.Authentication.AuthenticationException tls
                    ? "cannot fetch the checkpoint: TLS failed (" + tls.Message + "); pin Custodian's CA with --ca-sha256"
                    : "cannot fetch the checkpoint: " + ex.Message);
        }

        var opened = CheckpointVerifier.Open(text, _logKey, [], 0);
        if (!opened.IsSuccess)
        {
            // Not evidence against the log: anyone between us and the server can present an unsigned note,
            // and a wrong --log-key or --server looks the same. Nothing is cosigned; the round failed.
            return new WitnessOutcome(WitnessOutcomeKind.Failed, "the checkpoint does not verify with --log-key (wrong --log-key or --server, or not this log), nothing cosigned: " + opened.Error!.Message);
        }

        var checkpoint = opened.Value.Checkpoint;
        var logSigned = opened.Value.Note.Text + "\n" + opened.Value.Note.Verify(_logKey).Value.Line + "\n";
        if (state is not null)
        {
            var oldRoot = Convert.FromBase64String(state.Root);
            if (checkpoint.Size < state.Size)
            {
                return Refuse(state, logSigned, $"the log presents size {checkpoint.Size}, smaller than size {state.Size} already cosigned", checkpoint.Size, null);
            }

            if (checkpoint.Size == state.Size)
            {
                if (!CryptographicOperations.FixedTimeEquals(oldRoot, checkpoint.Root))
                {
                    return Refuse(state, logSigned, $"the log presents a different root for size {checkpoint.Size}, already cosigned", checkpoint.Size, null);
                }

                if (opened.Value.Note.Find(_key.Verifier) is not null)
                {
                    return new WitnessOutcome(WitnessOutcomeKind.UpToDate, $"up to date at size {checkpoint.Size}", checkpoint.Size);
                }

                // The server lacks our cosignature (a failed submission): send it again.
                return await SubmitAsync(checkpoint, state.Cosignature, cancellationToken);
            }

            ConsistencyProofResponse? proof;
            try
            {
                proof = await _client.GetFromJsonAsync<ConsistencyProofResponse>(new Uri($"/ledger/v1/proof/consistency?from={state.Size}&to={checkpoint.Size}", UriKind.Relative), cancellationToken);
            }
            catch (Exception ex) when (ex is HttpRequestException or JsonException)
            {
                return new WitnessOutcome(WitnessOutcomeKind.Failed, "cannot fetch the consistency proof: " + ex.Message);
            }

            var nodes = new List<byte[]>();
            foreach (var node in proof?.Proof ?? [])
            {
                nodes.Add(StrictBase64.TryDecode(node, out var bytes) ? bytes : []);
            }

            if (proof is null || !MerkleTree.VerifyConsistency(state.Size, checkpoint.Size, oldRoot, checkpoint.Root, nodes))
            {
                return Refuse(state, logSigned, $"the log's size {checkpoint.Size} is not consistent with size {state.Size} already cosigned (history rewritten)", checkpoint.Size, proof);
            }
        }

        var cosignature = CosignatureV1.Sign(_key, checkpoint.Body, _time.GetUtcNow().ToUnixTimeSeconds()).Line;

        // Persist before submitting: once signed, this is the largest tree head the witness vouches for.
        WriteState(new WitnessState(_logKey.ToString(), checkpoint.Size, Convert.ToBase64String(checkpoint.Root), logSigned, cosignature));
        _acceptFirstCheckpoint = false; // the re-bootstrap is done: from now on a missing state is a loss again
        return await SubmitAsync(checkpoint, cosignature, cancellationToken);
    }

    /// <summary>The one-line refusal for a state directory that has the key but no state file.</summary>
    /// <param name="directory">The state directory.</param>
    /// <returns>The message, naming <c>--accept-first-checkpoint</c>.</returns>
    public static string LostStateMessage(string directory) =>
        $"{Path.Combine(directory, StateFileName)} is missing but the witness key is there: the state was lost, and trusting the next checkpoint could hide a rollback or fork; restore state.json from a backup, or re-bootstrap knowingly with --accept-first-checkpoint.";

    /// <summary>Creates the client for the server: trusting only Custodian's CA pinned by <paramref name="caSha256"/> (fetched from <c>/ledger/v1/ca</c>, as <c>terminal init</c> does), or the system's roots when no pin is given.</summary>
    /// <param name="server">The portal URL.</param>
    /// <param name="caSha256">Hex SHA-256 of the CA certificate's DER (colons allowed), or null.</param>
    /// <param name="cancellationToken">Cancels the fetch.</param>
    /// <returns>The client.</returns>
    /// <exception cref="InvalidOperationException">When the CA does not match the pin or the server's certificate does not chain to it.</exception>
    /// <exception cref="HttpRequestException">When the server cannot be reached.</exception>
    public static async Task<HttpClient> CreateClientAsync(Uri server, string? caSha256, CancellationToken cancellationToken)
    {
        if (caSha256 is null)
        {
            return new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromSeconds(30) };
        }

        var ca = await TerminalHttp.FetchPinnedCaAsync(server, caSha256, "/ledger/v1/ca", "connect", cancellationToken);
        return TerminalHttp.Create(server, ca, null, maxConnections: 2);
    }

    private async Task<WitnessOutcome> SubmitAsync(Checkpoint checkpoint, string cosignature, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _client.PostAsJsonAsync(new Uri("/ledger/v1/cosignatures", UriKind.Relative), new CosignatureSubmission(checkpoint.Body, cosignature), cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                var problem = await response.Content.ReadAsStringAsync(cancellationToken);
                var code = problem.Contains("\"errorCode\"", StringComparison.Ordinal) ? JsonDocument.Parse(problem).RootElement.GetProperty("errorCode").GetString() : null;
                return new WitnessOutcome(WitnessOutcomeKind.Failed, $"the server refused the cosignature of size {checkpoint.Size}: {(int)response.StatusCode} {code}", checkpoint.Size);
            }
        }
        catch (HttpRequestException ex)
        {
            return new WitnessOutcome(WitnessOutcomeKind.Failed, $"cosigned size {checkpoint.Size} but could not submit it (retried next round): {ex.Message}", checkpoint.Size);
        }

        return new WitnessOutcome(WitnessOutcomeKind.Cosigned, $"cosigned {checkpoint.Origin} at size {checkpoint.Size}", checkpoint.Size);
    }

    private WitnessOutcome Refuse(WitnessState state, string presented, string reason, long size, ConsistencyProofResponse? proof)
    {
        var evidenceDirectory = Path.Combine(_directory, "evidence");
        Directory.CreateDirectory(evidenceDirectory);
        var id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(presented)))[..16];
        var path = Path.Combine(evidenceDirectory, $"refused-size-{size}-{id}.txt");
        if (!File.Exists(path))
        {
            var builder = new StringBuilder()
                .Append("# Custodian witness evidence\n")
                .Append("# refused at: ").Append(_time.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture)).Append('\n')
                .Append("# reason: ").Append(reason).Append('\n')
                .Append("# log key: ").Append(_logKey).Append('\n')
                .Append("\n## checkpoint previously cosigned (log-signed note)\n").Append(state.Checkpoint)
                .Append("## our cosignature of it\n").Append(state.Cosignature).Append('\n')
                .Append("\n## checkpoint presented now (log-signed note)\n").Append(presented);
            if (proof is not null)
            {
                builder.Append("\n## consistency proof presented (from ").Append(proof.From).Append(" to ").Append(proof.To).Append(")\n");
                foreach (var node in proof.Proof)
                {
                    builder.Append(node).Append('\n');
                }
            }

            LogKeyFile.WriteSecret(path, builder.ToString());
        }

        return new WitnessOutcome(WitnessOutcomeKind.Refused, $"REFUSED: {reason}; evidence in {path}", size);
    }

    private void WriteState(WitnessState state) => LogKeyFile.WriteSecret(Path.Combine(_directory, StateFileName), JsonSerializer.Serialize(state, Json) + "\n");
}
