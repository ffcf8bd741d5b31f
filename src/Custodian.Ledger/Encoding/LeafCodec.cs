using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Custodian.Identity;

namespace Custodian.Ledger;

/// <summary>
/// The canonical byte encoding of an <see cref="AccessEntry"/>: the leaf of the ledger's Merkle
/// tree and the stored payload. Format version 1 is UTF-8 JSON (RFC 8259) with one fixed property
/// order, no whitespace, null and empty values omitted, times as Unix milliseconds, subscriber IDs
/// as JSON integers, tasks and roles by their stable names, and strings escaped as in RFC 8785
/// §3.2.2.2 (only <c>"</c>, <c>\</c> and U+0000–U+001F are escaped). One entry has exactly one
/// encoding. The format is specified in <c>docs/ledger-format.md</c>. Thread-safe.
/// </summary>
public static class LeafCodec
{
    /// <summary>The format version written in the <c>v</c> property.</summary>
    public const int FormatVersion = 1;

    /// <summary>Longest accepted <see cref="AccessEntry.Reason"/>, in UTF-16 characters (as documented on the entry).</summary>
    public const int MaxReasonLength = 500;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Encodes <paramref name="entry"/> canonically.</summary>
    /// <param name="entry">The entry. Its time is recorded to the millisecond (sub-millisecond ticks are dropped).</param>
    /// <returns>The UTF-8 JSON bytes.</returns>
    /// <exception cref="ArgumentOutOfRangeException">When the task, outcome or role is not a defined value.</exception>
    /// <exception cref="ArgumentException">When the reason is longer than 500 characters, or a string holds an unpaired surrogate, or a subscriber ID is not positive.</exception>
    public static byte[] Encode(AccessEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var w = new Writer();
        w.Raw("{\"v\":"u8);
        w.Number(FormatVersion);
        w.Raw(",\"time\":"u8);
        w.Number(entry.Time.ToUnixTimeMilliseconds());
        w.Raw(",\"task\":"u8);
        w.String(entry.Task.ToName(), nameof(entry.Task));
        w.Raw(",\"outcome\":"u8);
        w.String(OutcomeName(entry.Outcome), nameof(entry.Outcome));
        w.OptionalString(",\"account\":"u8, entry.Account, nameof(entry.Account));
        w.OptionalString(",\"role\":"u8, entry.Role?.ToName(), nameof(entry.Role));
        w.OptionalString(",\"terminal\":"u8, entry.Terminal, nameof(entry.Terminal));
        w.OptionalString(",\"store\":"u8, entry.Store, nameof(entry.Store));
        w.OptionalString(",\"ip\":"u8, entry.SourceIp, nameof(entry.SourceIp));
        w.OptionalString(",\"purpose\":"u8, entry.Purpose, nameof(entry.Purpose));
        if (entry.Subjects is { Count: > 0 } subjects)
        {
            w.Raw(",\"subjects\":["u8);
            for (var i = 0; i < subjects.Count; i++)
            {
                if (subjects[i].Value <= 0)
                {
                    throw new ArgumentException("Subjects must be positive subscriber IDs.", nameof(entry));
                }

                if (i > 0)
                {
                    w.Raw(","u8);
                }

                w.Number(subjects[i].Value);
            }

            w.Raw("]"u8);
        }

        w.OptionalStrings(",\"fields\":["u8, entry.Fields, nameof(entry.Fields));
        w.OptionalStrings(",\"unmasked\":["u8, entry.UnmaskedFields, nameof(entry.UnmaskedFields));
        w.OptionalString(",\"error\":"u8, entry.ErrorCode, nameof(entry.ErrorCode));
        w.OptionalString(",\"target\":"u8, entry.Target, nameof(entry.Target));
        if (entry.Reason is { Length: > MaxReasonLength })
        {
            throw new ArgumentException($"The reason must be at most {MaxReasonLength} characters.", nameof(entry));
        }

        // The last line of defence: the free text that the ledger keeps for years and the SIEM export carries never
        // holds a phone number or RRN (services check first and answer with a field error). Not the target: the
        // product writes it (codes, counts, SHA-256 hex digests whose digit runs could look like a number).
        Classification.FreeText.EnsureNoPersonalData(entry.Reason, "reason");
        w.OptionalString(",\"reason\":"u8, entry.Reason, nameof(entry.Reason));
        if (entry.Signals is { IsEmpty: false } signals)
        {
            // docs/ledger-format.md §1.1: members in this order, unset ones omitted, flags only as true.
            w.Raw(",\"signals\":{"u8);
            var first = true;
            if (signals.NumberBlock is { } block)
            {
                if (!AccessSignals.IsNumberBlock(block))
                {
                    throw new ArgumentException($"The signal 'block' must be {AccessSignals.NumberBlockLength} lowercase hexadecimal characters.", nameof(entry));
                }

                w.Raw("\"block\":"u8);
                w.String(block, "block");
                first = false;
            }

            w.Flag(ref first, "\"ending\":true"u8, signals.ContractEnding);
            w.Flag(ref first, "\"away\":true"u8, signals.OtherArea);
            w.Flag(ref first, "\"household\":true"u8, signals.SameHousehold);
            w.Raw("}"u8);
        }

        w.Raw("}"u8);
        return w.ToArray();
    }

    /// <summary>Decodes a payload written by <see cref="Encode"/>.</summary>
    /// <param name="payload">UTF-8 JSON of format version 1.</param>
    /// <returns>The entry; its <see cref="AccessEntry.Time"/> has offset zero, absent lists are empty.</returns>
    /// <exception cref="FormatException">When the payload is not valid JSON, is of another version, lacks a required property (<c>v</c>, <c>time</c>, <c>task</c>, <c>outcome</c>), repeats or has an unknown property, or a value has the wrong type or an unknown name. The message names the property and the rule, never the value.</exception>
    public static AccessEntry Decode(ReadOnlySpan<byte> payload)
    {
        try
        {
            return DecodeCore(payload);
        }
        catch (JsonException ex)
        {
            throw new FormatException("The ledger payload is not well-formed JSON.", ex);
        }
        catch (InvalidOperationException ex)
        {
            throw new FormatException("The ledger payload has a value of the wrong JSON type.", ex);
        }
    }

    /// <summary>The stable name of an outcome: <c>allowed</c> or <c>denied</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">For an undefined value.</exception>
    public static string OutcomeName(AccessOutcome outcome) => outcome switch
    {
        AccessOutcome.Allowed => "allowed",
        AccessOutcome.Denied => "denied",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome)),
    };

    private static AccessEntry DecodeCore(ReadOnlySpan<byte> payload)
    {
        var reader = new Utf8JsonReader(payload, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 4 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new FormatException("The ledger payload must be a JSON object.");
        }

        int? version = null;
        long? time = null;
        AccessTask? task = null;
        AccessOutcome? outcome = null;
        StaffRole? role = null;
        string? account = null, terminal = null, store = null, ip = null, purpose = null, error = null, target = null, reason = null;
        List<SubscriberId>? subjects = null;
        List<string>? fields = null, unmasked = null;
        AccessSignals? signals = null;
        // Property names are matched on the UTF-8 bytes (escapes included, as ValueTextEquals
        // unescapes) and repeats tracked in a bit mask: no string or set per property. Decoding is on
        // the verifier's and every reader's path (docs/ledger-format.md §5).
        var seen = 0;

        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var property = PropertyIndex(ref reader);
            if (property < 0)
            {
                throw new FormatException($"The ledger payload has the unknown property '{Safe(reader.GetString()!)}'.");
            }

            var name = PropertyNames[property];
            if ((seen & (1 << property)) != 0)
            {
                throw new FormatException($"The ledger payload repeats the property '{name}'.");
            }

            seen |= 1 << property;
            reader.Read();
            switch (name)
            {
                case "v":
                    version = reader.GetInt32();
                    if (version != FormatVersion)
                    {
                        throw new FormatException($"The ledger payload property 'v' must be {FormatVersion}.");
                    }

                    break;
                case "time":
                    time = reader.GetInt64();
                    break;
                case "task":
                    task = AccessTasks.TryParse(reader.GetString(), out var t) ? t : throw new FormatException("The ledger payload property 'task' is not a known task name.");
                    break;
                case "outcome":
                    outcome = reader.GetString() switch
                    {
                        "allowed" => AccessOutcome.Allowed,
                        "denied" => AccessOutcome.Denied,
                        _ => throw new FormatException("The ledger payload property 'outcome' must be 'allowed' or 'denied'."),
                    };
                    break;
                case "role":
                    role = StaffRoles.TryParse(reader.GetString(), out var r) ? r : throw new FormatException("The ledger payload property 'role' is not a known role name.");
                    break;
                case "account": account = RequireString(ref reader, name); break;
                case "terminal": terminal = RequireString(ref reader, name); break;
                case "store": store = RequireString(ref reader, name); break;
                case "ip": ip = RequireString(ref reader, name); break;
                case "purpose": purpose = RequireString(ref reader, name); break;
                case "error": error = RequireString(ref reader, name); break;
                case "target": target = RequireString(ref reader, name); break;
                case "reason": reason = RequireString(ref reader, name); break;
                case "subjects":
                    RequireArray(ref reader, name);
                    subjects = [];
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        var id = reader.GetInt64();
                        subjects.Add(id > 0 ? new SubscriberId(id) : throw new FormatException("The ledger payload property 'subjects' must hold positive integers."));
                    }

                    break;
                case "fields":
                    fields = ReadStrings(ref reader, name);
                    break;
                case "unmasked":
                    unmasked = ReadStrings(ref reader, name);
                    break;
                case "signals":
                    signals = ReadSignals(ref reader);
                    break;
                default:
                    throw new FormatException($"The ledger payload has the unknown property '{Safe(name)}'.");
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            throw new FormatException("The ledger payload must be exactly one JSON object.");
        }

        if (version is null || time is null || task is null || outcome is null)
        {
            throw new FormatException("The ledger payload must have the properties 'v', 'time', 'task' and 'outcome'.");
        }

        return new AccessEntry
        {
            Time = DateTimeOffset.FromUnixTimeMilliseconds(time.Value),
            Task = task.Value,
            Outcome = outcome.Value,
            Account = account,
            Role = role,
            Terminal = terminal,
            Store = store,
            SourceIp = ip,
            Purpose = purpose,
            Subjects = subjects ?? [],
            Fields = fields ?? [],
            UnmaskedFields = unmasked ?? [],
            ErrorCode = error,
            Target = target,
            Reason = reason,
            Signals = signals,
        };
    }

    // docs/ledger-format.md §1.1: an object of at least one of block (16 lowercase hex), ending, away, household (each
    // only ever true), no repeats, no other members. Order is not checked here; Encode(Decode(x)) == x is (verifier §5).
    private static AccessSignals ReadSignals(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new FormatException("The ledger payload property 'signals' must be an object.");
        }

        string? block = null;
        bool ending = false, away = false, household = false;
        var seen = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var member = reader.ValueTextEquals("block"u8) ? 0
                : reader.ValueTextEquals("ending"u8) ? 1
                : reader.ValueTextEquals("away"u8) ? 2
                : reader.ValueTextEquals("household"u8) ? 3
                : throw new FormatException($"The ledger payload property 'signals' has the unknown member '{Safe(reader.GetString()!)}'.");
            if ((seen & (1 << member)) != 0)
            {
                throw new FormatException("The ledger payload property 'signals' repeats a member.");
            }

            seen |= 1 << member;
            reader.Read();
            if (member == 0)
            {
                block = reader.TokenType == JsonTokenType.String && AccessSignals.IsNumberBlock(reader.GetString())
                    ? reader.GetString()
                    : throw new FormatException($"The ledger payload signal 'block' must be a string of {AccessSignals.NumberBlockLength} lowercase hexadecimal characters.");
                continue;
            }

            if (reader.TokenType != JsonTokenType.True)
            {
                throw new FormatException("The ledger payload's signal flags must be true when present (a false flag is omitted).");
            }

            switch (member)
            {
                case 1: ending = true; break;
                case 2: away = true; break;
                default: household = true; break;
            }
        }

        return seen == 0
            ? throw new FormatException("The ledger payload property 'signals' must not be empty (empty signals are omitted).")
            : new AccessSignals { NumberBlock = block, ContractEnding = ending, OtherArea = away, SameHousehold = household };
    }

    // The format-1 property names in canonical order (docs/ledger-format.md §1); the index is the bit in the repeat mask.
    private static readonly string[] PropertyNames =
        ["v", "time", "task", "outcome", "account", "role", "terminal", "store", "ip", "purpose", "subjects", "fields", "unmasked", "error", "target", "reason", "signals"];

    private static int PropertyIndex(ref Utf8JsonReader reader)
    {
        // Canonical order first: a well-formed payload matches within a few comparisons.
        if (reader.ValueTextEquals("v"u8)) { return 0; }
        if (reader.ValueTextEquals("time"u8)) { return 1; }
        if (reader.ValueTextEquals("task"u8)) { return 2; }
        if (reader.ValueTextEquals("outcome"u8)) { return 3; }
        if (reader.ValueTextEquals("account"u8)) { return 4; }
        if (reader.ValueTextEquals("role"u8)) { return 5; }
        if (reader.ValueTextEquals("terminal"u8)) { return 6; }
        if (reader.ValueTextEquals("store"u8)) { return 7; }
        if (reader.ValueTextEquals("ip"u8)) { return 8; }
        if (reader.ValueTextEquals("purpose"u8)) { return 9; }
        if (reader.ValueTextEquals("subjects"u8)) { return 10; }
        if (reader.ValueTextEquals("fields"u8)) { return 11; }
        if (reader.ValueTextEquals("unmasked"u8)) { return 12; }
        if (reader.ValueTextEquals("error"u8)) { return 13; }
        if (reader.ValueTextEquals("target"u8)) { return 14; }
        if (reader.ValueTextEquals("reason"u8)) { return 15; }
        return reader.ValueTextEquals("signals"u8) ? 16 : -1;
    }

    private static string RequireString(ref Utf8JsonReader reader, string name) =>
        reader.TokenType == JsonTokenType.String
            ? reader.GetString()!
            : throw new FormatException($"The ledger payload property '{name}' must be a string.");

    private static void RequireArray(ref Utf8JsonReader reader, string name)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new FormatException($"The ledger payload property '{name}' must be an array.");
        }
    }

    private static List<string> ReadStrings(ref Utf8JsonReader reader, string name)
    {
        RequireArray(ref reader, name);
        var list = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            list.Add(RequireString(ref reader, name));
        }

        return list;
    }

    // Property names from a damaged payload are echoed only when they look like names (never data).
    private static string Safe(string name) =>
        name.Length <= 16 && name.All(char.IsAsciiLetterLower) ? name : "?";

    private sealed class Writer
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(256);

        public void Raw(ReadOnlySpan<byte> bytes) => _buffer.Write(bytes);

        public void Number(long value)
        {
            var span = _buffer.GetSpan(20);
            value.TryFormat(span, out var written, default, CultureInfo.InvariantCulture);
            _buffer.Advance(written);
        }

        public void OptionalString(ReadOnlySpan<byte> prefix, string? value, string field)
        {
            if (value is not null)
            {
                Raw(prefix);
                String(value, field);
            }
        }

        // A flag member of an object: written only when set, comma-separated from the one before.
        public void Flag(ref bool first, ReadOnlySpan<byte> member, bool set)
        {
            if (!set)
            {
                return;
            }

            if (!first)
            {
                Raw(","u8);
            }

            Raw(member);
            first = false;
        }

        public void OptionalStrings(ReadOnlySpan<byte> prefix, IReadOnlyList<string>? values, string field)
        {
            if (values is not { Count: > 0 })
            {
                return;
            }

            Raw(prefix);
            for (var i = 0; i < values.Count; i++)
            {
                if (i > 0)
                {
                    Raw(","u8);
                }

                String(values[i] ?? throw new ArgumentException($"The list '{field}' must not hold null.", field), field);
            }

            Raw("]"u8);
        }

        // RFC 8785 §3.2.2.2: escape only '"', '\' and control characters; everything else as UTF-8.
        public void String(string value, string field)
        {
            Raw("\""u8);
            var start = 0;
            for (var i = 0; i < value.Length; i++)
            {
                var c = value[i];
                if (c >= 0x20 && c != '"' && c != '\\')
                {
                    continue;
                }

                Utf8(value.AsSpan(start, i - start), field);
                switch (c)
                {
                    case '"': Raw("\\\""u8); break;
                    case '\\': Raw("\\\\"u8); break;
                    case '\b': Raw("\\b"u8); break;
                    case '\f': Raw("\\f"u8); break;
                    case '\n': Raw("\\n"u8); break;
                    case '\r': Raw("\\r"u8); break;
                    case '\t': Raw("\\t"u8); break;
                    default:
                        Raw("\\u00"u8);
                        Raw([(byte)"0123456789abcdef"[c >> 4], (byte)"0123456789abcdef"[c & 0xF]]);
                        break;
                }

                start = i + 1;
            }

            Utf8(value.AsSpan(start), field);
            Raw("\""u8);
        }

        public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

        private void Utf8(ReadOnlySpan<char> chars, string field)
        {
            if (chars.IsEmpty)
            {
                return;
            }

            try
            {
                var span = _buffer.GetSpan(StrictUtf8.GetMaxByteCount(chars.Length));
                _buffer.Advance(StrictUtf8.GetBytes(chars, span));
            }
            catch (EncoderFallbackException ex)
            {
                throw new ArgumentException($"The field '{field}' holds an unpaired UTF-16 surrogate.", field, ex);
            }
        }
    }
}
