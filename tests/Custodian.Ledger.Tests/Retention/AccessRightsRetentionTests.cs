using Custodian.Ledger.Retention;
using Microsoft.Extensions.Logging.Abstractions;

namespace Custodian.Ledger.Tests.Retention;

/// <summary>Records of granting, changing and revoking access rights outlive ordinary access logs (PIPA: at least 3 years).</summary>
public sealed class AccessRightsRetentionTests
{
    [Fact]
    public async Task Access_rights_records_are_kept_three_years_while_other_entries_go_after_two()
    {
        await using var f = await LedgerFixture.CreateAsync();
        var ledger = f.NewLedger();
        var tasks = new[] { AccessTask.View, AccessTask.StaffCreated, AccessTask.StaffDisabled, AccessTask.Enrolled, AccessTask.SignIn, AccessTask.CertificateRenewed };
        for (var i = 0; i < tasks.Length; i++)
        {
            await ledger.AppendAsync(new AccessEntry { Time = LedgerFixture.Start.AddMinutes(i), Task = tasks[i], Outcome = AccessOutcome.Allowed, Account = "system", Target = "C0001" });
        }

        f.Time.SetUtcNow(LedgerFixture.Start.AddYears(2).AddDays(1));
        var retention = new LedgerRetention(f.Db, ledger, f.Time, NullLogger<LedgerRetention>.Instance, null);
        Assert.Equal(2, (await retention.RunAsync(dryRun: true)).Entries);
        var first = await retention.RunAsync();

        Assert.Equal(2, first.Entries); // view and sign-in
        Assert.Equal(2, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_entries WHERE erased_by IS NOT NULL AND task IN ('view', 'sign-in')"));
        Assert.Equal(4, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_entries WHERE erased_by IS NULL AND task IN ('staff-created', 'staff-disabled', 'enrolled', 'certificate-renewed')"));
        var verified = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.True(verified.IsValid, verified.Reason);

        f.Time.SetUtcNow(LedgerFixture.Start.AddYears(3).AddDays(1));
        var second = await retention.RunAsync();

        Assert.Equal(4, second.Entries);
        Assert.Equal(0, await f.ScalarAsync("SELECT COUNT(*) FROM ledger_entries WHERE erased_by IS NULL AND seq < 6"));
        verified = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.True(verified.IsValid, verified.Reason);
    }

    [Fact]
    public void Access_rights_retention_below_three_years_is_refused()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new RetentionOptions { AccessRightsYears = 2 }.Validate());
        Assert.Contains("Art. 5(3)", error.Message, StringComparison.Ordinal);
    }
}
