using System.Buffers.Text;
using Custodian.Access.Certificates;
using Custodian.Access.Sessions;
using Custodian.Access.Staff;
using Custodian.Access.Tests.Support;
using Custodian.Identity;
using Custodian.Problems;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Custodian.Access.Tests.Sessions;

public sealed class SessionStoreTests
{
    private static readonly StaffPrincipal Clerk = new("C1", StaffRole.Clerk, "S001", false);
    private static readonly StaffPrincipal OtherClerk = new("C2", StaffRole.Clerk, "S001", false);
    private static readonly DeviceIdentity Counter1 = new("S001", "S001-c1", new string('1', 32), new string('a', 64));
    private static readonly DeviceIdentity Counter2 = new("S001", "S001-c2", new string('2', 32), new string('b', 64));

    private readonly FakeTimeProvider _time = new(TestEnvironment.Start);
    private readonly ListLogger<SessionStore> _log = new();
    private readonly SessionStore _store;

    public SessionStoreTests() => _store = new SessionStore(_time, new SessionOptions(), _log);

    [Fact]
    public void Token_is_32_random_bytes_base64url_and_validates_on_its_terminal()
    {
        var session = _store.Create(Clerk, Counter1, "10.0.0.5");

        Assert.Equal(43, session.Token.Length);
        Assert.Equal(32, Base64Url.DecodeFromChars(session.Token).Length);
        Assert.NotEqual(session.Token, _store.Create(Clerk, Counter1, null).Token);
        Assert.Equal(TestEnvironment.Start, session.CreatedAt);
        Assert.Equal(Clerk, session.Principal);
        Assert.Equal(Counter1, session.Terminal);
        Assert.Equal("10.0.0.5", session.SourceIp);

        var validated = _store.Validate(session.Token, Counter1);

        Assert.True(validated.IsSuccess);
        Assert.Same(session, validated.Value);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not-a-session-token")]
    public void Missing_or_unknown_token_needs_a_session(string? token)
    {
        _store.Create(Clerk, Counter1, null);

        var result = _store.Validate(token, Counter1);

        Assert.Equal(ErrorCodes.SessionRequired, result.Error!.Code);
        Assert.Equal(401, result.Error.Status);
    }

    [Fact]
    public void Idle_session_is_cut_after_15_minutes_and_use_restarts_the_clock()
    {
        var session = _store.Create(Clerk, Counter1, null);

        _time.Advance(TimeSpan.FromMinutes(15) - TimeSpan.FromSeconds(1));
        Assert.True(_store.Validate(session.Token, Counter1).IsSuccess);
        Assert.Equal(_time.GetUtcNow(), session.LastSeenAt);

        _time.Advance(TimeSpan.FromMinutes(15) - TimeSpan.FromSeconds(1));
        Assert.True(_store.Validate(session.Token, Counter1).IsSuccess);

        _time.Advance(TimeSpan.FromMinutes(15));
        Assert.Equal(ErrorCodes.SessionRequired, _store.Validate(session.Token, Counter1).Error!.Code);
        Assert.Equal(0, _store.Count);

        // Gone for good, even if time were to look kinder.
        Assert.Equal(ErrorCodes.SessionRequired, _store.Validate(session.Token, Counter1).Error!.Code);
    }

    [Fact]
    public void Active_session_ends_after_12_hours()
    {
        var session = _store.Create(Clerk, Counter1, null);
        for (var i = 0; i < 71; i++)
        {
            _time.Advance(TimeSpan.FromMinutes(10));
            Assert.True(_store.Validate(session.Token, Counter1).IsSuccess);
        }

        _time.Advance(TimeSpan.FromMinutes(10)); // 12 h after sign-in
        Assert.Equal(ErrorCodes.SessionRequired, _store.Validate(session.Token, Counter1).Error!.Code);
    }

    [Fact]
    public void Token_presented_by_another_terminal_is_a_mismatch_and_closes_the_session()
    {
        var session = _store.Create(Clerk, Counter1, null);

        var result = _store.Validate(session.Token, Counter2);

        Assert.Equal(ErrorCodes.SessionTerminalMismatch, result.Error!.Code);
        Assert.Equal(401, result.Error.Status);
        Assert.Equal("The session was opened on another terminal's certificate; sign in again on this terminal.", result.Error.Message);
        Assert.Equal(ErrorCodes.SessionRequired, _store.Validate(session.Token, Counter1).Error!.Code);
    }

    [Fact]
    public void Same_terminal_with_a_replaced_certificate_is_a_mismatch()
    {
        var session = _store.Create(Clerk, Counter1, null);
        var reEnrolled = Counter1 with { SerialHex = new string('9', 32), Sha256Thumbprint = new string('f', 64) };

        var refused = _store.Validate(session.Token, reEnrolled).Error!;
        Assert.Equal(ErrorCodes.SessionTerminalMismatch, refused.Code);
        Assert.Equal("The session was opened with this terminal's previous device certificate; the certificate was renewed since, which ends the sessions opened with it. Sign in again.", refused.Message); // not "another terminal's"
    }

    [Fact]
    public void Revoke_closes_one_session()
    {
        var a = _store.Create(Clerk, Counter1, null);
        var b = _store.Create(Clerk, Counter1, null);

        _store.Revoke(a.Token);
        _store.Revoke("unknown");

        Assert.Equal(ErrorCodes.SessionRequired, _store.Validate(a.Token, Counter1).Error!.Code);
        Assert.True(_store.Validate(b.Token, Counter1).IsSuccess);
    }

    [Fact]
    public void RevokeAccount_closes_every_session_of_that_account_only()
    {
        var a = _store.Create(Clerk, Counter1, null);
        var b = _store.Create(Clerk, Counter2, null);
        var other = _store.Create(OtherClerk, Counter1, null);

        _store.RevokeAccount("C1");

        Assert.False(_store.Validate(a.Token, Counter1).IsSuccess);
        Assert.False(_store.Validate(b.Token, Counter2).IsSuccess);
        Assert.True(_store.Validate(other.Token, Counter1).IsSuccess);
    }

    [Fact]
    public void RevokeTerminal_closes_every_session_on_that_terminal_only()
    {
        var a = _store.Create(Clerk, Counter1, null);
        var b = _store.Create(OtherClerk, Counter2, null);

        _store.RevokeTerminal("S001-c1");

        Assert.False(_store.Validate(a.Token, Counter1).IsSuccess);
        Assert.True(_store.Validate(b.Token, Counter2).IsSuccess);
    }

    [Fact]
    public void Expired_sessions_are_swept()
    {
        _store.Create(Clerk, Counter1, null);
        _store.Create(Clerk, Counter1, null);
        var kept = _store.Create(OtherClerk, Counter1, null);
        _time.Advance(TimeSpan.FromMinutes(10));
        _store.Validate(kept.Token, Counter1);
        _time.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal(2, _store.RemoveExpired());
        Assert.Equal(1, _store.Count);
    }

    [Fact]
    public void Handles_resolve_only_in_the_session_that_made_them()
    {
        var mine = _store.Create(Clerk, Counter1, null);
        var theirs = _store.Create(Clerk, Counter1, null);
        var subscriber = SubscriberId.From(4242);

        var handle = mine.AddHandle(subscriber);

        Assert.Equal(16, handle.Length);
        Assert.Equal(12, Base64Url.DecodeFromChars(handle).Length);
        Assert.True(mine.TryResolveHandle(handle, out var resolved));
        Assert.Equal(subscriber, resolved);
        Assert.False(theirs.TryResolveHandle(handle, out var none));
        Assert.Equal(default, none);
        Assert.False(mine.TryResolveHandle("4242", out _));
        Assert.False(mine.TryResolveHandle(new string('A', 16), out _));
    }

    [Fact]
    public void Same_subscriber_keeps_its_handle_and_different_ones_get_different_handles()
    {
        var session = _store.Create(Clerk, Counter1, null);

        var a = session.AddHandle(SubscriberId.From(1));
        var b = session.AddHandle(SubscriberId.From(2));

        Assert.NotEqual(a, b);
        Assert.Equal(a, session.AddHandle(SubscriberId.From(1)));
        Assert.Equal(2, session.HandleCount);
    }

    [Fact]
    public void Only_the_200_most_recent_handles_are_kept()
    {
        var session = _store.Create(Clerk, Counter1, null);
        var handles = Enumerable.Range(1, 201).Select(i => session.AddHandle(SubscriberId.From(i))).ToArray();

        Assert.Equal(200, session.HandleCount);
        Assert.False(session.TryResolveHandle(handles[0], out _));
        Assert.True(session.TryResolveHandle(handles[1], out var second));
        Assert.Equal(SubscriberId.From(2), second);
        Assert.True(session.TryResolveHandle(handles[200], out var last));
        Assert.Equal(SubscriberId.From(201), last);
    }

    [Fact]
    public void Re_adding_a_subscriber_makes_it_recent_again()
    {
        var session = _store.Create(Clerk, Counter1, null);
        var first = session.AddHandle(SubscriberId.From(1));
        for (var i = 2; i <= 200; i++)
        {
            session.AddHandle(SubscriberId.From(i));
        }

        session.AddHandle(SubscriberId.From(1));
        session.AddHandle(SubscriberId.From(201));

        Assert.True(session.TryResolveHandle(first, out _));
        Assert.Equal(200, session.HandleCount);
    }

    [Fact]
    public void Tokens_never_reach_the_log_or_ToString()
    {
        var session = _store.Create(Clerk, Counter1, null);
        _store.Validate(session.Token, Counter2);

        Assert.DoesNotContain(session.Token, _log.AllText(), StringComparison.Ordinal);
        Assert.Contains(session.Id, _log.AllText(), StringComparison.Ordinal);
        Assert.DoesNotContain(session.Token, session.ToString(), StringComparison.Ordinal);
        Assert.All(_log.Entries, e => Assert.InRange(e.Id.Id, 3400, 3499));
    }

    [Fact]
    public void Defaults_and_validation()
    {
        var options = new SessionOptions();
        Assert.Equal(TimeSpan.FromMinutes(15), options.IdleTimeout);
        Assert.Equal(TimeSpan.FromHours(12), options.AbsoluteLifetime);
        Assert.Equal(200, options.MaxHandlesPerSession);
        Assert.Throws<OptionsValidationException>(() => new SessionStore(_time, new SessionOptions { IdleTimeout = TimeSpan.Zero }));
        Assert.Throws<OptionsValidationException>(() => new SessionStore(_time, new SessionOptions { MaxHandlesPerSession = 0 }));
    }
}
