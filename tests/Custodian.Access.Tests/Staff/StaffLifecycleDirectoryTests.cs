using Custodian.Access.Staff;
using Custodian.Access.Tests.Support;
using Custodian.Identity;
using Custodian.Problems;
using OtpNet;

namespace Custodian.Access.Tests.Staff;

public sealed class StaffLifecycleDirectoryTests : IDisposable
{
    private readonly TestEnvironment _env = TestEnvironment.CreateAsync().GetAwaiter().GetResult();
    private readonly StaffDirectory _staff;

    public StaffLifecycleDirectoryTests()
    {
        var secrets = SecretProtector.LoadOrCreate(Path.Combine(_env.Directory, "keys", "access-secrets.key"));
        _staff = new StaffDirectory(_env.Db, secrets, _env.Time, new StaffOptions { PasswordIterations = 1_000 });
    }

    public void Dispose() => _env.Dispose();

    [Fact]
    public async Task Dormant_accounts_are_disabled_after_the_period_counted_from_the_last_sign_in_or_creation()
    {
        var active = (await _staff.CreateAsync("C0001", StaffRole.Clerk, "S001")).Value;
        Assert.True((await _staff.CreateAsync("C0002", StaffRole.Clerk, "S001")).IsSuccess); // never signs in
        _env.Time.Advance(TimeSpan.FromDays(60));
        var code = new Totp(Base32Encoding.ToBytes(active.TotpSecretBase32)).ComputeTotp(_env.Time.GetUtcNow().UtcDateTime);
        Assert.True((await _staff.AuthenticateAsync("C0001", active.OneTimePassword, code)).IsSuccess);

        _env.Time.Advance(TimeSpan.FromDays(31));
        Assert.Equal(["C0002"], await _staff.DisableDormantAsync(TimeSpan.FromDays(90)));
        Assert.Equal(StaffAccountStatus.Active, (await _staff.GetAsync("C0001"))!.Status);

        _env.Time.Advance(TimeSpan.FromDays(60));
        Assert.Equal(["C0001"], await _staff.DisableDormantAsync(TimeSpan.FromDays(90)));
        Assert.Empty(await _staff.DisableDormantAsync(TimeSpan.FromDays(90)));
        Assert.Throws<ArgumentOutOfRangeException>(() => _staff.DisableDormantAsync(TimeSpan.FromHours(1)).GetAwaiter().GetResult());
    }

    [Fact]
    public async Task The_dormant_run_keeps_the_officer_who_signed_in_last_when_no_other_officer_is_active()
    {
        Assert.True((await _staff.CreateAsync("O0001", StaffRole.SecurityOfficer, null)).IsSuccess); // never signs in
        var later = (await _staff.CreateAsync("O0002", StaffRole.SecurityOfficer, null)).Value;
        Assert.True((await _staff.CreateAsync("C0001", StaffRole.Clerk, "S001")).IsSuccess);
        _env.Time.Advance(TimeSpan.FromDays(1));
        var code = new Totp(Base32Encoding.ToBytes(later.TotpSecretBase32)).ComputeTotp(_env.Time.GetUtcNow().UtcDateTime);
        Assert.True((await _staff.AuthenticateAsync("O0002", later.OneTimePassword, code)).IsSuccess);

        _env.Time.Advance(TimeSpan.FromDays(100));
        Assert.Equal(["C0001", "O0001"], await _staff.DisableDormantAsync(TimeSpan.FromDays(90)));
        Assert.Equal(StaffAccountStatus.Active, (await _staff.GetAsync("O0002"))!.Status);
        Assert.Empty(await _staff.DisableDormantAsync(TimeSpan.FromDays(90))); // kept again, run after run

        // Once another officer is active, the dormant one goes.
        Assert.True((await _staff.CreateAsync("O0003", StaffRole.SecurityOfficer, null)).IsSuccess);
        Assert.Equal(["O0002"], await _staff.DisableDormantAsync(TimeSpan.FromDays(90)));
    }

    [Fact]
    public async Task A_password_change_ends_standing_of_sessions_opened_before_it_but_not_of_the_session_kept()
    {
        var account = (await _staff.CreateAsync("C0001", StaffRole.Clerk, "S001")).Value;
        var totp = new Totp(Base32Encoding.ToBytes(account.TotpSecretBase32));
        Assert.True((await _staff.ChangePasswordAsync("C0001", account.OneTimePassword, "first own passphrase 1", totp.ComputeTotp(_env.Time.GetUtcNow().UtcDateTime))).IsSuccess);
        _env.Time.Advance(TimeSpan.FromSeconds(30));
        var principal = new StaffPrincipal("C0001", StaffRole.Clerk, "S001", false);
        var sessions = new Custodian.Access.Sessions.SessionStore(_env.Time, new Custodian.Access.Sessions.SessionOptions());
        var terminal = new Custodian.Access.Certificates.DeviceIdentity("S001", "S001-t1", "01", new string('a', 64));
        var other = sessions.Create(principal, terminal, null);
        var changer = sessions.Create(principal, terminal, null);
        Assert.True(await _staff.GetStandingAsync(principal, other.SignedInAt));

        _env.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.True((await _staff.ChangePasswordAsync("C0001", "first own passphrase 1", "second own passphrase 2", totp.ComputeTotp(_env.Time.GetUtcNow().UtcDateTime), keepSession: changer)).IsSuccess);

        Assert.Equal(_env.Time.GetUtcNow(), changer.SignedInAt);
        Assert.False(await _staff.GetStandingAsync(principal, other.SignedInAt)); // at once on this node, and on every node that reads the row
        Assert.True(await _staff.GetStandingAsync(principal, changer.SignedInAt));
        await Assert.ThrowsAsync<ArgumentException>(() => _staff.ChangePasswordAsync("C0002", "x", "third own passphrase 3", "000000", keepSession: changer));
    }

    [Fact]
    public async Task A_mover_or_leaver_loses_standing_within_the_recheck_interval()
    {
        Assert.True((await _staff.CreateAsync("C0001", StaffRole.Clerk, "S001")).IsSuccess);
        var principal = new StaffPrincipal("C0001", StaffRole.Clerk, "S001", false);
        var opened = _env.Time.GetUtcNow();
        Assert.True(await _staff.GetStandingAsync(principal, opened));

        Assert.True((await _staff.ChangeRoleAndStoreAsync("C0001", StaffRole.Clerk, "S002")).Value);
        Assert.True(await _staff.GetStandingAsync(principal, opened)); // cached for up to a second
        _env.Time.Advance(StaffDirectory.StandingRecheckInterval);
        Assert.False(await _staff.GetStandingAsync(principal, opened));
        Assert.True(await _staff.GetStandingAsync(principal with { Store = "S002" }, _env.Time.GetUtcNow()));

        Assert.True(await _staff.DisableAsync("C0001"));
        _env.Time.Advance(StaffDirectory.StandingRecheckInterval);
        Assert.False(await _staff.GetStandingAsync(principal with { Store = "S002" }, _env.Time.GetUtcNow()));
        Assert.False((await _staff.ChangeRoleAndStoreAsync("C0001", StaffRole.Clerk, "S002")).Value); // nothing to change
        Assert.Equal("store", (await _staff.ChangeRoleAndStoreAsync("C0001", StaffRole.Clerk, null)).Error!.Errors!.Keys.Single());
    }

    [Fact]
    public async Task A_session_opened_before_a_disable_reset_or_move_never_counts_again_even_once_the_account_is_back_as_it_was()
    {
        Assert.True((await _staff.CreateAsync("C0001", StaffRole.Clerk, "S001")).IsSuccess);
        var principal = new StaffPrincipal("C0001", StaffRole.Clerk, "S001", false);
        var tick = TimeSpan.FromMilliseconds(1);

        // Disabled (as the CLI, the HR feed or the console do) and enabled again.
        var opened = _env.Time.GetUtcNow();
        _env.Time.Advance(tick);
        Assert.True(await _staff.DisableAsync("C0001"));
        Assert.True(await _staff.EnableAsync("C0001"));
        Assert.False(await _staff.GetStandingAsync(principal, opened));
        Assert.False(await _staff.GetStandingAsync(principal, opened + tick - TimeSpan.FromTicks(1))); // compared in whole milliseconds
        Assert.True(await _staff.GetStandingAsync(principal, _env.Time.GetUtcNow())); // a session opened since counts

        // Credentials reset.
        opened = _env.Time.GetUtcNow();
        _env.Time.Advance(tick);
        Assert.True((await _staff.ResetCredentialsAsync("C0001")).IsSuccess);
        _env.Time.Advance(StaffDirectory.StandingRecheckInterval);
        Assert.False(await _staff.GetStandingAsync(principal, opened));
        Assert.True(await _staff.GetStandingAsync(principal, _env.Time.GetUtcNow()));

        // Moved to another store and back.
        opened = _env.Time.GetUtcNow();
        _env.Time.Advance(tick);
        Assert.True((await _staff.ChangeRoleAndStoreAsync("C0001", StaffRole.Clerk, "S002")).Value);
        Assert.True((await _staff.ChangeRoleAndStoreAsync("C0001", StaffRole.Clerk, "S001")).Value);
        _env.Time.Advance(StaffDirectory.StandingRecheckInterval);
        Assert.False(await _staff.GetStandingAsync(principal, opened));

        // Disabled as dormant, then enabled.
        opened = _env.Time.GetUtcNow();
        _env.Time.Advance(TimeSpan.FromDays(91));
        Assert.Equal(["C0001"], await _staff.DisableDormantAsync(TimeSpan.FromDays(90)));
        Assert.True(await _staff.EnableAsync("C0001"));
        Assert.False(await _staff.GetStandingAsync(principal, opened));

        // Unlocking and a refused change end nothing.
        opened = _env.Time.GetUtcNow();
        _env.Time.Advance(tick);
        Assert.True(await _staff.UnlockAsync("C0001"));
        Assert.False(await _staff.EnableAsync("C0001"));
        Assert.False((await _staff.ChangeRoleAndStoreAsync("C0001", StaffRole.Clerk, "S001")).Value);
        _env.Time.Advance(StaffDirectory.StandingRecheckInterval);
        Assert.True(await _staff.GetStandingAsync(principal, opened));
    }

    [Fact]
    public async Task The_last_active_security_officer_is_neither_disabled_nor_moved_by_the_guarded_changes()
    {
        Assert.True((await _staff.CreateAsync("O0001", StaffRole.SecurityOfficer, null)).IsSuccess);
        Assert.True((await _staff.CreateAsync("O0002", StaffRole.SecurityOfficer, null)).IsSuccess);
        Assert.True((await _staff.CreateAsync("C0001", StaffRole.Clerk, "S001")).IsSuccess);

        Assert.True((await _staff.DisableKeepingAnOfficerAsync("O0002")).Value);
        var refused = await _staff.DisableKeepingAnOfficerAsync("O0001");
        Assert.Equal(
            (ErrorCodes.ValidationFailed, 400, "status: " + StaffAccountRules.LastOfficerRule),
            (refused.Error!.Code, refused.Error.Status, refused.Error.Message));
        var moved = await _staff.ChangeRoleAndStoreAsync("O0001", StaffRole.Clerk, "S001", keepAnOfficer: true);
        Assert.Equal("role: " + StaffAccountRules.LastOfficerRule, moved.Error!.Message);
        Assert.True((await _staff.ChangeRoleAndStoreAsync("O0001", StaffRole.SecurityOfficer, "HQ", keepAnOfficer: true)).Value); // stays an officer
        Assert.Equal(StaffAccountStatus.Active, (await _staff.GetAsync("O0001"))!.Status);
        Assert.Equal(StaffRole.SecurityOfficer, (await _staff.GetAsync("O0001"))!.Role);

        // Others are unaffected; the unguarded call (the simulation's own account, tests) still disables.
        Assert.True((await _staff.DisableKeepingAnOfficerAsync("C0001")).Value);
        Assert.False((await _staff.DisableKeepingAnOfficerAsync("C0001")).Value);
        Assert.False((await _staff.DisableKeepingAnOfficerAsync("NOBODY")).Value);
        Assert.True(await _staff.EnableAsync("O0002"));
        Assert.True((await _staff.DisableKeepingAnOfficerAsync("O0001")).Value);
    }
}
