using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.NKeys;

namespace Custodian.Events;

/// <summary>
/// The NATS credentials read from one of <see cref="JetStreamOptions.NKeyFile"/>, <see cref="JetStreamOptions.CredsFile"/>
/// or <see cref="JetStreamOptions.TokenFile"/> (docs/events.md, "Credentials"). The file is read when the settings are
/// read (<see cref="Read"/>: a bad file stops the start), and again at each connection attempt — the first connect and
/// every reconnect — by the NATS.Net <see cref="NatsAuthOpts.AuthCredCallback"/> that <see cref="Callback"/> returns, so
/// that a renewed file (a new user JWT, a rotated seed or token) is used from the next reconnect without a restart. A
/// renewed file that cannot be read or is not valid keeps the last good credentials and logs event 6190 (Warning); a
/// user JWT whose <c>exp</c> has passed logs 6191 (Warning) at each attempt; a file whose credentials changed logs 6192
/// (Information). NATS.Net and NATS.NKeys sign the server's nonce with the seed. The seed and the token are secrets:
/// they are kept in a private buffer, never in a record whose <c>ToString</c> prints them (<see cref="NatsAuthOpts"/> is
/// one), never in a message; the file's bytes are zeroed once parsed, and the replaced buffer once a renewal is taken.
/// Thread-safe: a renewal and the hand-over of the credentials run under one lock.
/// </summary>
internal sealed class NatsCredentials
{
    private readonly NatsCredentialKind _kind;
    private readonly string _path;
    private readonly Lock _gate = new();
    private string? _jwt;
    private char[] _secret;
    private DateTimeOffset? _expires;

    private NatsCredentials(NatsCredentialKind kind, string path, Parsed parsed)
    {
        _kind = kind;
        _path = path;
        _jwt = parsed.Jwt;
        _secret = parsed.Secret;
        _expires = parsed.Expires;
    }

    /// <summary>Which file the credentials came from.</summary>
    public NatsCredentialKind Kind => _kind;

    /// <summary>The setting's name as an environment variable, for messages (never the path): e.g. <c>Custodian__JetStream__NKeyFile</c>.</summary>
    public string Variable => $"Custodian__{JetStreamOptions.Section}__{_kind}File";

    /// <summary>
    /// The NATS.Net callback that hands the credentials to each connection attempt. Each call first reads the file again:
    /// valid credentials replace the current ones (event 6192 when they differ; the replaced secret is zeroed); a file
    /// that cannot be read or is not valid (the rules of <see cref="Read"/>) keeps the current ones and logs event 6190
    /// naming the setting and the rule, never the path or the content. A user JWT whose <c>exp</c> (seconds since the
    /// epoch) is at or before <paramref name="time"/>'s now logs event 6191 and is still handed over: the server judges it.
    /// </summary>
    /// <param name="logger">Where the events 6190–6192 go.</param>
    /// <param name="time">The clock the JWT's expiry is judged by.</param>
    /// <returns>A callback returning an NKey seed (<see cref="NatsAuthCred.FromNkey"/>), a user JWT and seed (<see cref="NatsAuthCred.FromJwt"/>) or a token; it never throws for the file.</returns>
    /// <exception cref="ArgumentNullException">When <paramref name="logger"/> or <paramref name="time"/> is null.</exception>
    public Func<Uri, CancellationToken, ValueTask<NatsAuthCred>> Callback(ILogger logger, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(time);
        return (_, _) =>
        {
            lock (_gate)
            {
                Renew(logger);
                if (_expires is { } expires && expires <= time.GetUtcNow())
                {
                    NatsCredentialsLog.JwtExpired(logger, Variable, expires);
                }

                return ValueTask.FromResult(_kind switch
                {
                    NatsCredentialKind.NKey => NatsAuthCred.FromNkey(new string(_secret)),
                    NatsCredentialKind.Creds => NatsAuthCred.FromJwt(_jwt!, new string(_secret)),
                    _ => NatsAuthCred.FromToken(new string(_secret)),
                });
            }
        };
    }

    /// <summary>Never the secret.</summary>
    /// <returns><c>NatsCredentials(NKey)</c>, <c>NatsCredentials(Creds)</c> or <c>NatsCredentials(Token)</c>.</returns>
    public override string ToString() => $"NatsCredentials({_kind})";

    /// <summary>
    /// Reads the credential file that <paramref name="options"/> names, if any. At most one may be set (checked by
    /// <see cref="JetStreamOptions.Validate"/> before this is called).
    /// </summary>
    /// <param name="options">The JetStream settings.</param>
    /// <param name="credentials">The credentials; null when no file is set or on failure.</param>
    /// <returns>Null on success (or no file); otherwise one sentence naming the setting and the rule, never the path or the content.</returns>
    public static string? Read(JetStreamOptions options, out NatsCredentials? credentials)
    {
        credentials = null;
        var (kind, path) = !string.IsNullOrEmpty(options.NKeyFile) ? (NatsCredentialKind.NKey, options.NKeyFile)
            : !string.IsNullOrEmpty(options.CredsFile) ? (NatsCredentialKind.Creds, options.CredsFile)
            : !string.IsNullOrEmpty(options.TokenFile) ? (NatsCredentialKind.Token, options.TokenFile)
            : (NatsCredentialKind.None, null);
        if (path is null)
        {
            return null;
        }

        var failure = Load(kind, path, out var parsed);
        if (failure is null)
        {
            credentials = new NatsCredentials(kind, path, parsed!);
        }

        return failure;
    }

    // Reads the file again (under _gate): a valid file replaces the credentials, anything else keeps them (event 6190).
    private void Renew(ILogger logger)
    {
        if (Load(_kind, _path, out var parsed) is { } failure)
        {
            NatsCredentialsLog.RenewalFailed(logger, Variable, failure);
            return;
        }

        if (string.Equals(parsed!.Jwt, _jwt, StringComparison.Ordinal) && parsed.Secret.AsSpan().SequenceEqual(_secret))
        {
            Array.Clear(parsed.Secret);
            return;
        }

        Array.Clear(_secret);
        (_jwt, _secret, _expires) = (parsed.Jwt, parsed.Secret, parsed.Expires);
        NatsCredentialsLog.Renewed(logger, Variable);
    }

    // What a valid file holds: the JWT (a .creds file's), the secret (seed or token; the caller zeroes it) and the JWT's expiry.
    private sealed record Parsed(string? Jwt, char[] Secret, DateTimeOffset? Expires);

    // Reads and parses the file; null on success, else the one sentence of Read. The file's bytes and text are zeroed.
    private static string? Load(NatsCredentialKind kind, string path, out Parsed? parsed)
    {
        parsed = null;
        if (SettingFile.TryRead(path, MaxFileBytes, out var read) is { } refused)
        {
            return refused.TooLarge
                ? Rule(kind, Shape(kind) + " (" + refused.Reason + ").")
                : Rule(kind, "must be a readable file (" + refused.Reason + ").");
        }

        var bytes = read!;
        char[] text = [];
        try
        {
            try
            {
                text = new char[StrictUtf8.GetCharCount(bytes)];
                StrictUtf8.GetChars(bytes, text);
            }
            catch (DecoderFallbackException)
            {
                return Rule(kind, Shape(kind) + " (not text).");
            }

            var failure = kind switch
            {
                NatsCredentialKind.NKey => ParseNKey(text, out parsed),
                NatsCredentialKind.Creds => ParseCreds(text, out parsed),
                _ => ParseToken(text, out parsed),
            };
            return failure is null ? null : Rule(kind, Shape(kind) + " (" + failure + ").");
        }
        finally
        {
            Array.Clear(bytes);
            Array.Clear(text);
        }
    }

    // The largest credential file read: a .creds file is about 1-2 KiB; anything far larger is not one.
    private const int MaxFileBytes = 64 * 1024;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static string Shape(NatsCredentialKind kind) => kind switch
    {
        NatsCredentialKind.NKey => "must hold one NKey user seed, a line SU… as 'nk -gen user' writes it, optionally followed by its public key U…",
        NatsCredentialKind.Creds => "must be a NATS credentials file as nsc writes it: a user JWT after -----BEGIN NATS USER JWT----- and its NKey user seed after -----BEGIN USER NKEY SEED-----",
        _ => "must hold the token on one line",
    };

    private static string Rule(NatsCredentialKind kind, string rule)
    {
        var setting = $"Custodian:{JetStreamOptions.Section}:{kind}File";
        return Cli.ConfigurationBinding.WithDocumentPointer($"{setting} {rule}", setting);
    }

    // An NKey file: one line SU… (the seed), optionally a line U… (its public key, as 'nk -gen user -pubout' writes it).
    private static string? ParseNKey(char[] text, out Parsed? parsed)
    {
        parsed = null;
        var seed = Range.All;
        var found = false;
        string? publicLine = null;
        foreach (var line in Lines(text))
        {
            var span = text.AsSpan(line);
            if (span.StartsWith("S", StringComparison.Ordinal))
            {
                if (found)
                {
                    return "more than one seed";
                }

                (seed, found) = (line, true);
            }
            else if (span.StartsWith("U", StringComparison.Ordinal) && publicLine is null)
            {
                publicLine = span.ToString(); // a public key, not secret
            }
            else
            {
                return "a line that is neither a seed nor a user public key";
            }
        }

        if (!found)
        {
            return "no seed";
        }

        var publicKey = UserPublicKey(text.AsSpan(seed));
        if (publicKey is null)
        {
            return "the seed is not a valid NKey user seed";
        }

        if (publicLine is not null && !string.Equals(publicLine, publicKey, StringComparison.Ordinal))
        {
            return "the public key is not the seed's";
        }

        parsed = new Parsed(null, text.AsSpan(seed).ToArray(), null);
        return null;
    }

    // A .creds file: the line after -----BEGIN NATS USER JWT----- is the JWT, the line after -----BEGIN USER NKEY SEED-----
    // the seed (the markers end in 5 or 6 dashes; nsc writes the END lines with 6). The JWT must be a user JWT whose
    // subject is the seed's public key: a file whose two halves do not belong together is refused here, not by the server.
    private static string? ParseCreds(char[] text, out Parsed? parsed)
    {
        parsed = null;
        string? jwt = null;
        Range? seed = null;
        var expect = 0; // 1: the JWT comes next, 2: the seed comes next
        foreach (var line in Lines(text))
        {
            var span = text.AsSpan(line);
            if (expect == 1)
            {
                jwt ??= span.ToString();
                expect = 0;
            }
            else if (expect == 2)
            {
                seed ??= line;
                expect = 0;
            }
            else if (span.StartsWith("-----BEGIN NATS USER JWT-----", StringComparison.Ordinal))
            {
                expect = 1;
            }
            else if (span.StartsWith("-----BEGIN USER NKEY SEED-----", StringComparison.Ordinal))
            {
                expect = 2;
            }
        }

        if (jwt is null)
        {
            return "no user JWT";
        }

        if (seed is not { } seedRange)
        {
            return "no user seed";
        }

        var publicKey = UserPublicKey(text.AsSpan(seedRange));
        if (publicKey is null)
        {
            return "the seed is not a valid NKey user seed";
        }

        if (JwtSubject(jwt, out var expires) is not { } subject)
        {
            return "the JWT is not a NATS user JWT";
        }

        if (!string.Equals(subject, publicKey, StringComparison.Ordinal))
        {
            return "the JWT is not the seed's user";
        }

        parsed = new Parsed(jwt, text.AsSpan(seedRange).ToArray(), expires);
        return null;
    }

    // A token file: one non-empty line without white space (nats-server's authorization { token: … }).
    private static string? ParseToken(char[] text, out Parsed? parsed)
    {
        parsed = null;
        var lines = Lines(text).ToList();
        if (lines.Count != 1)
        {
            return lines.Count == 0 ? "empty" : "more than one line";
        }

        var token = text.AsSpan(lines[0]);
        foreach (var c in token)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                return "white space inside the token";
            }
        }

        parsed = new Parsed(null, token.ToArray(), null);
        return null;
    }

    // The non-blank lines, trimmed, as ranges into text (so that the secret is never copied into a string).
    private static IEnumerable<Range> Lines(char[] text)
    {
        var start = 0;
        for (var i = 0; i <= text.Length; i++)
        {
            if (i < text.Length && text[i] != '\n')
            {
                continue;
            }

            var from = start;
            var to = i;
            while (from < to && char.IsWhiteSpace(text[from]))
            {
                from++;
            }

            while (to > from && char.IsWhiteSpace(text[to - 1]))
            {
                to--;
            }

            if (to > from)
            {
                yield return from..to;
            }

            start = i + 1;
        }
    }

    // The public key (U…) of an NKey user seed (SU…), checked by NATS.NKeys (base32, CRC16, prefixes); null when it is not one.
    private static string? UserPublicKey(ReadOnlySpan<char> seed)
    {
        if (!seed.StartsWith("SU", StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            using var pair = KeyPair.FromSeed(seed);
            return pair.Prefix == PrefixByte.User ? pair.GetPublicKey() : null;
        }
        catch (Exception)
        {
            // NKeysException and the decoder's own exceptions: not a seed. The exception may quote the input: dropped.
            return null;
        }
    }

    // The subject (sub) of a NATS user JWT — three base64url parts, an Ed25519 header (alg ed25519-nkey or ed25519) and
    // claims of type user — or null when it is not one; expires is its exp claim (seconds since the epoch), null when it
    // has none (a JWT that never expires) or it is not a whole number in range. The signature is the server's to verify.
    private static string? JwtSubject(string jwt, out DateTimeOffset? expires)
    {
        expires = null;
        var parts = jwt.Split('.');
        if (parts.Length != 3 || parts.Any(p => p.Length == 0))
        {
            return null;
        }

        try
        {
            using var header = JsonDocument.Parse(Base64Url(parts[0]));
            using var claims = JsonDocument.Parse(Base64Url(parts[1]));
            _ = Base64Url(parts[2]);
            if (header.RootElement.ValueKind != JsonValueKind.Object
                || !header.RootElement.TryGetProperty("alg", out var alg)
                || alg.GetString() is not ("ed25519-nkey" or "ed25519")
                || claims.RootElement.ValueKind != JsonValueKind.Object
                || !claims.RootElement.TryGetProperty("sub", out var sub)
                || sub.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            // JWT v2 keeps the type under "nats"; v1 at the top.
            var type = claims.RootElement.TryGetProperty("nats", out var nats) && nats.ValueKind == JsonValueKind.Object && nats.TryGetProperty("type", out var t) ? t.GetString()
                : claims.RootElement.TryGetProperty("type", out var top) ? top.GetString()
                : null;
            if (!string.Equals(type, "user", StringComparison.Ordinal))
            {
                return null;
            }

            if (claims.RootElement.TryGetProperty("exp", out var exp) && exp.ValueKind == JsonValueKind.Number && exp.TryGetInt64(out var seconds)
                && seconds > 0 && seconds <= DateTimeOffset.MaxValue.ToUnixTimeSeconds())
            {
                expires = DateTimeOffset.FromUnixTimeSeconds(seconds);
            }

            return sub.GetString();
        }
        catch (Exception ex) when (ex is FormatException or JsonException or InvalidOperationException)
        {
            return null;
        }

        static byte[] Base64Url(string part) =>
            System.Buffers.Text.Base64Url.DecodeFromChars(part);
    }
}

/// <summary>Which credential file configures the NATS connection (docs/events.md, "Credentials").</summary>
internal enum NatsCredentialKind
{
    /// <summary>No file: the URL's <c>user:password@</c>, if any.</summary>
    None,

    /// <summary><see cref="JetStreamOptions.NKeyFile"/>.</summary>
    NKey,

    /// <summary><see cref="JetStreamOptions.CredsFile"/>.</summary>
    Creds,

    /// <summary><see cref="JetStreamOptions.TokenFile"/>.</summary>
    Token,
}

/// <summary>
/// Log catalog of the NATS credential files (event IDs 6190–6199, stable; docs/events.md, "Credentials"). Parameters are
/// the setting's environment variable name, a rule sentence and a JWT's expiry: never the file's path or content.
/// </summary>
internal static partial class NatsCredentialsLog
{
    [LoggerMessage(EventId = 6190, Level = LogLevel.Warning, Message = "The renewed NATS credentials were not taken: {Reason} The last good credentials read from {Setting} are used for this connection attempt; the file is read again at the next one.")]
    public static partial void RenewalFailed(ILogger logger, string setting, string reason);

    [LoggerMessage(EventId = 6191, Level = LogLevel.Warning, Message = "The user JWT of {Setting} expired at {Expires:O}; the NATS server refuses it: renew the file (read again at each reconnect).")]
    public static partial void JwtExpired(ILogger logger, string setting, DateTimeOffset expires);

    [LoggerMessage(EventId = 6192, Level = LogLevel.Information, Message = "The NATS credentials in {Setting} changed; the renewed ones are used from this connection attempt.")]
    public static partial void Renewed(ILogger logger, string setting);
}
