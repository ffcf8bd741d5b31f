using Custodian.Access.Staff;
using Custodian.Access.Tests.Support;
using Custodian.Identity;
using Custodian.Problems;
using Custodian.Storage;
using Microsoft.Extensions.Options;
using OtpNet;

namespace Custodian.Access.Tests.Staff;

public sealed class StaffDirectoryTests : IDisposable
{
    private const string NewPassword = "correct horse battery";

    private readonly TestEnvironment _env = TestEnvironment.CreateAsync().GetAwaiter().GetResult();
    private readonly SecretProtector _secrets;
    private readonly ListLogger<StaffDirectory> _log = new();
    private readonly StaffDirectory _staff;

    public StaffDirectoryTests()
    {
        _secrets = SecretProtector.LoadOrCreate(Path.Combine(_env.Directory, "keys", "access-secrets.key"));
        _staff = NewDirectory(1_000);
    }

    public void Dispose() => _env.Dispose();

    private DateTimeOffset Now => _env.Time.GetUtcNow();

    [Fact]
    public async Task Create_returns_a_one_time_password_and_a_TOTP_seed_once()
    {
        var created = await _staff.CreateAsync("C0042", StaffRole.Clerk, "S001");

        Assert.True(created.IsSuccess);
        var account = created.Value;
        Assert.Equal("C0042", account.Id);
        Assert.Equal(16, account.OneTimePassword.Length);
        Assert.All(account.OneTimePassword, c => Assert.True(char.IsAsciiLetterOrDigit(c)));
        Assert.Equal(32, account.TotpSecretBase32.Length);
        Assert.Equal(20, Base32Encoding.ToBytes(account.TotpSecretBase32).Length);
        Assert.Equal($"otpauth://totp/Custodian:C0042?secret={account.TotpSecretBase32}&issuer=Custodian&algorithm=SHA1&digits=6&period=30", account.OtpAuthUri);
        Assert.DoesNotContain(account.OneTimePassword, account.ToString(), StringComparison.Ordinal);

        var info = (await _staff.GetAsync("C0042"))!;
        Assert.Equal(new StaffAccountInfo("C0042", StaffRole.Clerk, "S001", StaffAccountStatus.Active, true, 0, null, TestEnvironment.Start, null), info);
    }

    [Fact]
    public async Task Stored_row_holds_a_PBKDF2_hash_and_an_encrypted_seed_only()
    {
        var account = (await _staff.CreateAsync("C0042", StaffRole.Clerk, "S001")).Value;

        await using var connection = await _env.Db.OpenAsync();
        await using var command = connection.Command("SELECT password_hash, totp_secret FROM staff_accounts WHERE id = 'C0042'");
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        var hash = reader.GetString(0);
        var seed = reader.GetFieldValue<byte[]>(1);

        var parts = hash.Split('$');
        Assert.Equal("pbkdf2-sha256", parts[0]);
        Assert.Equal("1000", parts[1]);
        Assert.Equal(16, Convert.FromBase64String(parts[2]).Length);
        Assert.Equal(Convert.FromBase64String(parts[3]), System.Security.Cryptography.Rfc2898DeriveBytes.Pbkdf2(
            System.Text.Encoding.UTF8.GetBytes(account.OneTimePassword), Convert.FromBase64String(parts[2]), 1000, System.Security.Cryptography.HashAlgorithmName.SHA256, 32));
        Assert.DoesNotContain(account.OneTimePassword, hash, StringComparison.Ordinal);

        var raw = Base32Encoding.ToBytes(account.TotpSecretBase32);
        Assert.Equal(20 + 29, seed.Length);
        Assert.False(seed.AsSpan().IndexOf(raw.AsSpan(0, 8)) >= 0);
    }

    [Theory]
    [InlineData(StaffRole.Clerk)]
    [InlineData(StaffRole.StoreManager)]
    public async Task Store_staff_need_a_store(StaffRole role)
    {
        var result = await _staff.CreateAsync("C1", role, null);
        Assert.Equal(ErrorCodes.ValidationFailed, result.Error!.Code);
        Assert.Equal(["store"], result.Error.Errors!.Keys.ToArray());
    }

    [Theory]
    [InlineData("010-1234-5678")]
    [InlineData("01012345678")]
    [InlineData("011-234-5678")]
    [InlineData("900101-1234567")]
    [InlineData("9001011234567")]
    public async Task A_phone_number_or_RRN_never_becomes_an_account_ID(string id)
    {
        var result = await _staff.CreateAsync(id, StaffRole.Clerk, "S001");
        Assert.Equal(ErrorCodes.ValidationFailed, result.Error!.Code);
        Assert.Equal(["must not be a phone number or resident registration number: use the employee number"], result.Error.Errors!["id"]);
        Assert.DoesNotContain(id, result.Error.Message, StringComparison.Ordinal);
        Assert.Null(await _staff.GetAsync(id));
    }

    [Theory]
    [InlineData("2023104512")] // a 10-digit employee number
    [InlineData("C0001")]
    [InlineData("E-0100-1234")]
    public async Task Employee_numbers_remain_valid_account_IDs(string id)
    {
        Assert.True((await _staff.CreateAsync(id, StaffRole.Clerk, "S001")).IsSuccess);
    }

    [Fact]
    public async Task Officers_may_have_no_store()
    {
        var result = await _staff.CreateAsync("officer", StaffRole.SecurityOfficer, null);
        Assert.True(result.IsSuccess);
        Assert.Null((await _staff.GetAsync("officer"))!.Store);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("-leading")]
    public async Task Malformed_account_ID_is_refused(string id)
    {
        Assert.Equal(ErrorCodes.ValidationFailed, (await _staff.CreateAsync(id, StaffRole.PrivacyOfficer, null)).Error!.Code);
    }

    [Fact]
    public async Task Duplicate_account_is_refused()
    {
        await _staff.CreateAsync("C1", StaffRole.Clerk, "S001");
        var again = await _staff.CreateAsync("C1", StaffRole.Clerk, "S002");

        Assert.Equal(AccessErrorCodes.AccountExists, again.Error!.Code);
        Assert.Equal(409, again.Error.Status);
        Assert.Equal("S001", (await _staff.GetAsync("C1"))!.Store);
    }

    [Fact]
    public async Task One_time_password_with_TOTP_signs_in_and_demands_a_password_change()
    {
        var account = (await _staff.CreateAsync("C1", StaffRole.Clerk, "S001")).Value;

        var principal = await _staff.AuthenticateAsync("C1", account.OneTimePassword, Code(account, Now));

        Assert.True(principal.IsSuccess);
        Assert.Equal(new StaffPrincipal("C1", StaffRole.Clerk, "S001", MustChangePassword: true), principal.Value);
        Assert.Equal(TestEnvironment.Start, (await _staff.GetAsync("C1"))!.LastSignInAt);
    }

    [Fact]
    public async Task Unknown_account_wrong_password_and_wrong_code_look_the_same()
    {
        var account = (await _staff.CreateAsync("C1", StaffRole.Clerk, "S001")).Value;

        var unknown = await _staff.AuthenticateAsync("nobody", account.OneTimePassword, Code(account, Now));
        var wrongPassword = await _staff.AuthenticateAsync("C1", "not the password", Code(account, Now));
        var wrongCode = await _staff.AuthenticateAsync("C1", account.OneTimePassword, OtherCode(Code(account, Now)));
        var garbageCode = await _staff.AuthenticateAsync("C1", account.OneTimePassword, "12ab56");

        foreach (var result in new[] { unknown, wrongPassword, wrongCode, garbageCode })
        {
            Assert.Equal(ErrorCodes.InvalidCredentials, result.Error!.Code);
            Assert.Equal(401, result.Error.Status);
            Assert.Equal(unknown.Error!.Message, result.Error.Message);
        }
    }

    [Fact]
    public async Task An_id_that_names_no_account_is_locked_after_five_failures_exactly_like_an_account()
    {
        var account = (await _staff.CreateAsync("C1", StaffRole.Clerk, "S001")).Value;
        var answers = new List<(string Code, int Status, string Message)>();
        foreach (var id in new[] { "C1", "C404" })
        {
            for (var i = 1; i <= 6; i++)
            {
                var failed = (await _staff.AuthenticateAsync(id, "wrong password " + i, Code(account, Now))).Error!;
                answers.Add((failed.Code, failed.Status, failed.Message));
            }
        }

        var locked = AccessErrors.AccountLocked(TestEnvironment.Start + TimeSpan.FromMinutes(30));
        var expected = Enumerable.Repeat((AccessErrors.InvalidCredentials.Code, 401, AccessErrors.InvalidCredentials.Message), 4)
            .Concat(Enumerable.Repeat((locked.Code, 423, locked.Message), 2)).ToList();
        Assert.Equal([.. expected, .. expected], answers); // the real account and the unknown ID answer alike

        _env.Time.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal(ErrorCodes.InvalidCredentials, (await _staff.AuthenticateAsync("C404", "wrong password 7", Code(account, Now))).Error!.Code);
    }

    [Fact]
    public async Task A_count_that_did_not_lock_starts_afresh_a_lockout_duration_after_its_last_failure_for_an_account_and_an_unknown_id_alike()
    {
        var account = (await _staff.CreateAsync("C1", StaffRole.Clerk, "S001")).Value;
        await _staff.CreateAsync("C2", StaffRole.Clerk, "S001");
        async Task<string> FailAsync(string id) => (await _staff.AuthenticateAsync(id, "wrong password", Code(account, Now))).Error!.Message;

        var answers = new List<string>();
        foreach (var id in new[] { "C1", "C404" })
        {
            for (var i = 0; i < 4; i++)
            {
                answers.Add(await FailAsync(id)); // last failure at t0
            }
        }

        _env.Time.Advance(TimeSpan.FromMilliseconds(1));
        foreach (var id in new[] { "C2", "C405" })
        {
            for (var i = 0; i < 4; i++)
            {
                answers.Add(await FailAsync(id)); // last failure at t0 + 1 ms
            }
        }

        // At t0 + 30 minutes the counts of t0 are stale (a fifth failure counts 1); those of t0 + 1 ms are not (it locks).
        // A failure one millisecond earlier runs this process's sweep (due once a minute) while nothing is stale yet, so the
        // counts below go stale between sweeps and the count itself must start afresh.
        _env.Time.Advance(TimeSpan.FromMinutes(30) - TimeSpan.FromMilliseconds(2));
        await FailAsync("C406");
        _env.Time.Advance(TimeSpan.FromMilliseconds(1));
        var wrong = AccessErrors.InvalidCredentials.Message;
        var locked = AccessErrors.AccountLocked(Now + TimeSpan.FromMinutes(30)).Message;
        Assert.Equal([.. Enumerable.Repeat(wrong, 16)], answers);
        Assert.Equal([wrong, wrong, locked, locked], [await FailAsync("C1"), await FailAsync("C404"), await FailAsync("C2"), await FailAsync("C405")]);
        Assert.Equal((1, 5), ((await _staff.GetAsync("C1"))!.FailedAttempts, (await _staff.GetAsync("C2"))!.FailedAttempts));

        // Counted afresh from 1: three more failures (2, 3 and 4 of 5) answer as wrong for both, the fourth locks both.
        List<string> next = [];
        for (var i = 0; i < 4; i++)
        {
            next.AddRange([await FailAsync("C1"), await FailAsync("C404")]);
        }

        Assert.Equal([wrong, wrong, wrong, wrong, wrong, wrong, locked, locked], next);
    }

    [Fact]
    public async Task Five_consecutive_failures_lock_the_account_for_30_minutes()
    {
        var account = (await _staff.CreateAsync("C1", StaffRole.Clerk, "S001")).Value;
        for (var i = 1; i <= 4; i++)
        {
            Assert.Equal(ErrorCodes.InvalidCredentials, (await _staff.AuthenticateAsync("C1", "wrong password " + i, Code(account, Now))).Error!.Code);
            Assert.Equal(i, (await _staff.GetAsync("C1"))!.FailedAttempts);
        }

        var fifth = await _staff.AuthenticateAsync("C1", "wrong password 5", Code(account, Now));
        Assert.Equal(ErrorCodes.AccountLocked, fifth.Error!.Code);
        Assert.Equal(423, fifth.Error.Status);
        Assert.Equal(TestEnvironment.Start + TimeSpan.FromMinutes(30), (await _staff.GetAsync("C1"))!.LockedUntil);

        // Even the right credentials are refused while locked.
        Assert.Equal(ErrorCodes.AccountLocked, (await _staff.AuthenticateAsync("C1", account.OneTimePassword, Code(account, Now))).Error!.Code);
        _env.Time.Advance(TimeSpan.FromMinutes(30) - TimeSpan.FromSeconds(1));
        Assert.Equal(ErrorCodes.AccountLocked, (await _staff.AuthenticateAsync("C1", account.OneTimePassword, Code(account, Now))).Error!.Code);

        _env.Time.Advance(TimeSpan.FromSeconds(1));
        var after = await _staff.AuthenticateAsync("C1", account.OneTimePassword, Code(account, Now));
        Assert.True(after.IsSuccess);
        var info = (await _staff.GetAsync("C1"))!;
        Assert.Equal(0, info.FailedAttempts);
        Assert.Null(info.LockedUntil);
    }

    [Fact]
    public async Task After_a_lockout_ends_the_count_starts_afresh()
    {
        var account = (await _staff.CreateAsync("C1", StaffRole.Clerk, "S001")).Value;
        for (var i = 0; i < 5; i++)
        {
            await _staff.AuthenticateAsync("C1", "wrong", Code(account, Now));
        }

        _env.Time.Advance(TimeSpan.FromMinutes(30));
        var oneMore = await _staff.AuthenticateAsync("C1", "wrong", Code(account, Now));

        Assert.Equal(ErrorCodes.InvalidCredentials, oneMore.Error!.Code);
        Assert.Equal(1, (await _staff.GetAsync("C1"))!.FailedAttempts);
    }

    [Fact]
    public async Task Success_resets_the_failure_count()
    {
        var account = (await _staff.CreateAsync("C1", StaffRole.Clerk, "S001")).Value;
        for (var i = 0; i < 4; i++)
        {
            await _staff.AuthenticateAsync("C1", "wrong", Code(account, Now));
        }

        Assert.True((await _staff.AuthenticateAsync("C1", account.OneTimePassword, Code(account, Now))).IsSuccess);
        _env.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(ErrorCodes.InvalidCredentials, (await _staff.AuthenticateAsync("C1", "wrong", Code(account, Now))).Error!.Code);
        Assert.Equal(1, (await _staff.GetAsync("C1"))!.FailedAttempts);
    }

    [Fact]
    public async Task Unlock_ends_a_lockout_early()
    {
        var account = (await _staff.CreateAsync("C1", StaffRole.Clerk, "S001")).Value;
        for (var i = 0; i < 5; i++)
        {
            await _staff.AuthenticateAsync("C1", "wrong", Code(account, Now));
        }

        Assert.True(await _staff.UnlockAsync("C1"));
        Assert.False(await _staff.UnlockAsync("nobody"));

        Assert.True((await _staff.AuthenticateAsync("C1", account.OneTimePassword, Code(account, Now))).IsSuccess);
    }

    [Fact]
    public async Task A_TOTP_code_is_refused_the_second_time()
    {
        var account = (await _staff.CreateAsync("C1", StaffRole.Clerk, "S001")).Value;
        var code = Code(account, Now);
        Assert.True((await _staff.AuthenticateAsync("C1", account.OneTimePassword, code)).IsSuccess);

        var replay = await _staff.AuthenticateAsync("C1", account.OneTimePassword, code);
        Assert.Equal(ErrorCodes.InvalidCredentials, replay.Error!.Code);
        Assert.Equal(1, (await _staff.GetAsync("C1"))!.FailedAttempts);

        // Still inside the ±1 step window 30 s later, but its step was used.
        _env.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(ErrorCodes.InvalidCredentials, (await _staff.AuthenticateAsync("C1", account.OneTimePassword, code)).Error!.Code);
        Assert.True((await _staff.AuthenticateAsync("C1", account.OneTimePassword, Code(account, Now))).IsSuccess);
    }

    [Fact]
    public async Task Concurrent_sign_ins_with_one_code_have_exactly_one_winner()
    {
        var account = (await _staff.CreateAsync("C1", StaffRole.Clerk, "S001")).Value;
        var code = Code(account, Now);
        using var start = new ManualResetEventSlim();
        var tasks = Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
        {
            start.Wait();
            return await NewDirectory(1_000).AuthenticateAsync("C1", account.OneTimePassword, code);
        })).ToArray();
        start.Set();

        var results = await Task.WhenAll(tasks);

        Assert.Single(results, r => r.IsSuccess);
    }

    [Theory]
    [InlineData(-60, false)]
    [InlineData(-30, true)]
    [InlineData(0, true)]
    [InlineData(30, true)]
    [InlineData(60, false)]
    public async Task Codes_are_accepted_only_within_one_step_either_side(int offsetSeconds, bool accepted)
    {
        var account = (await _staff.CreateAsync("C1", StaffRole.Clerk, "S001")).Value;
        _env.Time.Advance(TimeSpan.FromSeconds(15)); // mid-step

        var result = await _staff.AuthenticateAsync("C1", account.OneTimePassword, Code(account, Now.AddSeconds(offsetSeconds)));

        Assert.Equal(accepted, result.IsSuccess);
        if (!accepted)
        {
            Assert.Equal(ErrorCodes.InvalidCredentials, result.Error!.Code);
        }
    }

    [Fact]
    public async Task An_earlier_step_after_a_later_one_is_refused()
    {
        var account = (await _staff.CreateAsync("C1", StaffRole.Clerk, "S001")).Value;
        Assert.True((await _staff.AuthenticateAsync("C1", account.OneTimePassword, Code(account, Now.AddSeconds(30)))).IsSuccess);

        Assert.Equal(ErrorCodes.InvalidCredentials, (await _staff.AuthenticateAsync("C1", account.OneTimePassword, Code(account, Now))).Error!.Code);
    }

    [Fact]
    public async Task Disabled_account_with_the_right_credentials_is_told_so()
    {
        var account = (await _staff.CreateAsync("C1", StaffRole.Clerk, "S001")).Value;
        Assert.True(await _staff.DisableAsync("C1"));
        Assert.False(await _staff.DisableAsync("C1"));

        var right = await _staff.AuthenticateAsync("C1", account.OneTimePassword, Code(account, Now));
        var wrong = await _staff.AuthenticateAsync("C1", "wrong", Code(account, Now));

        Assert.Equal(ErrorCodes.AccountDisabled, right.Error!.Code);
        Assert.Equal(403, right.Error.Status);
        Assert.Equal(ErrorCodes.InvalidCredentials, wrong.Error!.Code);
        Assert.Equal(StaffAccountStatus.Disabled, (await _staff.GetAsync("C1"))!.Status);

        Assert.True(await _staff.EnableAsync("C1"));
        _env.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.True((await _staff.AuthenticateAsync("C1", account.OneTimePassword, Code(account, Now))).IsSuccess);
    }

    [Fact]
    public async Task Password_change_clears_the_must_change_flag_and_replaces_the_password()
    {
        var account = (await _staff.CreateAsync("C1", StaffRole.Clerk, "S001")).Value;

        var changed = await _staff.ChangePasswordAsync("C1", account.OneTimePassword, NewPassword, Code(account, Now));

        Assert.True(changed.IsSuccess);
        Assert.True(changed.Value);
        _env.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(ErrorCodes.InvalidCredentials, (await _staff.AuthenticateAsync("C1", account.OneTimePassword, Code(account, Now))).Error!.Code);
        _env.Time.Advance(TimeSpan.FromSeconds(30));
        var principal = await _staff.AuthenticateAsync("C1", NewPassword, Code(account, Now));
        Assert.True(principal.IsSuccess);
        Assert.False(principal.Value.MustChangePassword);
    }

    [Theory]
    [InlineData("short pass1", "must be 12 to 128 characters long")]
    [InlineData("my id is C1 ok!!", "must not contain the account ID")]
    [InlineData("my-c1-password", "must not contain the account ID")]
    [InlineData("aaaaaaaaaaaaaaaa", "must not be one repeated character")]
    [InlineData("custodian rules ok", "must not contain the service name")]
    public async Task Password_policy_is_enforced(string proposed, string rule)
    {
        var account = (await _staff.CreateAsync("C1", StaffRole.Clerk, "S001")).Value;

        var result = await _staff.ChangePasswordAsync("C1", account.OneTimePassword, proposed, Code(account, Now));

        Assert.Equal(ErrorCodes.PasswordPolicy, result.Error!.Code);
        Assert.Equal(400, result.Error.Status);
        Assert.Contains(rule, result.Error.Errors!["newPassword"]);
        Assert.DoesNotContain(proposed, result.Error.Message, StringComparison.Ordinal);

        // A policy refusal consumes neither the code nor an attempt.
        Assert.Equal(0, (await _staff.GetAsync("C1"))!.FailedAttempts);
        Assert.True((await _staff.ChangePasswordAsync("C1", account.OneTimePassword, NewPassword, Code(account, Now))).IsSuccess);
    }

    [Fact]
    public async Task Password_must_differ_from_the_current_one_and_have_at_most_128_characters()
    {
        var account = (await _staff.CreateAsync("C1", StaffRole.Clerk, "S001")).Value;
        Assert.True((await _staff.ChangePasswordAsync("C1", account.OneTimePassword, NewPassword, Code(account, Now))).IsSuccess);
        _env.Time.Advance(TimeSpan.FromSeconds(30));

        var same = await _staff.ChangePasswordAsync("C1", NewPassword, NewPassword, Code(account, Now));
        var tooLong = await _staff.ChangePasswordAsync("C1", NewPassword, new string('x', 64) + new string('y', 65), Code(account, Now));

        Assert.Equal(["must differ from the current password"], same.Error!.Errors!["newPassword"]);
        Assert.Equal(["must be 12 to 128 characters long"], tooLong.Error!.Errors!["newPassword"]);
        Assert.True((await _staff.ChangePasswordAsync("C1", NewPassword, new string('x', 64) + new string('y', 64), Code(account, Now))).IsSuccess);
    }

    [Fact]
    public async Task Password_length_counts_characters_not_bytes()
    {
        var account = (await _staff.CreateAsync("C1", StaffRole.Clerk, "S001")).Value;

        Assert.True((await _staff.ChangePasswordAsync("C1", account.OneTimePassword, "가나다라마바사아자차카타", Code(account, Now))).IsSuccess);
        _env.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.True((await _staff.AuthenticateAsync("C1", "가나다라마바사아자차카타", Code(account, Now))).IsSuccess);
    }

    [Fact]
    public async Task Password_change_needs_the_current_password_and_counts_failures()
    {
        var account = (await _staff.CreateAsync("C1", StaffRole.Clerk, "S001")).Value;

        var result = await _staff.ChangePasswordAsync("C1", "not it at all", NewPassword, Code(account, Now));

        Assert.Equal(ErrorCodes.InvalidCredentials, result.Error!.Code);
        Assert.Equal(1, (await _staff.GetAsync("C1"))!.FailedAttempts);
    }

    [Fact]
    public async Task Reset_issues_new_credentials_and_voids_the_old_ones()
    {
        var old = (await _staff.CreateAsync("C1", StaffRole.Clerk, "S001")).Value;
        await _staff.ChangePasswordAsync("C1", old.OneTimePassword, NewPassword, Code(old, Now));

        var reset = await _staff.ResetCredentialsAsync("C1");

        Assert.True(reset.IsSuccess);
        Assert.NotEqual(old.TotpSecretBase32, reset.Value.TotpSecretBase32);
        Assert.Equal(ErrorCodes.InvalidCredentials, (await _staff.AuthenticateAsync("C1", NewPassword, Code(old, Now))).Error!.Code);
        var principal = await _staff.AuthenticateAsync("C1", reset.Value.OneTimePassword, Code(reset.Value, Now));
        Assert.True(principal.IsSuccess);
        Assert.True(principal.Value.MustChangePassword);
        Assert.Equal(ErrorCodes.NotFound, (await _staff.ResetCredentialsAsync("nobody")).Error!.Code);
    }

    [Fact]
    public async Task Hashes_made_with_fewer_iterations_are_upgraded_at_sign_in()
    {
        var account = (await _staff.CreateAsync("C1", StaffRole.Clerk, "S001")).Value;
        var stronger = NewDirectory(2_000);

        Assert.True((await stronger.AuthenticateAsync("C1", account.OneTimePassword, Code(account, Now))).IsSuccess);

        Assert.StartsWith("pbkdf2-sha256$2000$", await PasswordHashAsync("C1"), StringComparison.Ordinal);
        _env.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.True((await _staff.AuthenticateAsync("C1", account.OneTimePassword, Code(account, Now))).IsSuccess);
    }

    [Fact]
    public async Task List_is_ordered_by_ID()
    {
        await _staff.CreateAsync("officer", StaffRole.SecurityOfficer, null);
        await _staff.CreateAsync("C2", StaffRole.Clerk, "S001");
        await _staff.CreateAsync("C1", StaffRole.StoreManager, "S001");

        var list = await _staff.ListAsync();

        Assert.Equal(["C1", "C2", "officer"], list.Select(a => a.Id).ToArray());
        Assert.Equal([StaffRole.StoreManager, StaffRole.Clerk, StaffRole.SecurityOfficer], list.Select(a => a.Role).ToArray());
    }

    [Fact]
    public void Options_out_of_range_stop_construction()
    {
        Assert.Throws<OptionsValidationException>(() => new StaffDirectory(_env.Db, _secrets, _env.Time, new StaffOptions { PasswordIterations = 10 }));
        Assert.Throws<OptionsValidationException>(() => new StaffDirectory(_env.Db, _secrets, _env.Time, new StaffOptions { LockoutDuration = TimeSpan.Zero }));
        Assert.Throws<OptionsValidationException>(() => new StaffDirectory(_env.Db, _secrets, _env.Time, new StaffOptions { TotpStepTolerance = 5 }));
    }

    [Fact]
    public void Defaults_follow_the_assignment()
    {
        var options = new StaffOptions();
        Assert.Equal(600_000, options.PasswordIterations);
        Assert.Equal(5, options.MaxFailedAttempts);
        Assert.Equal(TimeSpan.FromMinutes(30), options.LockoutDuration);
        Assert.Equal(1, options.TotpStepTolerance);
    }

    [Fact]
    public async Task Secrets_never_reach_the_log()
    {
        var account = (await _staff.CreateAsync("C1", StaffRole.Clerk, "S001")).Value;
        var code1 = Code(account, Now);
        await _staff.AuthenticateAsync("C1", account.OneTimePassword + "x", code1);
        await _staff.AuthenticateAsync("900101-1234567", account.OneTimePassword, code1);
        await _staff.AuthenticateAsync("C1", account.OneTimePassword, code1);
        await _staff.AuthenticateAsync("C1", account.OneTimePassword, code1);
        await _staff.ChangePasswordAsync("C1", account.OneTimePassword, NewPassword, Code(account, Now.AddSeconds(30)));
        var reset = (await _staff.ResetCredentialsAsync("C1")).Value;

        var text = _log.AllText();
        Assert.NotEmpty(_log.Entries);
        Assert.Contains("C1", text, StringComparison.Ordinal);
        foreach (var secret in new[] { account.OneTimePassword, account.TotpSecretBase32, code1, NewPassword, reset.OneTimePassword, reset.TotpSecretBase32, "900101-1234567" })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }

        Assert.All(_log.Entries, e => Assert.InRange(e.Id.Id, 3300, 3399));
    }

    private StaffDirectory NewDirectory(int iterations) =>
        new(_env.Db, _secrets, _env.Time, new StaffOptions { PasswordIterations = iterations }, _log);

    private static string Code(NewAccount account, DateTimeOffset at) =>
        new Totp(Base32Encoding.ToBytes(account.TotpSecretBase32)).ComputeTotp(at.UtcDateTime);

    private static string OtherCode(string code) =>
        ((int.Parse(code, System.Globalization.CultureInfo.InvariantCulture) + 1) % 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);

    private async Task<string> PasswordHashAsync(string id)
    {
        await using var connection = await _env.Db.OpenAsync();
        await using var command = connection.Command("SELECT password_hash FROM staff_accounts WHERE id = @id", ("@id", id));
        return (string)(await command.ExecuteScalarAsync())!;
    }
}
