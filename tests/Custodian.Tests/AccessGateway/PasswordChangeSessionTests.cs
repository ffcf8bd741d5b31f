using System.Net;
using System.Net.Http.Json;
using Custodian.Access.Staff;
using Custodian.Gateway;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.AccessGateway;

/// <summary>A password change ends the account's other sessions, on every node, but not the changer's (docs/access.md §6.4).</summary>
public sealed class PasswordChangeSessionTests
{
    private const string NewPassword = "a brand new passphrase 42";

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    [Trait("Backend", "Both")]
    public async Task A_password_change_ends_the_other_sessions_of_the_account_on_every_node_but_not_the_changers(TestBackend backend)
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 3, backend: backend);
        await using var node = await host.StartNodeAsync();
        var (changer, counter1, staff) = await host.ClerkAsync("C0001");
        using var counter2 = await host.EnrollAsync("S001", "counter-2");
        using var counter3 = await host.EnrollAsync("S001", "counter-3");
        // The monitor suspends an account used on two terminals less than 2 minutes apart (docs/monitoring.md): space them out.
        var apart = TimeSpan.FromMinutes(3);
        host.Time.Advance(apart);
        using var sameNode = await host.SignInAsync(staff, counter2);
        host.Time.Advance(apart);
        using var otherNode = await node.SignInAsync(staff, counter3);
        host.Time.Advance(apart);
        var phone = new { phone = host.Population[0].Phone };
        using (var before = await changer.PostAsJsonAsync("/api/v1/subscribers/search", phone))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        // The first terminal's session changes the password (its bearer token goes with the request).
        using (var change = await changer.PostAsJsonAsync("/api/v1/account/password", new PasswordChangeRequest("C0001", staff.Password, NewPassword, staff.Code(host.Clock))))
        {
            Assert.Equal(HttpStatusCode.NoContent, change.StatusCode);
        }

        // This node: the second terminal's session ends at once; the changer's goes on.
        using (var ended = await sameNode.PostAsJsonAsync("/api/v1/subscribers/search", phone))
        {
            await ProblemAssert.IsProblemAsync(ended, HttpStatusCode.Unauthorized, ErrorCodes.SessionRequired);
        }

        using (var kept = await changer.PostAsJsonAsync("/api/v1/subscribers/search", phone))
        {
            Assert.Equal(HttpStatusCode.OK, kept.StatusCode);
        }

        // The other node learns from sessions_from_ms within a second; the changer's session goes on.
        host.Time.Advance(StaffDirectory.StandingRecheckInterval);
        using (var ended = await otherNode.PostAsJsonAsync("/api/v1/subscribers/search", phone))
        {
            await ProblemAssert.IsProblemAsync(ended, HttpStatusCode.Unauthorized, ErrorCodes.SessionRequired);
        }

        using (var kept = await changer.PostAsJsonAsync("/api/v1/subscribers/search", phone))
        {
            Assert.Equal(HttpStatusCode.OK, kept.StatusCode);
        }

        // A sign-in with the new password, after the change, counts on either node (sign-out needs a live session).
        host.Time.Advance(apart);
        using var again = await node.SignInAsync(staff with { Password = NewPassword }, counter3);
        using (var signOut = await again.DeleteAsync("/api/v1/sessions/current"))
        {
            Assert.Equal(HttpStatusCode.NoContent, signOut.StatusCode);
        }

        changer.Dispose();
        counter1.Dispose();
    }
}
