using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using Custodian.Access.Certificates;
using Custodian.Access.Terminals;
using Custodian.Cli;
using Custodian.Client;
using Custodian.Gateway;
using Custodian.Hosting;
using Custodian.Ledger;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using static Custodian.Tests.AccessGateway.DeviceCertificateTestKit;

namespace Custodian.Tests.AccessGateway;

/// <summary>CA rotation end to end: servers restarted on one data directory, terminals on both CAs, the CLI verbs.</summary>
[Collection(nameof(Cli.CliCollection))]
[Trait("Backend", "Sqlite")] // its servers and verbs run on a SQLite data directory whatever CUSTODIAN_TEST_BACKEND says: the PostgreSQL pass skips it (scripts/test.sh)
public sealed class CaRotationTests : IDisposable
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("custodian-rotation-");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _data.Delete(recursive: true);
    }

    private async Task<WebApplication> StartAsync(string? directory = null)
    {
        var options = new CustodianOptions { DataDirectory = directory ?? _data.FullName, TerminalPort = 0, PortalPort = 0, PasswordIterations = 1_000 };
        var app = CustodianServer.Build(options, TimeProvider.System, configureLogging: _ => { });
        await CustodianComposition.InitialiseAsync(app.Services);
        await app.StartAsync();
        return app;
    }

    private static async Task<(X509Certificate2 Certificate, string CaPem)> EnrollAsync(WebApplication app, string name)
    {
        var ca = app.Services.GetRequiredService<CertificateAuthority>();
        var code = await app.Services.GetRequiredService<TerminalRegistry>().IssueEnrollmentCodeAsync("S001", name, null);
        var (keyPem, csrPem) = TerminalCredentials.CreateKeyAndCsr(name);
        using var pinned = X509Certificate2.CreateFromPem(ca.ServerIssuerPem);
        using var client = TerminalHttp.Create(Url(app), pinned, null);
        using var response = await client.PostAsJsonAsync("/api/v1/enroll", new EnrollRequest(code.Code, csrPem));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<EnrollResponse>())!;
        return (WithKey(body.Certificate, keyPem), body.CaCertificate);
    }

    private static Uri Url(WebApplication app) => app.Services.GetRequiredService<ServerEndpoints>().TerminalUrl;

    private static X509Certificate2Collection Bundle(string pem)
    {
        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPem(pem);
        return bundle;
    }

    private static async Task<HttpStatusCode> ProbeAsync(WebApplication app, X509Certificate2Collection trusted, X509Certificate2 certificate)
    {
        using var client = TerminalHttp.Create(Url(app), trusted, certificate);
        using var response = await client.PostAsJsonAsync("/api/v1/sessions", new { account = "nobody", password = "wrong password 123", otp = "000000" });
        return response.StatusCode;
    }

    [Fact]
    public async Task Ca_status_with_no_terminal_left_on_the_previous_CA_says_the_rotation_can_be_finished_instead_of_an_empty_list()
    {
        var data = _data.FullName;
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["ca", "rotate", "--data", data]));
        var (code, stdout, stderr) = await Cli.CliCapture.RunAsync(["ca", "status", "--data", data]);
        Assert.Equal((0, ""), (code, stderr));
        var rotation = Assert.Single(stdout.Split('\n'), line => line.StartsWith("Rotation started ", StringComparison.Ordinal));
        Assert.EndsWith("; every active terminal has renewed since: 'custodian ca finish-rotation' can retire the previous CA (then restart the server).", rotation, StringComparison.Ordinal);
        Assert.Equal(0, await CustodianCli.RunAsync(["ca", "finish-rotation", "--data", data])); // and it can, without --force
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // the restored key's Unix mode; Custodian runs on Linux hosts
    public async Task A_backup_taken_during_a_rotation_restores_the_previous_CA_so_a_terminal_not_yet_renewed_is_still_served()
    {
        var data = _data.FullName;
        X509Certificate2 early;
        string oldBundlePem;
        await using (var before = await StartAsync())
        {
            (early, oldBundlePem) = await EnrollAsync(before, "early");
            await before.StopAsync();
        }

        Assert.Equal(0, await CustodianCli.RunAsync(["ca", "rotate", "--data", data]));
        var backup = Path.Combine(data, "..", _data.Name + "-backup");
        var restored = Path.Combine(data, "..", _data.Name + "-restored");
        try
        {
            Assert.Equal(0, await CustodianCli.RunAsync(["backup", backup, "--data", data]));
            Assert.False(File.Exists(Path.Combine(backup, "plain", "ca", "previous", CertificateAuthority.KeyFileName))); // sealed, never plain
            Assert.True(File.Exists(Path.Combine(backup, "sealed", "ca_previous_ca.key.sealed")));
            Assert.Equal(0, await CustodianCli.RunAsync(["restore", backup, "--data", restored, "--master-key", Path.Combine(data, "keys", "master.key")]));

            const string previous = CertificateAuthority.PreviousDirectoryName;
            foreach (var name in new[] { CertificateAuthority.CertificateFileName, CertificateAuthority.KeyFileName })
            {
                Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(data, "ca", previous, name)), await File.ReadAllBytesAsync(Path.Combine(restored, "ca", previous, name)));
            }

            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(restored, "ca", previous, CertificateAuthority.KeyFileName)));

            // The restored server is still in the overlap: it presents the old CA's server certificate, which the terminal
            // pins, and accepts the terminal's old-CA certificate (401: past the device gateway, at the sign-in).
            var oldBundle = Bundle(oldBundlePem);
            await using var after = await StartAsync(restored);
            var ca = after.Services.GetRequiredService<CertificateAuthority>();
            Assert.Equal(oldBundle[0].RawData, ca.PreviousCertificate?.RawData);
            Assert.Equal(HttpStatusCode.Unauthorized, await ProbeAsync(after, oldBundle, early));
            await after.StopAsync();
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var directory in new[] { backup, restored }.Where(Directory.Exists))
            {
                Directory.Delete(directory, recursive: true);
            }

            early.Dispose();
        }
    }

    [Fact]
    public async Task Both_CAs_are_trusted_during_the_overlap_and_only_the_new_one_after_it()
    {
        var data = _data.FullName;
        X509Certificate2 early, late;
        string oldBundlePem;
        await using (var before = await StartAsync())
        {
            (early, oldBundlePem) = await EnrollAsync(before, "early");
            (late, _) = await EnrollAsync(before, "late");
            await before.StopAsync();
        }

        Assert.Equal(0, await CustodianCli.RunAsync(["ca", "rotate", "--data", data]));
        Assert.Equal(2, await CustodianCli.RunAsync(["ca", "rotate", "--data", data])); // one rotation at a time
        var oldBundle = Bundle(oldBundlePem);
        X509Certificate2 renewed;
        string renewedBundlePem;
        await using (var overlap = await StartAsync())
        {
            var ca = overlap.Services.GetRequiredService<CertificateAuthority>();
            Assert.NotNull(ca.PreviousCertificate);
            Assert.Equal(oldBundle[0].RawData, ca.PreviousCertificate!.RawData);

            // Terminals that know only the old CA still reach the server, and their old-CA certificates are accepted.
            Assert.Equal(HttpStatusCode.Unauthorized, await ProbeAsync(overlap, oldBundle, early));
            Assert.Equal(HttpStatusCode.Unauthorized, await ProbeAsync(overlap, oldBundle, late));

            // Renewal moves a terminal to the new CA and hands it both CAs.
            using (var client = TerminalHttp.Create(Url(overlap), oldBundle, early))
            {
                var (keyPem, csrPem) = TerminalCredentials.CreateKeyAndCsr("early");
                using var response = await client.PostAsJsonAsync("/api/v1/terminal/renewals", new RenewRequest(csrPem));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                var body = (await response.Content.ReadFromJsonAsync<RenewResponse>())!;
                renewed = WithKey(body.Certificate, keyPem);
                renewedBundlePem = body.CaCertificate;
            }

            Assert.Equal(ca.Certificate.Subject, renewed.Issuer);
            Assert.Equal(2, Bundle(renewedBundlePem).Count);
            Assert.Equal(HttpStatusCode.Unauthorized, await ProbeAsync(overlap, oldBundle, renewed));

            // 'late' has not renewed: finishing is refused without --force.
            await overlap.StopAsync();
        }

        Assert.Equal(0, await CustodianCli.RunAsync(["ca", "status", "--data", data]));
        Assert.Equal(2, await CustodianCli.RunAsync(["ca", "finish-rotation", "--data", data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["ca", "finish-rotation", "--data", data, "--force"]));
        Assert.Equal(2, await CustodianCli.RunAsync(["ca", "finish-rotation", "--data", data]));

        await using (var after = await StartAsync())
        {
            var renewedBundle = Bundle(renewedBundlePem);
            Assert.Equal(HttpStatusCode.Unauthorized, await ProbeAsync(after, renewedBundle, renewed));

            using var client = TerminalHttp.Create(Url(after), renewedBundle, late);
            using var refused = await client.PostAsJsonAsync("/api/v1/sessions", new { account = "nobody", password = "x", otp = "000000" });
            await Infrastructure.ProblemAssert.IsProblemAsync(refused, HttpStatusCode.Forbidden, Problems.ErrorCodes.DeviceCertificateUntrusted);

            var rotations = new List<AccessEntry>();
            await foreach (var e in after.Services.GetRequiredService<IAccessLedgerReader>().ReadAsync(0))
            {
                if (e.Entry.Task == AccessTask.CaRotated)
                {
                    rotations.Add(e.Entry);
                }
            }

            Assert.Equal(2, rotations.Count);
            Assert.Equal(CaCommands.RotationStartedReason(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(oldBundle[0].RawData))), rotations[0].Reason);
            Assert.StartsWith("CA rotation finished", rotations[1].Reason, StringComparison.Ordinal);
            await after.StopAsync();
        }

        early.Dispose();
        late.Dispose();
        renewed.Dispose();
    }

    [Fact]
    public void The_rotation_reason_writes_the_previous_fingerprint_so_that_it_is_never_read_as_a_phone_number()
    {
        // A real shape: about one SHA-256 in 180 holds a digit run like this one (02 1234 5678, a Seoul landline) between
        // hex letters. Written plainly into the reason, the ledger refused it and 'ca rotate' failed with exit 1 after the
        // new CA was already in place (an intermittent CI failure of the test above).
        const string fingerprint = "ab0212345678cdef00112233445566778899aabbccddeeff00112233445566ff";
        Assert.True(Classification.FreeText.ContainsPersonalData($"previous CA {fingerprint} stays trusted"));

        var reason = CaCommands.RotationStartedReason(fingerprint);

        Assert.Equal(
            "CA rotation started; previous CA SHA-256 AB:02:12:34:56:78:CD:EF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:FF stays trusted until the rotation is finished",
            reason);
        Assert.False(Classification.FreeText.ContainsPersonalData(reason));
    }

    [Fact]
    public async Task A_server_not_restarted_after_ca_rotate_refuses_enrollment_and_renewal_instead_of_issuing_from_the_previous_CA()
    {
        // Found by a new user: a terminal's daily renewal between 'ca rotate' and the restart got a certificate of the
        // previous CA, yet counted as renewed since the rotation; 'ca finish-rotation' then went through without --force
        // and the terminal was locked out after the next restart while 'terminals list' showed it active.
        var data = _data.FullName;
        await using (var running = await StartAsync())
        {
            var (early, bundlePem) = await EnrollAsync(running, "early");
            Assert.Equal(0, await CustodianCli.RunAsync(["ca", "rotate", "--data", data]));

            using (var client = TerminalHttp.Create(Url(running), Bundle(bundlePem), early))
            {
                var (_, csrPem) = TerminalCredentials.CreateKeyAndCsr("early");
                using var renewal = await client.PostAsJsonAsync("/api/v1/terminal/renewals", new RenewRequest(csrPem));
                await Infrastructure.ProblemAssert.IsProblemAsync(renewal, HttpStatusCode.ServiceUnavailable, Problems.ErrorCodes.CaRestartRequired);
            }

            var code = await running.Services.GetRequiredService<TerminalRegistry>().IssueEnrollmentCodeAsync("S001", "late", null);
            var (_, lateCsr) = TerminalCredentials.CreateKeyAndCsr("late");
            using var pinned = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(running.Services.GetRequiredService<CertificateAuthority>().ServerIssuerPem);
            using (var client = TerminalHttp.Create(Url(running), pinned, null))
            {
                using var enrollment = await client.PostAsJsonAsync("/api/v1/enroll", new EnrollRequest(code.Code, lateCsr));
                await Infrastructure.ProblemAssert.IsProblemAsync(enrollment, HttpStatusCode.ServiceUnavailable, Problems.ErrorCodes.CaRestartRequired);
            }

            Assert.Equal(TerminalState.Active, (await running.Services.GetRequiredService<TerminalRegistry>().ListAsync()).Single(t => t.Name == "early").Status);
            await running.StopAsync();
            early.Dispose();
        }

        // Nobody renewed: 'ca status' still names the terminal, and after the restart its renewal comes from the new CA.
        Assert.Equal(2, await CustodianCli.RunAsync(["ca", "finish-rotation", "--data", data]));
        await using var restarted = await StartAsync();
        var (late, _) = await EnrollAsync(restarted, "late");
        Assert.Equal(restarted.Services.GetRequiredService<CertificateAuthority>().Certificate.Subject, late.Issuer);
        late.Dispose();
        await restarted.StopAsync();
    }

    /// <summary>Every file under the CA directory (relative path → bytes), to compare before and after a command.</summary>
    private static SortedDictionary<string, string> CaFiles(string data)
    {
        var ca = DataPaths.For(data).CertificateAuthority;
        return new(Directory.EnumerateFiles(ca, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(ca, f), f => Convert.ToHexString(File.ReadAllBytes(f))), StringComparer.Ordinal);
    }

    /// <summary>Makes the ledger refuse (abort) every <c>ca-rotated</c> entry and nothing else, as an unavailable ledger would.</summary>
    private static void RefuseCaRotatedEntries(string data)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={DataPaths.For(data).Database};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "CREATE TRIGGER test_refuse_ca_rotated BEFORE INSERT ON ledger_entries WHEN NEW.task = 'ca-rotated' BEGIN SELECT RAISE(ABORT, 'test: ca-rotated refused'); END;";
        command.ExecuteNonQuery();
    }

    private static async Task<int> CaRotatedEntriesAsync(string data)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={DataPaths.For(data).Database};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM ledger_entries WHERE task = 'ca-rotated'";
        return Convert.ToInt32(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Ca_rotate_whose_ledger_entry_fails_puts_the_CA_files_back_byte_for_byte_and_exits_2()
    {
        var data = _data.FullName;
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", data]));
        var before = CaFiles(data);
        Assert.Equal(["ca.crt", "ca.key"], before.Keys);
        var keyPath = Path.Combine(DataPaths.For(data).CertificateAuthority, "ca.key");
        var keyMode = OperatingSystem.IsWindows() ? default : File.GetUnixFileMode(keyPath);
        RefuseCaRotatedEntries(data);

        var (code, _, stderr) = await Cli.CliCapture.RunAsync(["ca", "rotate", "--data", data]);

        Assert.Equal(2, code);
        Assert.StartsWith("error: the access ledger could not record the action: ", stderr, StringComparison.Ordinal);
        Assert.Equal(before, CaFiles(data)); // the same ca.crt and ca.key, and no ca/previous/
        Assert.False(Directory.Exists(Path.Combine(DataPaths.For(data).CertificateAuthority, CertificateAuthority.PreviousDirectoryName)));
        Assert.Equal(keyMode, OperatingSystem.IsWindows() ? default : File.GetUnixFileMode(keyPath)); // still 0600
        Assert.Equal(0, await CaRotatedEntriesAsync(data));
    }

    [Fact]
    public async Task Ca_finish_rotation_whose_ledger_entry_fails_puts_the_previous_CA_back_byte_for_byte_and_exits_2()
    {
        var data = _data.FullName;
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["ca", "rotate", "--data", data]));
        var before = CaFiles(data);
        Assert.Equal(["ca.crt", "ca.key", "previous/ca.crt", "previous/ca.key"], before.Keys);
        RefuseCaRotatedEntries(data);

        var (code, _, stderr) = await Cli.CliCapture.RunAsync(["ca", "finish-rotation", "--data", data]);

        Assert.Equal(2, code);
        Assert.StartsWith("error: the access ledger could not record the action: ", stderr, StringComparison.Ordinal);
        Assert.Equal(before, CaFiles(data)); // ca/previous/ is back: the rotation is still in progress
        Assert.Equal(1, await CaRotatedEntriesAsync(data)); // only the rotation's entry
    }

    [Fact]
    public async Task Ca_rotate_waits_for_the_keyring_lock_a_backup_holds_and_gives_up_without_changing_the_CA()
    {
        var data = _data.FullName;
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", data]));
        var before = CaFiles(data);

        // Held as 'custodian backup' holds it (SnapshotBackup, through ProtectionKeyring.WithLockAsync) while it reads the CA files.
        int code;
        string stderr;
        using (HoldKeyringLock(data))
        {
            (code, _, stderr) = await Cli.CliCapture.RunAsync(["ca", "rotate", "--data", data, "--lock-timeout", "1"]); // waits 1 s (default 30 s), then refuses
            Assert.Equal(before, CaFiles(data));
        }

        Assert.Equal(2, code);
        Assert.Equal("error: the keyring lock (keyring.lock in the keys directory) is still held by another process after 1 s (a backup, or a key or CA rotation); nothing was changed, try again when it is done.", stderr.TrimEnd());
        Assert.Equal(0, await CaRotatedEntriesAsync(data));
        Assert.Equal(0, await CustodianCli.RunAsync(["ca", "rotate", "--data", data])); // and once the backup is done, it runs
        Assert.Equal(1, await CaRotatedEntriesAsync(data));
    }

    [Fact]
    public async Task Ca_finish_rotation_and_backup_give_up_on_a_held_keyring_lock_after_their_lock_timeout_without_changing_anything()
    {
        var data = _data.FullName;
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["ca", "rotate", "--data", data]));
        var before = CaFiles(data);
        var backup = Path.Combine(_data.Parent!.FullName, _data.Name + "-backup");
        const string Refusal = "error: the keyring lock (keyring.lock in the keys directory) is still held by another process after 1 s (a backup, or a key or CA rotation); nothing was changed, try again when it is done.";

        (int Code, string Stdout, string Stderr) finish, backedUp;
        using (HoldKeyringLock(data))
        {
            finish = await Cli.CliCapture.RunAsync(["ca", "finish-rotation", "--data", data, "--lock-timeout", "1"]);
            backedUp = await Cli.CliCapture.RunAsync(["backup", backup, "--data", data, "--lock-timeout", "1"]);
        }

        Assert.Equal((2, Refusal), (finish.Code, finish.Stderr.TrimEnd()));
        Assert.Equal((2, Refusal), (backedUp.Code, backedUp.Stderr.TrimEnd()));
        Assert.Equal(before, CaFiles(data)); // still in rotation: ca/previous/ is there
        Assert.False(Directory.Exists(backup)); // no backup, not even a partial one beside it
        Assert.Empty(Directory.EnumerateFileSystemEntries(_data.Parent!.FullName, "." + _data.Name + "-backup*"));
        Assert.Equal(1, await CaRotatedEntriesAsync(data)); // only the rotation's entry
    }

    [Fact]
    public async Task Keys_rotate_and_reencrypt_give_up_on_a_held_keyring_lock_after_their_lock_timeout_without_changing_the_keyring()
    {
        var data = _data.FullName;
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", data]));
        var keyring = Path.Combine(DataPaths.For(data).Keys, Custodian.Protection.Keys.ProtectionKeyring.KeyringFileName);
        var initial = await File.ReadAllBytesAsync(keyring);
        const string Refusal = "error: the keyring lock (keyring.lock in the keys directory) is still held by another process after 1 s (a backup, or a key or CA rotation); nothing was changed, try again when it is done.";

        (int Code, string Stdout, string Stderr) rotated, indexRotated;
        using (HoldKeyringLock(data))
        {
            rotated = await Cli.CliCapture.RunAsync(["keys", "rotate", "--data", data, "--lock-timeout", "1"]); // waits 1 s (default 30 s), then refuses
            indexRotated = await Cli.CliCapture.RunAsync(["keys", "rotate", "--blind-index", "--data", data, "--lock-timeout", "1"]);
        }

        Assert.Equal((2, string.Empty, Refusal), (rotated.Code, rotated.Stdout, rotated.Stderr.TrimEnd()));
        Assert.Equal((2, string.Empty, Refusal), (indexRotated.Code, indexRotated.Stdout, indexRotated.Stderr.TrimEnd()));
        Assert.Equal(initial, await File.ReadAllBytesAsync(keyring));

        // Once the lock is free the rotation runs; the first data key, which no row uses, is then for 'keys reencrypt' to retire.
        Assert.Equal(0, await CustodianCli.RunAsync(["keys", "rotate", "--data", data]));
        var rotatedKeyring = await File.ReadAllBytesAsync(keyring);
        (int Code, string Stdout, string Stderr) reencrypted;
        using (HoldKeyringLock(data))
        {
            reencrypted = await Cli.CliCapture.RunAsync(["keys", "reencrypt", "--data", data, "--lock-timeout", "1"]);
        }

        Assert.Equal((2, Refusal), (reencrypted.Code, reencrypted.Stderr.TrimEnd()));
        Assert.Equal(rotatedKeyring, await File.ReadAllBytesAsync(keyring)); // no key retired
        Assert.Equal(0, await CustodianCli.RunAsync(["keys", "reencrypt", "--data", data]));
        Assert.NotEqual(rotatedKeyring, await File.ReadAllBytesAsync(keyring)); // and once the lock is free it retires the first key
    }

    [Theory]
    [InlineData("0")]
    [InlineData("3601")]
    [InlineData("1.5")]
    [InlineData("soon")]
    public async Task A_lock_timeout_that_is_no_whole_number_of_seconds_from_1_to_3600_is_a_usage_error_on_every_verb_that_takes_it(string value)
    {
        var data = _data.FullName;
        string[][] verbs = [["ca", "rotate"], ["ca", "finish-rotation"], ["backup", Path.Combine(data, "out")], ["keys", "rotate"], ["keys", "reencrypt"]];
        foreach (var verb in verbs)
        {
            var (code, stdout, stderr) = await Cli.CliCapture.RunAsync([.. verb, "--data", data, "--lock-timeout", value]);
            Assert.Equal((1, string.Empty, "error: --lock-timeout must be a whole number from 1 to 3,600"), (code, stdout, stderr.TrimEnd()));
        }

        Assert.Empty(_data.EnumerateFileSystemInfos()); // parse errors: nothing was opened or created
    }

    /// <summary>Holds the keyring lock as another process (a backup, a rotation) would: the lock file open with no sharing.</summary>
    private static FileStream HoldKeyringLock(string data)
    {
        Directory.CreateDirectory(DataPaths.For(data).Keys);
        return new FileStream(Path.Combine(DataPaths.For(data).Keys, Custodian.Protection.Keys.ProtectionKeyring.LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
    }
}
