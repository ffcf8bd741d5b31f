using System.Buffers;
using System.Data.Common;
using System.Security.Cryptography;
using System.Text.Json;
using Custodian.Identity;
using Custodian.Monitoring.Detection;
using Custodian.Problems;
using Custodian.Storage;

namespace Custodian.Monitoring;

/// <summary>
/// Stores alerts in the <c>alerts</c> table (<see cref="MonitoringMigrations"/>) and moves them through the
/// officer's review (<see cref="AlertState"/>). Thread-safe; every call opens its own pooled connection.
/// </summary>
/// <param name="db">The database; <see cref="MonitoringMigrations"/> must have been applied.</param>
/// <param name="time">Clock for raised and updated times.</param>
public sealed class AlertStore(CustodianDatabase db, TimeProvider time)
{
    /// <summary>Longest officer note accepted, in characters (same bound as a ledger entry's reason).</summary>
    public const int MaxNoteLength = 500;

    /// <summary>Account recorded in <see cref="Alert.UpdatedBy"/> for changes the monitor makes itself.</summary>
    public const string MonitorAccount = "monitor";

    private const string Columns =
        "id, raised_ms, detector, principal_kind, principal_id, store, window_seconds, observed, limit_value, evidence, severity, state, updated_ms, updated_by, note";

    private readonly CustodianDatabase _db = db ?? throw new ArgumentNullException(nameof(db));

    /// <summary>The database the alerts are kept in (the monitor keeps its other tables there too).</summary>
    internal CustodianDatabase Database => _db;
    private readonly TimeProvider _time = time ?? throw new ArgumentNullException(nameof(time));

    /// <summary>Stores a new alert in state <see cref="AlertState.Open"/>.</summary>
    /// <param name="alert">What the detector reported.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The stored alert with its identifier.</returns>
    /// <exception cref="DbException">When the database write fails.</exception>
    public async Task<Alert> CreateAsync(NewAlert alert, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var now = TruncateToMs(_time.GetUtcNow());
        var stored = new Alert(
            NewId(now), now, alert.Detector, alert.Principal, alert.Store, TimeSpan.FromSeconds(Math.Floor(alert.Window.TotalSeconds)),
            alert.Observed, alert.Limit, alert.Evidence, alert.Severity, AlertState.Open, now, MonitorAccount, null);

        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var insert = connection.Command(
            $"INSERT INTO alerts ({Columns}) VALUES (@id, @raised, @detector, @kind, @pid, @store, @window, @observed, @limit, @evidence, @severity, @state, @updated, @by, @note)",
            ("@id", stored.Id),
            ("@raised", now.ToUnixTimeMilliseconds()),
            ("@detector", stored.Detector),
            ("@kind", stored.Principal.Kind.ToName()),
            ("@pid", stored.Principal.Id),
            ("@store", stored.Store),
            ("@window", (long)stored.Window.TotalSeconds),
            ("@observed", stored.Observed),
            ("@limit", stored.Limit),
            ("@evidence", WriteEvidence(stored.Evidence)),
            ("@severity", stored.Severity.ToName()),
            ("@state", stored.State.ToName()),
            ("@updated", now.ToUnixTimeMilliseconds()),
            ("@by", stored.UpdatedBy),
            ("@note", null));
        await insert.ExecuteNonQueryAsync(cancellationToken);
        return stored;
    }

    /// <summary>Alerts, newest first, optionally only those in <paramref name="state"/>.</summary>
    /// <param name="state">Only this state; null for all.</param>
    /// <param name="limit">Most alerts returned, 1–1000.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <exception cref="ArgumentOutOfRangeException">When <paramref name="limit"/> is outside 1–1000.</exception>
    public async Task<IReadOnlyList<Alert>> ListAsync(AlertState? state, int limit = 200, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, 1000);
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var command = state is null
            ? connection.Command($"SELECT {Columns} FROM alerts ORDER BY raised_ms DESC, id DESC LIMIT @limit", ("@limit", limit))
            : connection.Command(
                $"SELECT {Columns} FROM alerts WHERE state = @state ORDER BY raised_ms DESC, id DESC LIMIT @limit",
                ("@state", state.Value.ToName()),
                ("@limit", limit));
        return await ReadAllAsync(command, cancellationToken);
    }

    /// <summary>Alerts about <paramref name="principal"/>, newest first, at most 1000.</summary>
    public async Task<IReadOnlyList<Alert>> ListForPrincipalAsync(Principal principal, CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            $"SELECT {Columns} FROM alerts WHERE principal_kind = @kind AND principal_id = @pid ORDER BY raised_ms DESC, id DESC LIMIT 1000",
            ("@kind", principal.Kind.ToName()),
            ("@pid", principal.Id));
        return await ReadAllAsync(command, cancellationToken);
    }

    /// <summary>The alert with identifier <paramref name="id"/>, or null when there is none.</summary>
    public async Task<Alert?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var command = connection.Command($"SELECT {Columns} FROM alerts WHERE id = @id", ("@id", id));
        var all = await ReadAllAsync(command, cancellationToken);
        return all.Count == 0 ? null : all[0];
    }

    /// <summary>
    /// Records an officer's review decision. Allowed: from <c>open</c> or <c>acknowledged</c> to
    /// <c>acknowledged</c>, <c>false-positive</c> or <c>confirmed</c>. <c>restored</c> is set only by restoring
    /// the principal (<see cref="AccessMonitor.RestoreAsync"/>), so that an alert never says "restored" while its
    /// principal is still suspended.
    /// </summary>
    /// <param name="id">The alert.</param>
    /// <param name="state">The new state.</param>
    /// <param name="officer">The officer's account code (<see cref="Codes"/> rules).</param>
    /// <param name="note">Optional note, at most <see cref="MaxNoteLength"/> characters, never personal data.</param>
    /// <param name="expected">The state the caller read and checked (compare-and-set): the update applies only while the
    /// alert is still in it, so a decision taken on a state another officer has since changed is refused rather than
    /// stored over that change. Null: the state this call reads itself.</param>
    /// <param name="cancellationToken">Cancels the update.</param>
    /// <returns>The updated alert; or <see cref="ErrorCodes.NotFound"/> (404), <see cref="ErrorCodes.ValidationFailed"/>
    /// (400: bad officer code, note too long, target state <c>open</c> or <c>restored</c>) or
    /// <see cref="MonitoringErrorCodes.AlertStateConflict"/> (409: the alert is in a final state, or is no longer in
    /// <paramref name="expected"/> or the state read when the update runs).</returns>
    /// <remarks>
    /// The update is one statement, <c>UPDATE … WHERE id = @id AND state = @old</c>, so of two concurrent decisions
    /// from the same state only one is stored: SQLite runs one writer at a time and evaluates the condition under its
    /// write lock; PostgreSQL (an autocommit statement, READ COMMITTED) makes the second wait for the first's row lock
    /// and then re-checks the condition on the row the first committed, which no longer matches (0 rows).
    /// </remarks>
    public async Task<Result<Alert>> SetStateAsync(string id, AlertState state, string officer, string? note, AlertState? expected = null, CancellationToken cancellationToken = default)
    {
        if (!Codes.IsValid(officer))
        {
            return Invalid("officer", "The officer must be a well-formed account code.");
        }

        if (note is { Length: > MaxNoteLength })
        {
            return Invalid("note", $"The note must be at most {MaxNoteLength} characters.");
        }

        if (Classification.FreeText.Check(note, "note") is { } personal)
        {
            return personal;
        }

        if (state is not (AlertState.Acknowledged or AlertState.FalsePositive or AlertState.Confirmed))
        {
            return Invalid("state", "The state must be acknowledged, false-positive or confirmed; restored is set by restoring the principal.");
        }

        var current = await GetAsync(id ?? string.Empty, cancellationToken);
        if (current is null)
        {
            return new CustodianError(ErrorCodes.NotFound, 404, "No alert has this id.");
        }

        if (current.State.IsFinal())
        {
            return new CustodianError(MonitoringErrorCodes.AlertStateConflict, 409, $"The alert is already {current.State.ToName()}, a final state.");
        }

        if (expected is { } read && current.State != read)
        {
            return Concurrent;
        }

        var now = TruncateToMs(_time.GetUtcNow());
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var update = connection.Command(
            "UPDATE alerts SET state = @state, updated_ms = @updated, updated_by = @by, note = @note WHERE id = @id AND state = @old",
            ("@state", state.ToName()),
            ("@updated", now.ToUnixTimeMilliseconds()),
            ("@by", officer),
            ("@note", note),
            ("@id", current.Id),
            ("@old", current.State.ToName()));
        if (await update.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            return Concurrent;
        }

        return current with { State = state, UpdatedAt = now, UpdatedBy = officer, Note = note };
    }

    /// <summary>
    /// Sets every <c>open</c> or <c>acknowledged</c> alert about <paramref name="principal"/> to <c>restored</c>
    /// (used by <see cref="AccessMonitor.RestoreAsync"/>).
    /// </summary>
    /// <param name="principal">The restored clerk or terminal.</param>
    /// <param name="officer">The officer's account code.</param>
    /// <param name="note">The restore reason, at most <see cref="MaxNoteLength"/> characters.</param>
    /// <param name="cancellationToken">Cancels the update.</param>
    /// <returns>How many alerts changed.</returns>
    /// <exception cref="ArgumentException">When <paramref name="officer"/> is not a code or <paramref name="note"/> is too long.</exception>
    public async Task<int> MarkRestoredAsync(Principal principal, string officer, string? note, CancellationToken cancellationToken = default)
    {
        Codes.Require(officer, "officer");
        if (note is { Length: > MaxNoteLength })
        {
            throw new ArgumentException($"The note must be at most {MaxNoteLength} characters.", nameof(note));
        }

        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var update = connection.Command(
            "UPDATE alerts SET state = 'restored', updated_ms = @updated, updated_by = @by, note = @note "
            + "WHERE principal_kind = @kind AND principal_id = @pid AND state IN ('open', 'acknowledged')",
            ("@updated", _time.GetUtcNow().ToUnixTimeMilliseconds()),
            ("@by", officer),
            ("@note", note),
            ("@kind", principal.Kind.ToName()),
            ("@pid", principal.Id));
        return await update.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// A new alert identifier: <c>A-</c> + a ULID (48-bit Unix milliseconds, then 80 random bits, in Crockford
    /// base 32), so identifiers sort by time and need no coordination between processes.
    /// </summary>
    internal static string NewId(DateTimeOffset now)
    {
        const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        Span<byte> bytes = stackalloc byte[16];
        var ms = (ulong)now.ToUnixTimeMilliseconds();
        for (var i = 5; i >= 0; i--)
        {
            bytes[i] = (byte)(ms & 0xFF);
            ms >>= 8;
        }

        RandomNumberGenerator.Fill(bytes[6..]);
        Span<char> chars = stackalloc char[28];
        chars[0] = 'A';
        chars[1] = '-';

        // 128 bits → 26 base-32 digits: the first digit carries the top 3 bits.
        var hi = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes);
        var lo = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        var value = new UInt128(hi, lo);
        for (var i = 27; i >= 2; i--)
        {
            chars[i] = Alphabet[(int)(value & 31)];
            value >>= 5;
        }

        return new string(chars);
    }

    internal static string WriteEvidence(AlertEvidence evidence)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("first", evidence.FirstSequence);
            json.WriteNumber("last", evidence.LastSequence);
            json.WriteNumber("total", evidence.TotalSequences);
            json.WriteStartArray("sequences");
            foreach (var s in evidence.Sequences)
            {
                json.WriteNumberValue(s);
            }

            json.WriteEndArray();
            if (evidence.Detail is not null)
            {
                json.WriteString("detail", evidence.Detail);
            }

            if (evidence.Action is { } action)
            {
                json.WriteString("action", action.ToName());
            }

            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    internal static AlertEvidence ReadEvidence(string text)
    {
        using var doc = JsonDocument.Parse(text);
        var root = doc.RootElement;
        var sequences = root.GetProperty("sequences").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        return new AlertEvidence(root.GetProperty("first").GetInt64(), root.GetProperty("last").GetInt64(), sequences, root.GetProperty("total").GetInt32())
        {
            Detail = root.TryGetProperty("detail", out var detail) ? detail.GetString() : null,
            Action = root.TryGetProperty("action", out var action) && MonitorActions.TryParse(action.GetString(), out var parsed) ? parsed : null,
        };
    }

    private static CustodianError Concurrent => new(MonitoringErrorCodes.AlertStateConflict, 409, "The alert changed state concurrently; reload it and retry.");

    private static CustodianError Invalid(string field, string message) =>
        new(ErrorCodes.ValidationFailed, 400, message) { Errors = new Dictionary<string, string[]> { [field] = [message] } };

    private static DateTimeOffset TruncateToMs(DateTimeOffset t) => DateTimeOffset.FromUnixTimeMilliseconds(t.ToUnixTimeMilliseconds());

    private static async Task<IReadOnlyList<Alert>> ReadAllAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var list = new List<Alert>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (!PrincipalKinds.TryParse(reader.GetString(3), out var kind)
                || !AlertSeverities.TryParse(reader.GetString(10), out var severity)
                || !AlertStates.TryParse(reader.GetString(11), out var state))
            {
                throw new InvalidDataException("An alerts row has an unknown principal kind, severity or state.");
            }

            list.Add(new Alert(
                Id: reader.GetString(0),
                RaisedAt: DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
                Detector: reader.GetString(2),
                Principal: new Principal(kind, reader.GetString(4)),
                Store: reader.IsDBNull(5) ? null : reader.GetString(5),
                Window: TimeSpan.FromSeconds(reader.GetInt64(6)),
                Observed: reader.GetInt32(7),
                Limit: reader.GetInt32(8),
                Evidence: ReadEvidence(reader.GetString(9)),
                Severity: severity,
                State: state,
                UpdatedAt: DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(12)),
                UpdatedBy: reader.GetString(13),
                Note: reader.IsDBNull(14) ? null : reader.GetString(14)));
        }

        return list;
    }
}
