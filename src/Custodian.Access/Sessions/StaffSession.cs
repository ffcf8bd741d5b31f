using System.Buffers.Text;
using System.Security.Cryptography;
using Custodian.Access.Certificates;
using Custodian.Access.Staff;
using Custodian.Identity;

namespace Custodian.Access.Sessions;

/// <summary>
/// A signed-in staff member on one terminal, created by <see cref="SessionStore.Create"/>. Holds the
/// per-session subscriber handles: a clerk names a subscriber only by a handle that THIS session's
/// search produced, so holding a session never lets anyone name another subscriber by ID (object-level
/// authorisation; the 2014 breach was ID swapping). Thread-safe.
/// </summary>
public sealed class StaffSession
{
    /// <summary>Length of a subscriber handle, in characters (12 random bytes, base64url).</summary>
    public const int HandleLength = 16;

    private readonly Lock _handlesLock = new();
    private readonly Dictionary<string, LinkedListNode<(string Handle, SubscriberId Id)>> _byHandle = new(StringComparer.Ordinal);
    private readonly Dictionary<SubscriberId, LinkedListNode<(string Handle, SubscriberId Id)>> _bySubscriber = [];
    private readonly LinkedList<(string Handle, SubscriberId Id)> _order = new();
    private readonly int _maxHandles;
    private long _lastSeenUtcTicks;
    private long _signedInUtcTicks;

    internal StaffSession(string token, StaffPrincipal principal, DeviceIdentity terminal, string? sourceIp, DateTimeOffset createdAt, int maxHandles, DateTimeOffset? signedInAt = null)
    {
        _signedInUtcTicks = (signedInAt ?? createdAt).UtcTicks;
        Token = token;
        Id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        Principal = principal;
        Terminal = terminal;
        SourceIp = sourceIp;
        CreatedAt = createdAt;
        _lastSeenUtcTicks = createdAt.UtcTicks;
        _maxHandles = maxHandles;
    }

    /// <summary>The bearer token: 32 random bytes, base64url (43 characters). Secret: never log it.</summary>
    public string Token { get; }

    /// <summary>A random identifier of the session (16 hex digits), safe to log and record; it does not authenticate.</summary>
    public string Id { get; }

    /// <summary>Who signed in.</summary>
    public StaffPrincipal Principal { get; }

    /// <summary>The terminal the session is bound to (by its certificate's SHA-256 thumbprint).</summary>
    public DeviceIdentity Terminal { get; }

    /// <summary>The client IP address at sign-in, if known.</summary>
    public string? SourceIp { get; }

    /// <summary>When the session was opened (UTC).</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>
    /// When the sign-in that opened the session began, before its credentials were checked (UTC; at most
    /// <see cref="CreatedAt"/>). The session counts only while the account has not been disabled, re-enabled, reset or
    /// moved since (<see cref="StaffDirectory.GetStandingAsync"/>), so a change made while the sign-in was under way also ends it.
    /// A password change made with this session (<see cref="StaffDirectory.ChangePasswordAsync"/>, which proves the password
    /// and a TOTP code again) moves it forward to the moment the account's other sessions end, so this one goes on.
    /// </summary>
    public DateTimeOffset SignedInAt => new(Interlocked.Read(ref _signedInUtcTicks), TimeSpan.Zero);

    /// <summary>When the session was last validated successfully (UTC).</summary>
    public DateTimeOffset LastSeenAt => new(Interlocked.Read(ref _lastSeenUtcTicks), TimeSpan.Zero);

    /// <summary>Number of handles currently held.</summary>
    public int HandleCount
    {
        get
        {
            lock (_handlesLock)
            {
                return _order.Count;
            }
        }
    }

    /// <summary>
    /// Returns this session's handle for <paramref name="id"/>: a random 16-character base64url string,
    /// the same one again if the subscriber already has a handle here. At most
    /// <see cref="SessionOptions.MaxHandlesPerSession"/> (200) are kept; the least recently added is forgotten.
    /// </summary>
    public string AddHandle(SubscriberId id)
    {
        lock (_handlesLock)
        {
            if (_bySubscriber.TryGetValue(id, out var existing))
            {
                _order.Remove(existing);
                _order.AddLast(existing);
                return existing.Value.Handle;
            }

            string handle;
            do
            {
                handle = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(12));
            }
            while (_byHandle.ContainsKey(handle));

            var node = _order.AddLast((handle, id));
            _byHandle.Add(handle, node);
            _bySubscriber.Add(id, node);
            while (_order.Count > _maxHandles)
            {
                var oldest = _order.First!;
                _order.RemoveFirst();
                _byHandle.Remove(oldest.Value.Handle);
                _bySubscriber.Remove(oldest.Value.Id);
            }

            return handle;
        }
    }

    /// <summary>Resolves a handle that this session produced; false for any other string.</summary>
    public bool TryResolveHandle(string handle, out SubscriberId id)
    {
        id = default;
        if (handle is null || handle.Length != HandleLength)
        {
            return false;
        }

        lock (_handlesLock)
        {
            if (_byHandle.TryGetValue(handle, out var node))
            {
                id = node.Value.Id;
                return true;
            }
        }

        return false;
    }

    /// <summary>Describes the session without its token.</summary>
    public override string ToString() => $"StaffSession {{ Id = {Id}, Account = {Principal.Id}, Terminal = {Terminal.Terminal} }}";

    internal void Touch(DateTimeOffset now) => Interlocked.Exchange(ref _lastSeenUtcTicks, now.UtcTicks);

    /// <summary>Moves <see cref="SignedInAt"/> forward to <paramref name="checkedAt"/> (never back): the credentials were checked again then.</summary>
    internal void Reauthenticated(DateTimeOffset checkedAt)
    {
        var ticks = checkedAt.UtcTicks;
        var seen = Interlocked.Read(ref _signedInUtcTicks);
        while (ticks > seen)
        {
            var previous = Interlocked.CompareExchange(ref _signedInUtcTicks, ticks, seen);
            if (previous == seen)
            {
                return;
            }

            seen = previous;
        }
    }
}
