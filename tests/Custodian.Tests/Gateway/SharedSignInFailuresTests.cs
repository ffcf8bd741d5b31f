using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Custodian.Access;
using Custodian.Access.Staff;
using Custodian.Client;
using Custodian.Gateway;
using Custodian.Identity;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Gateway;

/// <summary>
/// Failed staff sign-ins under account IDs that name no account are counted in the deployment's database (issue 8;
/// docs/storage.md, "Staff sign-in failures"): two real servers (API nodes) on one SQLite file or one PostgreSQL schema,
/// on one fake clock, through the real TLS and HTTP pipeline, lock an unknown ID exactly as they lock an existing account;
/// a server started after the others stopped stands for a restart.
/// </summary>
public sealed class SharedSignInFailuresTests
{
    private static readonly TimeSpan Lockout = new StaffOptions().LockoutDuration;

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task Failures_split_across_two_nodes_lock_an_unknown_id_at_the_limit_exactly_like_an_existing_account(TestBackend backend)
    {
        await using var a = await CustodianTestHost.StartAsync(subscribers: 5, backend: backend);
        await using var b = await a.StartNodeAsync();
        var terminal = await a.EnrollAsync("S001", "counter-1");
        var staff = await a.CreateStaffAsync("C0001", StaffRole.Clerk, "S001", terminal);
        using var onA = a.TerminalClient(terminal);
        using var onB = b.TerminalClient(terminal);

        var existing = new List<string>();
        var unknown = new List<string>();
        for (var i = 1; i <= new StaffOptions().MaxFailedAttempts + 1; i++)
        {
            var node = i % 2 == 0 ? onB : onA; // A, B, A, B, A, B
            existing.Add(await AttemptAsync(node, "C0001", i, staff.Code(a.Time)));
            unknown.Add(await AttemptAsync(node, "C0404", i, staff.Code(a.Time)));
        }

        var locked = Locked(a.Time.GetUtcNow() + Lockout);
        string[] expected = [.. Enumerable.Repeat(Wrong, 4), locked, locked];
        Assert.Equal(expected, existing);
        Assert.Equal(expected, unknown);

        // Locked on both nodes until the same moment; then counting starts afresh on both.
        a.Time.Advance(Lockout - TimeSpan.FromSeconds(1));
        Assert.Equal([locked, locked, locked, locked], [await AttemptAsync(onA, "C0001", 7, staff.Code(a.Time)), await AttemptAsync(onB, "C0001", 7, staff.Code(a.Time)), await AttemptAsync(onA, "C0404", 7, staff.Code(a.Time)), await AttemptAsync(onB, "C0404", 7, staff.Code(a.Time))]);
        a.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal([Wrong, Wrong], [await AttemptAsync(onB, "C0001", 8, staff.Code(a.Time)), await AttemptAsync(onB, "C0404", 8, staff.Code(a.Time))]);
        Assert.Equal((1L, 1L), (await ScalarAsync(a, "SELECT failed_attempts FROM staff_accounts WHERE id = 'C0001'"), await ScalarAsync(a, "SELECT failed_attempts FROM staff_unknown_failures")));

        // Concurrent failures from both nodes count exactly: four more (five in all) lock both, however they interleave.
        var burst = await Task.WhenAll(Enumerable.Range(9, 8).Select(i => AttemptAsync(i % 2 == 0 ? onA : onB, i < 13 ? "C0001" : "C0404", i, staff.Code(a.Time))));
        var lockedNow = Locked(a.Time.GetUtcNow() + Lockout);
        Assert.Equal([3, 1, 3, 1], [burst[..4].Count(r => r == Wrong), burst[..4].Count(r => r == lockedNow), burst[4..].Count(r => r == Wrong), burst[4..].Count(r => r == lockedNow)]);
        Assert.Equal((5L, 5L), (await ScalarAsync(a, "SELECT failed_attempts FROM staff_accounts WHERE id = 'C0001'"), await ScalarAsync(a, "SELECT failed_attempts FROM staff_unknown_failures")));
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task A_restarted_node_keeps_counting_and_still_sees_the_lockout(TestBackend backend)
    {
        await using var a = await CustodianTestHost.StartAsync(subscribers: 5, backend: backend);
        var terminal = await a.EnrollAsync("S001", "counter-1");
        var staff = await a.CreateStaffAsync("C0001", StaffRole.Clerk, "S001", terminal);
        var b = await a.StartNodeAsync();
        using (var onA = a.TerminalClient(terminal))
        using (var onB = b.TerminalClient(terminal))
        {
            for (var i = 1; i <= 4; i++)
            {
                Assert.Equal(Wrong, await AttemptAsync(i <= 2 ? onA : onB, "C0404", i, staff.Code(a.Time)));
            }
        }

        // Both nodes stop; a new server starts on the same database (nothing of the old ones' memory).
        await b.DisposeAsync();
        await a.App.StopAsync();
        a.Time.Advance(TimeSpan.FromMinutes(1));
        var until = a.Time.GetUtcNow() + Lockout;
        await using (var c = await a.StartNodeAsync())
        {
            using var onC = c.TerminalClient(terminal);
            Assert.Equal(Locked(until), await AttemptAsync(onC, "C0404", 5, staff.Code(a.Time))); // the fifth failure
        }

        // Another restart.
        await using var d = await a.StartNodeAsync();
        using var onD = d.TerminalClient(terminal);
        a.Time.Advance(Lockout - TimeSpan.FromSeconds(1));
        Assert.Equal(Locked(until), await AttemptAsync(onD, "C0404", 6, staff.Code(a.Time)));
        a.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(Wrong, await AttemptAsync(onD, "C0404", 7, staff.Code(a.Time)));
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task The_table_holds_only_a_keyed_hash_of_the_typed_id(TestBackend backend)
    {
        const string Typed = "01098765432"; // a phone number typed into the ID box (well formed as an ID)
        await using var a = await CustodianTestHost.StartAsync(subscribers: 5, backend: backend);
        var terminal = await a.EnrollAsync("S001", "counter-1");
        var staff = await a.CreateStaffAsync("C0001", StaffRole.Clerk, "S001", terminal);
        using var client = a.TerminalClient(terminal);
        for (var i = 1; i <= 5; i++)
        {
            await AttemptAsync(client, Typed, i, staff.Code(a.Time));
        }

        var rows = new List<string>();
        await using (var connection = await a.Get<CustodianDatabase>().OpenAsync())
        await using (var select = connection.Command("SELECT id_hmac, failed_attempts, locked_until_ms, last_failed_ms FROM staff_unknown_failures"))
        await using (var reader = await select.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var hmac = (byte[])reader.GetValue(0);
                Assert.Equal(a.Get<StaffDirectory>().UnknownIdHmac(Typed), hmac);
                rows.Add(string.Join('|', Convert.ToHexStringLower(hmac), Encoding.Latin1.GetString(hmac), Encoding.UTF8.GetString(hmac), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3)));
            }
        }

        var now = a.Time.GetUtcNow().ToUnixTimeMilliseconds();
        Assert.Equal([$"5|{now + (long)Lockout.TotalMilliseconds}|{now}"], rows.Select(r => string.Join('|', r.Split('|')[^3..])));
        Assert.DoesNotContain(rows, r => r.Contains(Typed, StringComparison.Ordinal) || r.Contains(Typed[1..], StringComparison.Ordinal));
        if (backend == TestBackend.Sqlite)
        {
            // Every file of the data directory (the database and its WAL included): the typed ID in no form.
            Assert.Empty(await PlaintextScanner.ScanFilesAsync(a.Directory.FullName, [Typed, Typed[1..], "010-9876-5432", "+821098765432"]));
        }

        Assert.Equal(32, a.Get<StaffDirectory>().UnknownIdHmac(Typed).Length);
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task The_sweep_deletes_exactly_the_rows_that_count_no_more(TestBackend backend)
    {
        await using var a = await CustodianTestHost.StartAsync(subscribers: 5, backend: backend);
        var terminal = await a.EnrollAsync("S001", "counter-1");
        var staff = await a.CreateStaffAsync("C0001", StaffRole.Clerk, "S001", terminal);
        var directory = a.Get<StaffDirectory>();
        using var client = a.TerminalClient(terminal);

        async Task FailAsync(string id, int times)
        {
            for (var i = 0; i < times; i++)
            {
                await AttemptAsync(client, id, i, staff.Code(a.Time));
            }
        }

        await FailAsync("U1", 5); // locked from t0 until t0 + lockout
        await FailAsync("U2", 2); // last failure t0
        a.Time.Advance(TimeSpan.FromMinutes(10));
        await FailAsync("U3", 2); // last failure t0 + 10 min
        await FailAsync("U4", 5); // locked until t0 + 10 min + lockout

        // One millisecond before the first lockout runs out (and U2's count goes stale), nothing counts less: nothing goes.
        a.Time.Advance(Lockout - TimeSpan.FromMinutes(10) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, await directory.SweepUnknownAsync());
        a.Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(2, await directory.SweepUnknownAsync());
        Assert.Equal(Keys(directory, "U3", "U4"), await KeysAsync(a));

        // U3's and U4's go too once their time has come: swept by the next failed sign-in (a minute after the last sweep).
        a.Time.Advance(TimeSpan.FromMinutes(10));
        await FailAsync("U5", 1);
        Assert.Equal(Keys(directory, "U5"), await KeysAsync(a));
    }

    private static readonly string Wrong = "401 invalid-credentials " + AccessErrors.InvalidCredentials.Message;

    private static string Locked(DateTimeOffset until) =>
        $"423 account-locked The account is locked after repeated failed sign-ins until {until:yyyy-MM-dd'T'HH:mm:ss'Z'}; a security officer can unlock it.";

    private static async Task<string> AttemptAsync(HttpClient client, string account, int i, string code)
    {
        using var response = await client.PostAsJsonAsync("/api/v1/sessions", new SignInRequest(account, "wrong password " + i, code));
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return $"{(int)response.StatusCode} {problem.RootElement.GetProperty("errorCode").GetString()} {problem.RootElement.GetProperty("detail").GetString()}";
    }

    private static List<string> Keys(StaffDirectory directory, params string[] ids) =>
        [.. ids.Select(id => Convert.ToHexStringLower(directory.UnknownIdHmac(id))).Order(StringComparer.Ordinal)];

    private static async Task<List<string>> KeysAsync(CustodianTestHost host)
    {
        await using var connection = await host.Get<CustodianDatabase>().OpenAsync();
        await using var select = connection.Command("SELECT id_hmac FROM staff_unknown_failures");
        await using var reader = await select.ExecuteReaderAsync();
        var keys = new List<string>();
        while (await reader.ReadAsync())
        {
            keys.Add(Convert.ToHexStringLower((byte[])reader.GetValue(0)));
        }

        return [.. keys.Order(StringComparer.Ordinal)];
    }

    private static async Task<long> ScalarAsync(CustodianTestHost host, string sql)
    {
        await using var connection = await host.Get<CustodianDatabase>().OpenAsync();
        await using var command = connection.Command(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
