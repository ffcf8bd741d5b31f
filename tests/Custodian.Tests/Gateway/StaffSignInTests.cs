using System.Net;
using System.Net.Http.Json;
using Custodian.Access.Staff;
using Custodian.Gateway;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Gateway;

public sealed class StaffSignInTests
{
    [Fact]
    public async Task Wrong_password_or_totp_is_refused_then_the_account_locks()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var terminal = await host.EnrollAsync("S001", "counter-1");
        var staff = await host.CreateStaffAsync("C0001", StaffRole.Clerk, "S001", terminal);
        using var client = host.TerminalClient(terminal);

        using var wrongPassword = await client.PostAsJsonAsync("/api/v1/sessions", new SignInRequest("C0001", "not the password", staff.Code(host.Time)));
        using var wrongTotp = await client.PostAsJsonAsync("/api/v1/sessions", new SignInRequest("C0001", staff.Password, "000000"));
        using var unknown = await client.PostAsJsonAsync("/api/v1/sessions", new SignInRequest("nobody", staff.Password, staff.Code(host.Time)));
        for (var i = 0; i < 3; i++)
        {
            using var again = await client.PostAsJsonAsync("/api/v1/sessions", new SignInRequest("C0001", "not the password", staff.Code(host.Time)));
        }

        host.Time.Advance(TimeSpan.FromSeconds(30));
        using var locked = await client.PostAsJsonAsync("/api/v1/sessions", new SignInRequest("C0001", staff.Password, staff.Code(host.Time)));

        await ProblemAssert.IsProblemAsync(wrongPassword, HttpStatusCode.Unauthorized, ErrorCodes.InvalidCredentials);
        await ProblemAssert.IsProblemAsync(wrongTotp, HttpStatusCode.Unauthorized, ErrorCodes.InvalidCredentials);
        await ProblemAssert.IsProblemAsync(unknown, HttpStatusCode.Unauthorized, ErrorCodes.InvalidCredentials);
        await ProblemAssert.IsProblemAsync(locked, (HttpStatusCode)423, ErrorCodes.AccountLocked);
        var signIns = (await host.LedgerAsync()).Where(e => e.Entry.Task == AccessTask.SignIn).ToList();
        Assert.All(signIns, e => Assert.Equal(AccessOutcome.Denied, e.Entry.Outcome));
        Assert.Equal(ErrorCodes.AccountLocked, signIns[^1].Entry.ErrorCode);

        host.Time.Advance(new StaffOptions().LockoutDuration);
        using var client2 = await host.SignInAsync(staff, terminal);
    }

    [Theory]
    [InlineData(null, "account", "is required")]
    [InlineData("", "account", "is required")]
    [InlineData("long", "account", StaffAccountRules.IdFormat)] // 5,000 characters: not "all are required"
    [InlineData("C0001 ", "account", StaffAccountRules.IdFormat)]
    [InlineData("no-otp", "otp", "is required")]
    public async Task A_sign_in_with_a_missing_field_or_a_malformed_account_names_the_field_and_its_rule(string? account, string field, string rule)
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var terminal = await host.EnrollAsync("S001", "counter-1");
        using var client = host.TerminalClient(terminal);
        var request = account switch
        {
            "long" => new SignInRequest(new string('A', 5_000), "a password", "123456"),
            "no-otp" => new SignInRequest("C0001", "a password", null),
            _ => new SignInRequest(account, "a password", "123456"),
        };

        using var response = await client.PostAsJsonAsync("/api/v1/sessions", request);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, ErrorCodes.ValidationFailed);
        var errors = problem.GetProperty("errors");
        Assert.Equal([field], errors.EnumerateObject().Select(p => p.Name));
        Assert.Equal([rule], errors.GetProperty(field).EnumerateArray().Select(e => e.GetString()));
        Assert.DoesNotContain("AAAA", problem.GetRawText(), StringComparison.Ordinal); // never the value
        var refused = Assert.Single(await host.LedgerAsync(), e => e.Entry.Task == AccessTask.SignIn);
        Assert.Equal((AccessOutcome.Denied, ErrorCodes.ValidationFailed, (string?)(account == "no-otp" ? "C0001" : null)), (refused.Entry.Outcome, refused.Entry.ErrorCode, refused.Entry.Account));
    }

    [Fact]
    public async Task One_time_password_must_be_changed_first()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var terminal = await host.EnrollAsync("S001", "counter-1");
        var created = (await host.Get<StaffDirectory>().CreateAsync("C0009", StaffRole.Clerk, "S001")).Value;
        using var client = host.TerminalClient(terminal);
        var totp = new OtpNet.Totp(OtpNet.Base32Encoding.ToBytes(created.TotpSecretBase32));

        using var response = await client.PostAsJsonAsync("/api/v1/sessions", new SignInRequest("C0009", created.OneTimePassword, totp.ComputeTotp(host.Time.GetUtcNow().UtcDateTime)));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, ErrorCodes.PasswordChangeRequired);
    }

    [Fact]
    public async Task Idle_session_is_cut()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var (client, _, _) = await host.ClerkAsync("C0001");
        var phone = host.Population[0].Phone;

        host.Time.Advance(TimeSpan.FromMinutes(14));
        using var active = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone });
        host.Time.Advance(TimeSpan.FromMinutes(16));
        using var idle = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone });

        Assert.Equal(HttpStatusCode.OK, active.StatusCode);
        await ProblemAssert.IsProblemAsync(idle, HttpStatusCode.Unauthorized, ErrorCodes.SessionRequired);
    }

    [Fact]
    public async Task A_session_token_presented_from_another_terminal_is_refused_and_the_session_is_closed()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var (client, _, _) = await host.ClerkAsync("C0001");
        var otherTerminal = await host.EnrollAsync("S001", "counter-2");
        using var thief = host.TerminalClient(otherTerminal);
        thief.DefaultRequestHeaders.Authorization = client.DefaultRequestHeaders.Authorization;
        var phone = host.Population[0].Phone;

        using var stolenToken = await thief.PostAsJsonAsync("/api/v1/subscribers/search", new { phone });
        using var owner = await client.PostAsJsonAsync("/api/v1/subscribers/search", new { phone });

        await ProblemAssert.IsProblemAsync(stolenToken, HttpStatusCode.Unauthorized, ErrorCodes.SessionTerminalMismatch);
        await ProblemAssert.IsProblemAsync(owner, HttpStatusCode.Unauthorized, ErrorCodes.SessionRequired);
        var refusal = (await host.LedgerAsync()).Single(e => e.Entry.ErrorCode == ErrorCodes.SessionTerminalMismatch);
        Assert.Equal("S001-counter-2", refusal.Entry.Terminal);
    }

    [Fact]
    public async Task Clerks_sign_in_only_at_their_own_store()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 10);
        var own = await host.EnrollAsync("S001", "counter-1");
        var other = await host.EnrollAsync("S002", "counter-1");
        var staff = await host.CreateStaffAsync("C0001", StaffRole.Clerk, "S001", own);
        using var client = host.TerminalClient(other);

        using var response = await client.PostAsJsonAsync("/api/v1/sessions", new SignInRequest("C0001", staff.Password, staff.Code(host.Time)));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, StaffApi.StoreMismatch);
    }
}
