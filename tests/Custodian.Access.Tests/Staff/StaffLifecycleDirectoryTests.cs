using Custodian.Access.Staff;
using Custodian.Access.Tests.Support;
using Custodian.Identity;
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
    public async Task A_mover_or_leaver_loses_standing_within_the_recheck_interval()
    {
        Assert.True((await _staff.CreateAsync("C0001", StaffRole.Clerk, "S001")).IsSuccess);
        var principal = new StaffPrincipal("C0001", StaffRole.Clerk, "S001", false);
        Assert.True(await _staff.GetStandingAsync(principal));

        Assert.True((await _staff.ChangeRoleAndStoreAsync("C0001", StaffRole.Clerk, "S002")).Value);
        Assert.True(await _staff.GetStandingAsync(principal)); // cached for up to a second
        _env.Time.Advance(StaffDirectory.StandingRecheckInterval);
        Assert.False(await _staff.GetStandingAsync(principal));
        Assert.True(await _staff.GetStandingAsync(principal with { Store = "S002" }));

        Assert.True(await _staff.DisableAsync("C0001"));
        _env.Time.Advance(StaffDirectory.StandingRecheckInterval);
        Assert.False(await _staff.GetStandingAsync(principal with { Store = "S002" }));
        Assert.False((await _staff.ChangeRoleAndStoreAsync("C0001", StaffRole.Clerk, "S002")).Value); // nothing to change
        Assert.Equal("store", (await _staff.ChangeRoleAndStoreAsync("C0001", StaffRole.Clerk, null)).Error!.Errors!.Keys.Single());
    }
}
