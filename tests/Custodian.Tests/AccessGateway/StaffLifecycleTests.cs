using System.Net;
using System.Net.Http.Json;
using Custodian.Access.Sessions;
using Custodian.Access.Staff;
using Custodian.Cli;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Problems;
using Custodian.StaffLifecycle;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.AccessGateway;

/// <summary>HR feed import (joiners, movers, leavers) and dormant accounts, against a running server.</summary>
[Collection(nameof(Cli.CliCollection))]
public sealed class StaffLifecycleTests
{
    private static HrFeedImport Importer(CustodianTestHost host) =>
        new(host.Get<StaffDirectory>(), host.Get<SessionStore>(), host.Get<IAccessLedger>(), host.Clock);

    [Fact]
    public async Task Import_creates_joiners_moves_movers_disables_leavers_and_their_live_sessions_end_at_once()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 3);
        var (leaver, leaverTerminal, _) = await host.ClerkAsync("C0001");
        var (mover, moverTerminal, _) = await host.ClerkAsync("C0003");
        var phone = new { phone = host.Population[0].Phone };
        using (var before = await leaver.PostAsJsonAsync("/api/v1/subscribers/search", phone))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        var feed = Path.Combine(host.Directory.FullName, "hr.csv");
        await File.WriteAllTextAsync(feed, "account,role,store,status\nC0001,clerk,S001,leaver\nC0002,clerk,S001,active\nC0003,store-manager,S002,active\n");
        var credentials = Path.Combine(host.Directory.FullName, "joiners.csv");

        Assert.Equal(1, await CustodianCli.RunAsync(["staff", "import", feed, "--data", host.Directory.FullName, "--mode", "sometimes"]));
        Assert.Equal(3, await CustodianCli.RunAsync(["staff", "import", feed, "--data", host.Directory.FullName])); // a joiner needs --credentials-out
        Assert.Null(await host.Get<StaffDirectory>().GetAsync("C0002"));
        Assert.Equal(0, await CustodianCli.RunAsync(["staff", "import", feed, "--data", host.Directory.FullName, "--credentials-out", credentials]));

        var lines = await File.ReadAllLinesAsync(credentials);
        Assert.Equal("account,one_time_password,totp_secret,otpauth_uri", lines[0]);
        Assert.StartsWith("C0002,", lines[1], StringComparison.Ordinal);
        Assert.Equal(2, lines.Length);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(credentials));
        }

        Assert.Equal(StaffAccountStatus.Disabled, (await host.Get<StaffDirectory>().GetAsync("C0001"))!.Status);
        var moved = (await host.Get<StaffDirectory>().GetAsync("C0003"))!;
        Assert.Equal((StaffRole.StoreManager, "S002"), (moved.Role, moved.Store));

        // The server learns within a second (another process changed the accounts): both sessions end.
        host.Time.Advance(StaffDirectory.StandingRecheckInterval);
        foreach (var client in new[] { leaver, mover })
        {
            using var after = await client.PostAsJsonAsync("/api/v1/subscribers/search", phone);
            await ProblemAssert.IsProblemAsync(after, HttpStatusCode.Unauthorized, ErrorCodes.SessionRequired);
            client.Dispose();
        }

        var rights = (await host.LedgerAsync()).Select(e => e.Entry).Where(e => e.Task is AccessTask.StaffCreated or AccessTask.StaffChanged or AccessTask.StaffDisabled && e.Reason!.StartsWith("hr import", StringComparison.Ordinal)).ToList();
        Assert.Equal(
            [
                (AccessTask.StaffDisabled, "C0001", "hr import: leaver; sessions ended"),
                (AccessTask.StaffCreated, "C0002", "hr import: joiner, role clerk, store S001"),
                (AccessTask.StaffChanged, "C0003", "hr import: mover, role clerk -> store-manager, store S001 -> S002; sessions ended"),
            ],
            rights.Select(e => (e.Task, e.Target!, e.Reason!)).ToArray());
        Assert.All(rights, e => Assert.True(e.Task.RecordsAccessRights()));

        // Running the same feed again changes nothing.
        Assert.Equal(0, await CustodianCli.RunAsync(["staff", "import", feed, "--data", host.Directory.FullName]));
        leaverTerminal.Dispose();
        moverTerminal.Dispose();
    }

    [Fact]
    public async Task Bad_rows_are_reported_by_line_and_field_without_values_and_all_or_nothing_applies_nothing()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        const string Feed = "account,role,store,status\nC0100,clerk,S001,active\nC0101,janitor,S001,active\n\nC0102,clerk,,active\nC0100,clerk,S001,active\nbad id!,clerk,S001,active\nC0103,clerk,S001,retired\nC0104,clerk,S001\n";

        var strict = await Importer(host).ApplyAsync(new StringReader(Feed), HrImportMode.AllOrNothing, new StringWriter(), "tester", CancellationToken.None);

        Assert.False(strict.Applied);
        Assert.Equal(
            [
                new HrRowError(3, "role", "must be clerk, store-manager, security-officer or privacy-officer"),
                new HrRowError(5, "store", "is required for clerks and store managers and must be a well-formed store code"),
                new HrRowError(6, "account", "must appear only once in the feed"),
                new HrRowError(7, "account", "must be 1-64 ASCII letters (A-Z, a-z), digits, '-', '_' or '.', starting with a letter or digit"),
                new HrRowError(8, "status", "must be active or leaver"),
                new HrRowError(9, "row", "must be well-formed CSV with 4 fields like the header"),
            ],
            strict.Errors);
        Assert.DoesNotContain(strict.Errors, e => e.Rule.Contains("janitor", StringComparison.Ordinal) || e.Rule.Contains("bad id", StringComparison.Ordinal));
        Assert.Null(await host.Get<StaffDirectory>().GetAsync("C0100"));

        var credentials = new StringWriter();
        var lenient = await Importer(host).ApplyAsync(new StringReader(Feed), HrImportMode.RowWise, credentials, "tester", CancellationToken.None);

        Assert.True(lenient.Applied);
        Assert.Equal(["C0100"], lenient.Joiners);
        Assert.Equal(6, lenient.Errors.Count);
        Assert.StartsWith("C0100,", credentials.ToString(), StringComparison.Ordinal);
        var header = await Importer(host).ApplyAsync(new StringReader("id,role\nC1,clerk\n"), HrImportMode.RowWise, null, "tester", CancellationToken.None);
        Assert.Equal([new HrRowError(1, "header", "must be exactly 'account,role,store,status'")], header.Errors);
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    [Trait("Backend", "Both")] // each row names its backend whatever CUSTODIAN_TEST_BACKEND says
    public async Task A_session_ended_by_a_disable_stays_ended_once_the_account_is_enabled_again_by_another_process(TestBackend backend)
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 3, backend: backend);
        var (clerk, clerkTerminal, _) = await host.ClerkAsync("C9001");
        using var desk = await host.EnrollAsync("HQ", "security-desk");
        await host.CreateStaffAsync("O9001", StaffRole.SecurityOfficer, null, desk); // stays: there is always an active officer
        using var officer = await host.SignInAsync(await host.CreateStaffAsync("O9002", StaffRole.SecurityOfficer, null, desk), desk);
        var phone = new { phone = host.Population[0].Phone };
        using (var before = await clerk.PostAsJsonAsync("/api/v1/subscribers/search", phone))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        using (var before = await officer.GetAsync("/api/v1/approvals"))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        // Disabled and enabled again by other processes: the server's sessions are not touched by either.
        host.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await host.Get<StaffDirectory>().DisableAsync("C9001")); // as 'custodian staff disable' does
        var otherProcess = new HrFeedImport(host.Get<StaffDirectory>(), new SessionStore(host.Clock, new SessionOptions()), host.Get<IAccessLedger>(), host.Clock);
        var leaver = await otherProcess.ApplyAsync(new StringReader("account,role,store,status\nO9002,security-officer,,leaver\n"), HrImportMode.AllOrNothing, null, "tester", CancellationToken.None);
        Assert.Equal(["O9002"], leaver.Leavers);
        Assert.Empty(leaver.Errors);
        var feed = Path.Combine(host.Directory.FullName, "hr.csv");
        await File.WriteAllTextAsync(feed, "account,role,store,status\nC9001,clerk,S001,active\nO9002,security-officer,,active\n");
        Assert.Equal(0, await CustodianCli.RunAsync(["staff", "import", feed, "--data", host.Directory.FullName]));
        Assert.Equal(StaffAccountStatus.Active, (await host.Get<StaffDirectory>().GetAsync("C9001"))!.Status);
        Assert.Equal(StaffAccountStatus.Active, (await host.Get<StaffDirectory>().GetAsync("O9002"))!.Status);

        // Both accounts are active with their old role and store, yet the sessions opened before the disable stay ended.
        host.Time.Advance(StaffDirectory.StandingRecheckInterval);
        using (var after = await clerk.PostAsJsonAsync("/api/v1/subscribers/search", phone))
        {
            await ProblemAssert.IsProblemAsync(after, HttpStatusCode.Unauthorized, ErrorCodes.SessionRequired);
        }

        using (var after = await officer.GetAsync("/api/v1/approvals"))
        {
            await ProblemAssert.IsProblemAsync(after, HttpStatusCode.Unauthorized, ErrorCodes.SessionRequired);
        }

        Assert.Equal(0, host.Get<SessionStore>().Count);
        clerk.Dispose();
        clerkTerminal.Dispose();
    }

    [Fact]
    public async Task Neither_the_feed_nor_staff_disable_leaves_no_active_security_officer()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        // The only active officer is the one the first start creates ('officer'), as in the evaluation.
        Assert.True((await host.Get<StaffDirectory>().CreateAsync("C0100", StaffRole.Clerk, "S001")).IsSuccess);
        var data = host.Directory.FullName;
        var feed = Path.Combine(data, "hr.csv");
        const string Refusal = "would leave no active security officer: add or enable another security officer first";

        // The only officer as a leaver, all-or-nothing: nothing applied, the line reported, exit 3.
        await File.WriteAllTextAsync(feed, "account,role,store,status\nC0100,clerk,S001,leaver\nofficer,clerk,S001,leaver\n");
        var (code, stdout, stderr) = await Cli.CliCapture.RunAsync(["staff", "import", feed, "--data", data]);
        Assert.Equal((3, "line 3: status: " + Refusal), (code, stderr.Trim()));
        Assert.StartsWith("Nothing applied (all-or-nothing): 1 bad row.", stdout, StringComparison.Ordinal);
        Assert.Equal(StaffAccountStatus.Active, (await host.Get<StaffDirectory>().GetAsync("officer"))!.Status);
        Assert.Equal(StaffAccountStatus.Active, (await host.Get<StaffDirectory>().GetAsync("C0100"))!.Status);

        // Row-wise: the other rows are applied; moving the only officer to another role is refused the same way.
        await File.WriteAllTextAsync(feed, "account,role,store,status\nC0100,clerk,S001,leaver\nofficer,clerk,S001,active\n");
        (code, _, stderr) = await Cli.CliCapture.RunAsync(["staff", "import", feed, "--data", data, "--mode", "row-wise"]);
        Assert.Equal((3, "line 3: role: " + Refusal), (code, stderr.Trim()));
        Assert.Equal(StaffAccountStatus.Disabled, (await host.Get<StaffDirectory>().GetAsync("C0100"))!.Status);
        var kept = (await host.Get<StaffDirectory>().GetAsync("officer"))!;
        Assert.Equal((StaffRole.SecurityOfficer, StaffAccountStatus.Active), (kept.Role, kept.Status));

        // 'staff disable' of the only officer: one line, exit 2, nothing changed or recorded.
        var recorded = (await host.LedgerAsync()).Count;
        (code, _, stderr) = await Cli.CliCapture.RunAsync(["staff", "disable", "officer", "--data", data]);
        Assert.Equal(2, code);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains("officer is the only active security officer: disabling it would leave no one to use the console or approve four-eyes actions; add or enable another security officer first. Nothing changed.", stderr, StringComparison.Ordinal);
        Assert.Equal(StaffAccountStatus.Active, (await host.Get<StaffDirectory>().GetAsync("officer"))!.Status);
        Assert.Equal(recorded, (await host.LedgerAsync()).Count);

        // A handover that names the new officer first is applied; then the old one may leave.
        await File.WriteAllTextAsync(feed, "account,role,store,status\nO9002,security-officer,,active\nofficer,clerk,S001,leaver\n");
        var credentials = Path.Combine(data, "joiners.csv");
        Assert.Equal(0, await CustodianCli.RunAsync(["staff", "import", feed, "--data", data, "--credentials-out", credentials]));
        Assert.Equal(StaffAccountStatus.Disabled, (await host.Get<StaffDirectory>().GetAsync("officer"))!.Status);
        Assert.Equal(2, (await CustodianCli.RunAsync(["staff", "disable", "O9002", "--data", data])));
        Assert.Equal(StaffAccountStatus.Active, (await host.Get<StaffDirectory>().GetAsync("O9002"))!.Status);
    }
}
