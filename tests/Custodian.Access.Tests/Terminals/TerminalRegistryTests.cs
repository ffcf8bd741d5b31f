using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using Custodian.Access.Certificates;
using Custodian.Access.Terminals;
using Custodian.Access.Tests.Certificates;
using Custodian.Access.Tests.Support;
using Custodian.Problems;
using Custodian.Storage;

namespace Custodian.Access.Tests.Terminals;

public sealed partial class TerminalRegistryTests : IDisposable
{
    private readonly TestEnvironment _env = TestEnvironment.CreateAsync().GetAwaiter().GetResult();

    public void Dispose() => _env.Dispose();

    private TerminalRegistry NewRegistry() => new(_env.Db, _env.Ca, _env.Time);

    [Fact]
    public async Task Enrollment_code_is_12_base32_characters_valid_24_hours_and_stored_only_as_SHA256()
    {
        var registry = NewRegistry();

        var code = await registry.IssueEnrollmentCodeAsync("S001", "counter-1", null);

        Assert.Equal("S001-counter-1", code.TerminalId);
        Assert.Equal("S001", code.Store);
        Assert.Equal("counter-1", code.Name);
        Assert.Matches(CodePattern(), code.Code);
        Assert.Equal(TestEnvironment.Start + TimeSpan.FromHours(24), code.ExpiresAt);

        await using var connection = await _env.Db.OpenAsync();
        await using var command = connection.Command("SELECT status, code_hash, code_expires_ms FROM terminals WHERE id = 'S001-counter-1'");
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal("pending", reader.GetString(0));
        Assert.Equal(SHA256.HashData(Encoding.ASCII.GetBytes(code.Code.Replace("-", "", StringComparison.Ordinal))), reader.GetFieldValue<byte[]>(1));
        Assert.Equal((TestEnvironment.Start + TimeSpan.FromHours(24)).ToUnixTimeMilliseconds(), reader.GetInt64(2));

        var info = Assert.Single(await registry.ListAsync());
        Assert.Equal(TerminalState.Pending, info.Status);
        Assert.Equal(code.ExpiresAt, info.CodeExpiresAt);
        Assert.Null(info.CertificateThumbprint);
    }

    [Fact]
    public async Task Enroll_issues_a_device_certificate_that_passes_the_per_request_check()
    {
        var registry = NewRegistry();
        var code = await registry.IssueEnrollmentCodeAsync("S001", "counter-1", null);

        var enrolled = await registry.EnrollAsync(code.Code, CertificateAuthorityTests.NewCsr());

        Assert.True(enrolled.IsSuccess);
        Assert.Equal("S001-counter-1", enrolled.Value.TerminalId);
        Assert.Equal("S001", enrolled.Value.Store);
        Assert.Equal(_env.Ca.CertificatePem, enrolled.Value.CaCertificatePem);
        Assert.Equal(TestEnvironment.Start + TimeSpan.FromDays(4), enrolled.Value.NotAfter);

        var identity = Validate(enrolled.Value.CertificatePem);
        var status = await registry.CheckAsync(identity);
        Assert.True(status.IsSuccess);
        Assert.Equal(new TerminalStatus("S001-counter-1", "S001", "counter-1", TestEnvironment.Start + TimeSpan.FromDays(4)), status.Value);

        var info = (await registry.GetAsync("S001-counter-1"))!;
        Assert.Equal(TerminalState.Active, info.Status);
        Assert.Equal(identity.Sha256Thumbprint, info.CertificateThumbprint);
        Assert.Equal(identity.SerialHex, info.CertificateSerial);
        Assert.Equal(TestEnvironment.Start, info.EnrolledAt);
        Assert.Null(info.CodeExpiresAt);
    }

    [Fact]
    public async Task Code_is_accepted_in_any_case_and_without_dashes()
    {
        var registry = NewRegistry();
        var code = await registry.IssueEnrollmentCodeAsync("S001", "c1", null);
        var typed = " " + code.Code.Replace("-", "", StringComparison.Ordinal).ToLowerInvariant();

        Assert.True((await registry.EnrollAsync(typed, CertificateAuthorityTests.NewCsr())).IsSuccess);
    }

    [Fact]
    public async Task Code_works_only_once()
    {
        var registry = NewRegistry();
        var code = await registry.IssueEnrollmentCodeAsync("S001", "c1", null);
        Assert.True((await registry.EnrollAsync(code.Code, CertificateAuthorityTests.NewCsr())).IsSuccess);

        var second = await registry.EnrollAsync(code.Code, CertificateAuthorityTests.NewCsr());

        Assert.Equal(ErrorCodes.EnrollmentCodeInvalid, second.Error!.Code);
        Assert.Equal(403, second.Error.Status);
    }

    [Fact]
    public async Task Concurrent_enrollments_with_one_code_have_exactly_one_winner()
    {
        var code = await NewRegistry().IssueEnrollmentCodeAsync("S001", "c1", null);
        var csrs = Enumerable.Range(0, 8).Select(_ => CertificateAuthorityTests.NewCsr()).ToArray();

        // Separate registries (as separate API nodes would be) racing on the same database.
        using var start = new ManualResetEventSlim();
        var tasks = csrs.Select(csr => Task.Run(async () =>
        {
            start.Wait();
            return await NewRegistry().EnrollAsync(code.Code, csr);
        })).ToArray();
        start.Set();
        var results = await Task.WhenAll(tasks);

        Assert.Single(results, r => r.IsSuccess);
        Assert.All(results.Where(r => !r.IsSuccess), r => Assert.Equal(ErrorCodes.EnrollmentCodeInvalid, r.Error!.Code));
        var winner = results.Single(r => r.IsSuccess).Value;
        Assert.True((await NewRegistry().CheckAsync(Validate(winner.CertificatePem))).IsSuccess);
    }

    [Fact]
    public async Task Code_expires_after_its_lifetime()
    {
        var registry = NewRegistry();
        var code = await registry.IssueEnrollmentCodeAsync("S001", "c1", TimeSpan.FromHours(1));
        Assert.Equal(TestEnvironment.Start + TimeSpan.FromHours(1), code.ExpiresAt);

        _env.Time.Advance(TimeSpan.FromHours(1));
        var result = await registry.EnrollAsync(code.Code, CertificateAuthorityTests.NewCsr());

        Assert.Equal(ErrorCodes.EnrollmentCodeInvalid, result.Error!.Code);
    }

    [Fact]
    public async Task Code_is_still_valid_just_before_expiry()
    {
        var registry = NewRegistry();
        var code = await registry.IssueEnrollmentCodeAsync("S001", "c1", null);

        _env.Time.Advance(TimeSpan.FromHours(24) - TimeSpan.FromSeconds(1));

        Assert.True((await registry.EnrollAsync(code.Code, CertificateAuthorityTests.NewCsr())).IsSuccess);
    }

    [Theory]
    [InlineData("")]
    [InlineData("AAAA-BBBB-CCC")]
    [InlineData("AAAA-BBBB-CCC1")]
    [InlineData("AAAA-BBBB-CCCC")]
    public async Task Unknown_or_malformed_code_is_invalid(string code)
    {
        var registry = NewRegistry();
        await registry.IssueEnrollmentCodeAsync("S001", "c1", null);

        var result = await registry.EnrollAsync(code, CertificateAuthorityTests.NewCsr());

        Assert.Equal(ErrorCodes.EnrollmentCodeInvalid, result.Error!.Code);
        Assert.Equal("The enrollment code is unknown, already used or expired.", result.Error.Message);
    }

    [Fact]
    public async Task Invalid_CSR_is_refused_without_consuming_the_code()
    {
        var registry = NewRegistry();
        var code = await registry.IssueEnrollmentCodeAsync("S001", "c1", null);

        var bad = await registry.EnrollAsync(code.Code, "garbage");
        Assert.Equal(ErrorCodes.CsrInvalid, bad.Error!.Code);

        Assert.True((await registry.EnrollAsync(code.Code, CertificateAuthorityTests.NewCsr())).IsSuccess);
    }

    [Fact]
    public async Task Reissuing_for_a_pending_terminal_replaces_the_code()
    {
        var registry = NewRegistry();
        var first = await registry.IssueEnrollmentCodeAsync("S001", "c1", null);
        var second = await registry.IssueEnrollmentCodeAsync("S001", "c1", TimeSpan.FromHours(2));

        Assert.NotEqual(first.Code, second.Code);
        Assert.Equal(ErrorCodes.EnrollmentCodeInvalid, (await registry.EnrollAsync(first.Code, CertificateAuthorityTests.NewCsr())).Error!.Code);
        Assert.True((await registry.EnrollAsync(second.Code, CertificateAuthorityTests.NewCsr())).IsSuccess);
    }

    [Fact]
    public async Task Reissuing_for_an_active_terminal_is_refused()
    {
        var registry = NewRegistry();
        var code = await registry.IssueEnrollmentCodeAsync("S001", "c1", null);
        await registry.EnrollAsync(code.Code, CertificateAuthorityTests.NewCsr());

        var e = await Assert.ThrowsAsync<CustodianException>(() => registry.IssueEnrollmentCodeAsync("S001", "c1", null));

        Assert.Equal(AccessErrorCodes.TerminalAlreadyActive, e.Error.Code);
        Assert.Equal(409, e.Error.Status);
    }

    [Fact]
    public async Task A_terminal_ID_taken_by_another_store_and_name_pair_is_refused()
    {
        var registry = NewRegistry();
        await registry.IssueEnrollmentCodeAsync("S1", "a-b", null);

        var e = await Assert.ThrowsAsync<CustodianException>(() => registry.IssueEnrollmentCodeAsync("S1-a", "b", null));

        Assert.Equal(ErrorCodes.ValidationFailed, e.Error.Code);
        Assert.Equal("S1", (await registry.GetAsync("S1-a-b"))!.Store);
    }

    [Theory]
    [InlineData("", "c1")]
    [InlineData("S 1", "c1")]
    [InlineData("S1", "-c1")]
    public async Task Malformed_store_or_name_is_refused(string store, string name)
    {
        var e = await Assert.ThrowsAsync<CustodianException>(() => NewRegistry().IssueEnrollmentCodeAsync(store, name, null));
        Assert.Equal(ErrorCodes.ValidationFailed, e.Error.Code);
        Assert.Equal(400, e.Error.Status);
    }

    [Theory]
    [InlineData("S001", "010-9406-2730", "name")]
    [InlineData("S001", "01094062730", "name")]
    [InlineData("900101-1234567", "x", "store")]
    [InlineData("9001011234567", "x", "store")]
    public async Task A_phone_number_or_RRN_never_becomes_a_store_code_or_terminal_name(string store, string name, string field)
    {
        var registry = NewRegistry();
        var e = await Assert.ThrowsAsync<CustodianException>(() => registry.IssueEnrollmentCodeAsync(store, name, null));

        Assert.Equal(ErrorCodes.ValidationFailed, e.Error.Code);
        Assert.Equal([field], e.Error.Errors!.Keys.ToArray());
        Assert.Equal(["must not be a phone number or resident registration number"], e.Error.Errors[field]);
        Assert.DoesNotContain(field == "name" ? name : store, e.Error.Message, StringComparison.Ordinal);
        Assert.Null(await registry.GetAsync(store + "-" + name));
    }

    [Fact]
    public async Task Too_long_a_lifetime_is_refused()
    {
        var e = await Assert.ThrowsAsync<CustodianException>(() => NewRegistry().IssueEnrollmentCodeAsync("S1", "c1", TimeSpan.FromDays(8)));
        Assert.Equal(ErrorCodes.ValidationFailed, e.Error.Code);
    }

    [Fact]
    public async Task Revocation_in_process_takes_effect_on_the_next_check()
    {
        var registry = NewRegistry();
        var identity = await EnrollAsync(registry, "S001", "c1");
        Assert.True((await registry.CheckAsync(identity)).IsSuccess);

        Assert.True(await registry.RevokeAsync("S001-c1", "stolen"));
        var result = await registry.CheckAsync(identity);

        Assert.Equal(ErrorCodes.DeviceCertificateRevoked, result.Error!.Code);
        Assert.Equal(403, result.Error.Status);
        var info = (await registry.GetAsync("S001-c1"))!;
        Assert.Equal(TerminalState.Revoked, info.Status);
        Assert.Equal(TestEnvironment.Start, info.RevokedAt);
        Assert.Equal("stolen", info.RevokeReason);
    }

    [Fact]
    public async Task Revocation_by_another_process_takes_effect_within_one_second()
    {
        var api = NewRegistry();
        var cli = NewRegistry();
        var identity = await EnrollAsync(api, "S001", "c1");
        Assert.True((await api.CheckAsync(identity)).IsSuccess);

        Assert.True(await cli.RevokeAsync("S001-c1", "lost"));

        // Within the recheck interval the API node may still answer from its cache...
        _env.Time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.True((await api.CheckAsync(identity)).IsSuccess);

        // ...but one second after it last read the database, the revocation is seen.
        _env.Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(ErrorCodes.DeviceCertificateRevoked, (await api.CheckAsync(identity)).Error!.Code);
    }

    [Fact]
    public async Task Revoke_reports_whether_anything_changed()
    {
        var registry = NewRegistry();
        await EnrollAsync(registry, "S001", "c1");

        Assert.True(await registry.RevokeAsync("S001-c1", "r"));
        Assert.False(await registry.RevokeAsync("S001-c1", "r"));
        Assert.False(await registry.RevokeAsync("S001-nope", "r"));
    }

    [Fact]
    public async Task Revoking_a_pending_terminal_voids_its_code()
    {
        var registry = NewRegistry();
        var code = await registry.IssueEnrollmentCodeAsync("S001", "c1", null);

        Assert.True(await registry.RevokeAsync("S001-c1", "never mind"));

        Assert.Equal(ErrorCodes.EnrollmentCodeInvalid, (await registry.EnrollAsync(code.Code, CertificateAuthorityTests.NewCsr())).Error!.Code);
    }

    [Fact]
    public async Task Re_enrollment_after_revocation_accepts_only_the_new_certificate()
    {
        var registry = NewRegistry();
        var old = await EnrollAsync(registry, "S001", "c1");
        await registry.RevokeAsync("S001-c1", "replaced hardware");

        var code = await registry.IssueEnrollmentCodeAsync("S001", "c1", null);
        Assert.Equal(ErrorCodes.DeviceCertificateRevoked, (await registry.CheckAsync(old)).Error!.Code);
        var fresh = Validate((await registry.EnrollAsync(code.Code, CertificateAuthorityTests.NewCsr())).Value.CertificatePem);

        Assert.True((await registry.CheckAsync(fresh)).IsSuccess);
        Assert.Equal(ErrorCodes.DeviceCertificateRevoked, (await registry.CheckAsync(old)).Error!.Code);
    }

    [Fact]
    public async Task Certificate_for_a_terminal_never_enrolled_is_untrusted()
    {
        var registry = NewRegistry();
        var issued = _env.Ca.IssueDeviceCertificate(CertificateAuthorityTests.NewCsr(), "S001", "S001-ghost", TimeSpan.FromDays(1)).Value;

        var result = await registry.CheckAsync(Validate(issued.CertificatePem));

        Assert.Equal(ErrorCodes.DeviceCertificateUntrusted, result.Error!.Code);
    }

    [Fact]
    public async Task Certificate_naming_another_store_for_an_enrolled_terminal_is_untrusted()
    {
        var registry = NewRegistry();
        await EnrollAsync(registry, "S001", "c1");
        var issued = _env.Ca.IssueDeviceCertificate(CertificateAuthorityTests.NewCsr(), "S002", "S001-c1", TimeSpan.FromDays(1)).Value;

        Assert.Equal(ErrorCodes.DeviceCertificateUntrusted, (await registry.CheckAsync(Validate(issued.CertificatePem))).Error!.Code);
    }

    [Fact]
    public async Task Another_certificate_of_the_CA_for_an_active_terminal_counts_as_replaced()
    {
        var registry = NewRegistry();
        await EnrollAsync(registry, "S001", "c1");
        var stray = _env.Ca.IssueDeviceCertificate(CertificateAuthorityTests.NewCsr(), "S001", "S001-c1", TimeSpan.FromDays(1)).Value;

        Assert.Equal(ErrorCodes.DeviceCertificateRevoked, (await registry.CheckAsync(Validate(stray.CertificatePem))).Error!.Code);
    }

    [Fact]
    public async Task List_is_ordered_by_ID()
    {
        var registry = NewRegistry();
        await registry.IssueEnrollmentCodeAsync("S002", "b", null);
        await registry.IssueEnrollmentCodeAsync("S001", "a", null);

        Assert.Equal(["S001-a", "S002-b"], (await registry.ListAsync()).Select(t => t.TerminalId).ToArray());
    }

    private async Task<DeviceIdentity> EnrollAsync(TerminalRegistry registry, string store, string name)
    {
        var code = await registry.IssueEnrollmentCodeAsync(store, name, null);
        var enrolled = await registry.EnrollAsync(code.Code, CertificateAuthorityTests.NewCsr());
        return Validate(enrolled.Value.CertificatePem);
    }

    private DeviceIdentity Validate(string certificatePem)
    {
        using var cert = X509Certificate2.CreateFromPem(certificatePem);
        return _env.Ca.ValidateClientCertificate(cert).Value;
    }

    [GeneratedRegex("^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$")]
    private static partial Regex CodePattern();
}
