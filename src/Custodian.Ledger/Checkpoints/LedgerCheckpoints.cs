using System.ComponentModel.DataAnnotations;
using System.Text;
using Custodian.Identity;
using Custodian.Problems;
using Custodian.Storage;

namespace Custodian.Ledger.Checkpoints;

/// <summary>Checkpoint settings (environment: <c>Custodian__Checkpoints__Origin</c>, <c>Custodian__Checkpoints__IntervalSeconds</c>).</summary>
public sealed class CheckpointOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Custodian:Checkpoints";

    /// <summary>
    /// The log's origin (checkpoint origin line and log key name), used only when the log key is created
    /// on first start; afterwards the key file's name wins. Non-empty, no whitespace, no '+'.
    /// </summary>
    /// <value>The default is null: <c>custodian/&lt;host name in lower case&gt;</c>.</value>
    public string? Origin { get; set; }

    /// <summary>How often the server signs a checkpoint of the newest tree head when the ledger grew, in seconds.</summary>
    /// <value>The default is 10 seconds.</value>
    [Range(1, 3600)]
    public int IntervalSeconds { get; set; } = 10;

    /// <summary>How far in the future a cosignature's timestamp may be before it is refused, in seconds (C2SP tlog-cosignature: verifiers MAY reject future timestamps).</summary>
    /// <value>The default is 300 seconds.</value>
    [Range(0, 86400)]
    public int MaxFutureSkewSeconds { get; set; } = 300;

    /// <summary>The origin for a new key: <see cref="Origin"/> or <c>custodian/&lt;host name&gt;</c> with characters a key name cannot hold replaced by '-'.</summary>
    public string EffectiveOrigin()
    {
        if (Origin is { Length: > 0 } origin)
        {
            return origin;
        }

        var host = new string(Environment.MachineName.ToLowerInvariant().Select(c => char.IsWhiteSpace(c) || c == '+' || char.IsControl(c) ? '-' : c).ToArray());
        return "custodian/" + (host.Length == 0 ? "localhost" : host);
    }
}

/// <summary>
/// The log key file: <c>&lt;data&gt;/checkpoints/log.key</c>, one line in the signer-key format of
/// <see cref="NoteSigningKey"/>, mode 0600 in a 0700 directory, created on first use.
/// </summary>
public static class LogKeyFile
{
    /// <summary>Path of the key file below a data directory.</summary>
    /// <param name="dataDirectory">The data directory's root.</param>
    public static string PathFor(string dataDirectory) => Path.Combine(dataDirectory, "checkpoints", "log.key");

    /// <summary>Loads the key, creating it with <paramref name="origin"/> as its name when the file does not exist.</summary>
    /// <param name="path">The key file.</param>
    /// <param name="origin">Name for a new key.</param>
    /// <returns>The log's signing key.</returns>
    /// <exception cref="InvalidOperationException">When the file exists but does not hold a valid Ed25519 signer key.</exception>
    public static NoteSigningKey LoadOrCreate(string path, string origin)
    {
        if (File.Exists(path))
        {
            var parsed = NoteSigningKey.Parse(File.ReadAllText(path));
            return parsed.IsSuccess && parsed.Value.Verifier.Algorithm == NoteAlgorithms.Ed25519
                ? parsed.Value
                : throw new InvalidOperationException($"The checkpoint key file {path} is not a valid Ed25519 note signer key.");
        }

        var key = NoteSigningKey.Generate(origin, NoteAlgorithms.Ed25519);
        WriteSecret(path, key.ToPrivateKeyString() + "\n");
        return key;
    }

    /// <summary>
    /// Writes <paramref name="content"/> to a new owner-only file (0600, directory 0700), atomically via a temporary file and
    /// rename. The temporary file has a random name and is created exclusively (<c>O_CREAT|O_EXCL</c>, which follows no
    /// link), so nothing planted or left in the directory under a predictable name can receive the secret or pass on its mode.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="content">The text.</param>
    public static void WriteSecret(string path, string content)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var temp = Path.Combine(directory, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N") + ".tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, Options = FileOptions.WriteThrough };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using (var stream = new FileStream(temp, options))
            {
                stream.Write(Encoding.UTF8.GetBytes(content));
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }
}

/// <summary>
/// Signs checkpoints of the ledger's newest tree head, accepts witnesses' cosignatures and builds
/// receipts (docs/ledger-format.md, "Checkpoints", "Receipts"). Thread-safe.
/// </summary>
public sealed class LedgerCheckpoints
{
    private readonly ILedgerProofs _proofs;
    private readonly CheckpointStore _store;
    private readonly CustodianDatabase _db;
    private readonly Lazy<NoteSigningKey> _key;
    private readonly CheckpointOptions _options;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _signing = new(1, 1);

    /// <summary>Creates the service.</summary>
    /// <param name="proofs">Tree heads and proofs.</param>
    /// <param name="store">Checkpoint tables.</param>
    /// <param name="db">The database (entry payloads for receipts).</param>
    /// <param name="key">Loads the log key (first use creates it).</param>
    /// <param name="options">Settings.</param>
    /// <param name="time">The clock.</param>
    public LedgerCheckpoints(ILedgerProofs proofs, CheckpointStore store, CustodianDatabase db, Func<NoteSigningKey> key, CheckpointOptions options, TimeProvider time)
    {
        _proofs = proofs;
        _store = store;
        _db = db;
        _key = new Lazy<NoteSigningKey>(key, LazyThreadSafetyMode.ExecutionAndPublication);
        _options = options;
        _time = time;
    }

    /// <summary>The log's verifier key (origin name, key ID, public key), as published to witnesses and verifiers.</summary>
    public NoteVerifierKey LogKey => _key.Value.Verifier;

    /// <summary>The checkpoint store.</summary>
    public CheckpointStore Store => _store;

    /// <summary>
    /// Signs and stores a checkpoint of the newest tree head when it is larger than the newest stored
    /// checkpoint. An empty ledger gets none (a consistency proof from size 0 is undefined).
    /// </summary>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The newest stored checkpoint (new or existing), or null when the ledger is empty.</returns>
    public async Task<StoredCheckpoint?> SignLatestAsync(CancellationToken cancellationToken = default)
    {
        await _signing.WaitAsync(cancellationToken);
        try
        {
            var head = await _proofs.GetTreeHeadAsync(cancellationToken);
            var latest = await _store.GetLatestAsync(0, cancellationToken);
            if (head.Size == 0 || (latest is not null && latest.Size >= head.Size))
            {
                return latest;
            }

            var key = _key.Value;
            var checkpoint = new Checkpoint(key.KeyName, head.Size, head.Root.Span);
            var note = SignedNote.Sign(checkpoint.Body, key);
            await _store.AddAsync(checkpoint, note.Format(), _time.GetUtcNow(), cancellationToken);
            return await _store.GetAsync(head.Size, cancellationToken);
        }
        finally
        {
            _signing.Release();
        }
    }

    /// <summary>The newest checkpoint with every cosignature held for it, or null when none was signed.</summary>
    /// <param name="minimumCosignatures">Only checkpoints with at least this many cosignatures.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<string?> GetLatestNoteAsync(int minimumCosignatures = 0, CancellationToken cancellationToken = default) =>
        await _store.GetLatestAsync(minimumCosignatures, cancellationToken) is { } latest ? await _store.ComposeAsync(latest, cancellationToken) : null;

    /// <summary>
    /// Accepts a witness's cosignature of a checkpoint the server signed: the body must be byte-for-byte
    /// a stored checkpoint's, the line must be a cosignature/v1 of a configured witness key, verify, and
    /// carry a timestamp not more than <see cref="CheckpointOptions.MaxFutureSkewSeconds"/> ahead.
    /// </summary>
    /// <param name="checkpointBody">The checkpoint body the witness cosigned.</param>
    /// <param name="signatureLine">The cosignature line.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The accepted cosignature, or an error with a code from <see cref="CheckpointErrors"/>.</returns>
    public async Task<Result<VerifiedCosignature>> AcceptCosignatureAsync(string? checkpointBody, string? signatureLine, CancellationToken cancellationToken = default)
    {
        var checkpoint = Checkpoint.Parse(checkpointBody);
        if (!checkpoint.IsSuccess)
        {
            return checkpoint.Error!;
        }

        var line = NoteSignature.Parse(signatureLine);
        if (!line.IsSuccess)
        {
            return line.Error!;
        }

        var stored = await _store.GetAsync(checkpoint.Value.Size, cancellationToken);
        if (stored is null || !stored.Note.StartsWith(checkpointBody + "\n", StringComparison.Ordinal))
        {
            return CheckpointErrors.Error(CheckpointErrors.CheckpointUnknown, "The server signed no checkpoint with this body.", 404);
        }

        var witnesses = await _store.ListWitnessesAsync(cancellationToken);
        var witness = witnesses.FirstOrDefault(w => w.KeyId == line.Value.KeyId && string.Equals(w.KeyName, line.Value.KeyName, StringComparison.Ordinal));
        if (witness is null)
        {
            return CheckpointErrors.Error(CheckpointErrors.WitnessUnknown, "The cosignature is not from a witness this server was configured with.", 403);
        }

        var verified = CosignatureV1.Verify(witness, line.Value, checkpointBody!);
        if (!verified.IsSuccess)
        {
            return verified.Error!;
        }

        var now = _time.GetUtcNow();
        if (verified.Value > now.ToUnixTimeSeconds() + _options.MaxFutureSkewSeconds)
        {
            return CheckpointErrors.Error(CheckpointErrors.CosignatureInvalid, $"The cosignature's timestamp is more than {_options.MaxFutureSkewSeconds} seconds in the future.");
        }

        await _store.AddCosignatureAsync(checkpoint.Value.Size, line.Value, verified.Value, now, cancellationToken);
        return new VerifiedCosignature(witness.KeyName, verified.Value);
    }

    /// <summary>
    /// Builds a receipt for the entry at <paramref name="sequence"/> against the checkpoint
    /// <see cref="CheckpointStore.GetCoveringAsync"/> chooses.
    /// </summary>
    /// <param name="sequence">The entry's sequence, ≥ 0.</param>
    /// <param name="subject">When given, the entry's subjects must include this subscriber (else not found).</param>
    /// <param name="withholdEntry">True for the withheld form (leaf hash only, no payload).</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The receipt; <see cref="ErrorCodes.NotFound"/> (404) when there is no such entry (for that subject); <see cref="CheckpointErrors.ReceiptPending"/> (503, transient) when no checkpoint covers it yet.</returns>
    public async Task<Result<LedgerReceipt>> BuildReceiptAsync(long sequence, SubscriberId? subject, bool withholdEntry, CancellationToken cancellationToken = default)
    {
        var notFound = new CustodianError(ErrorCodes.NotFound, 404, "No such ledger entry in your history.");
        if (sequence < 0)
        {
            return notFound;
        }

        byte[]? payload = null;
        await using (var connection = await _db.OpenAsync(cancellationToken))
        await using (var command = connection.Command("SELECT payload FROM ledger_entries WHERE seq = @seq", ("@seq", sequence)))
        {
            payload = await command.ExecuteScalarAsync(cancellationToken) as byte[];
        }

        if (payload is not { Length: > 0 }) // missing, or erased by retention (docs/ledger-format.md §13): no receipt
        {
            return notFound;
        }

        if (subject is { } s)
        {
            try
            {
                if (!LeafCodec.Decode(payload).Subjects.Contains(s))
                {
                    return notFound;
                }
            }
            catch (FormatException)
            {
                return notFound;
            }
        }

        var checkpoint = await _store.GetCoveringAsync(sequence, cancellationToken);
        if (checkpoint is null)
        {
            return new CustodianError(
                CheckpointErrors.ReceiptPending,
                503,
                $"No signed checkpoint covers this entry yet; the server signs one within {_options.IntervalSeconds} seconds after the ledger grows.",
                IsTransient: true)
            {
                RetryAfter = TimeSpan.FromSeconds(_options.IntervalSeconds),
            };
        }

        var proof = await _proofs.GetInclusionProofAsync(sequence, checkpoint.Size, cancellationToken);
        var note = await _store.ComposeAsync(checkpoint, cancellationToken);
        return new LedgerReceipt(sequence, withholdEntry ? null : payload, MerkleTree.HashLeaf(payload), checkpoint.Size, proof, note);
    }
}
