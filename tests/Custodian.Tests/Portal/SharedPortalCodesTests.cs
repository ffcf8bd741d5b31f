using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Custodian.Identity;
using Custodian.Messaging;
using Custodian.Problems;
using Custodian.Protection.Validation;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;
using Custodian.Tests.Transparency;
using Custodian.Transparency;
using Microsoft.Extensions.DependencyInjection;

namespace Custodian.Tests.Portal;

/// <summary>
/// Portal sign-in codes and their limits in the deployment's database (issue 8; docs/portal.md §1, docs/storage.md
/// "Portal sign-in codes and limits"): two real servers (API nodes) on one SQLite file or one PostgreSQL schema, on one
/// fake clock, through the real TLS and HTTP pipeline; a third server started after both stopped stands for a restart.
/// </summary>
public sealed class SharedPortalCodesTests
{
    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task A_code_requested_through_one_node_is_accepted_once_through_the_other_and_then_refused_on_the_first(TestBackend backend)
    {
        await using var a = await CustodianTestHost.StartAsync(subscribers: 10, backend: backend);
        await using var b = await a.StartNodeAsync();
        using var onA = a.PortalClientFrom("127.0.0.41");
        using var onB = b.PortalClientFrom("127.0.0.41");
        var phone = a.Population[1].Phone;

        (await PortalSignInRequests.RequestAsync(a, onA, phone, HttpStatusCode.Accepted)).Dispose();
        var code = await PortalTests.PortalCodeAsync(a, phone);
        await VerifyAsync(onB, phone, WrongCodes.NoneOf(code), HttpStatusCode.Unauthorized);
        await VerifyAsync(onB, phone, code, HttpStatusCode.OK);
        await VerifyAsync(onA, phone, code, HttpStatusCode.Unauthorized); // used through B: not again through A
        await VerifyAsync(onB, phone, code, HttpStatusCode.Unauthorized);
        Assert.Equal(0L, await ScalarAsync(a, "SELECT COUNT(*) FROM portal_signin_codes"));

        // Five misses from the address that requested a code, spread over both nodes, void that code on both.
        using var requesterOnA = a.PortalClientFrom("127.0.0.43");
        using var requesterOnB = b.PortalClientFrom("127.0.0.43");
        (await PortalSignInRequests.RequestAsync(a, requesterOnB, phone, HttpStatusCode.Accepted)).Dispose();
        var second = await PortalTests.PortalCodeAsync(a, phone, count: 2);
        for (var i = 0; i < PortalSignIn.AttemptsPerCode; i++)
        {
            await VerifyAsync(i % 2 == 0 ? requesterOnA : requesterOnB, phone, WrongCodes.NoneOf(second), HttpStatusCode.Unauthorized);
        }

        using var other = b.PortalClientFrom("127.0.0.42");
        await VerifyAsync(other, phone, second, HttpStatusCode.Unauthorized); // void, whoever presents it, on either node
        Assert.Equal(0L, await ScalarAsync(a, "SELECT COUNT(*) FROM portal_signin_codes"));
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task The_request_limits_and_their_Retry_After_are_the_deployments_not_each_nodes(TestBackend backend)
    {
        await using var a = await CustodianTestHost.StartAsync(subscribers: 10, backend: backend);
        await using var b = await a.StartNodeAsync();
        var nodes = new[] { a, b };
        var phone = a.Population[2].Phone;
        var clients = Enumerable.Range(51, 5).SelectMany(i => nodes.Select(n => n.PortalClientFrom($"127.0.0.{i}"))).ToList(); // [address, node]
        try
        {
            // Four addresses × five requests, alternating nodes (start + 1 s … + 20 s): each node saw only ten.
            for (var i = 0; i < PortalSignIn.CodesPerNumberPerHour; i++)
            {
                var address = i / PortalSignIn.CodesPerNumberAndAddressPerHour;
                (await PortalSignInRequests.RequestAsync(a, clients[(2 * address) + (i % 2)], phone, HttpStatusCode.Accepted)).Dispose();
            }

            // The number's 20 are used up on both nodes, until start + 1 s leaves the hour (now start + 21 s).
            using (var capped = await PortalSignInRequests.RequestAsync(a, clients[8], phone, HttpStatusCode.TooManyRequests))
            {
                Assert.Equal(TimeSpan.FromSeconds(3580), capped.Headers.RetryAfter?.Delta);
            }

            using (var capped = await PortalSignInRequests.RequestAsync(a, clients[9], phone, HttpStatusCode.TooManyRequests, step: false))
            {
                Assert.Equal(TimeSpan.FromSeconds(3580), capped.Headers.RetryAfter?.Delta);
            }

            // The first address's own five (two through B, three through A) are used up too.
            using (var own = await PortalSignInRequests.RequestAsync(a, clients[1], phone, HttpStatusCode.TooManyRequests, step: false))
            {
                Assert.Equal(TimeSpan.FromSeconds(3580), own.Headers.RetryAfter?.Delta);
            }

            a.Time.Advance(TimeSpan.FromSeconds(3579)); // start + 3600 s
            using (var still = await PortalSignInRequests.RequestAsync(a, clients[9], phone, HttpStatusCode.TooManyRequests, step: false))
            {
                Assert.Equal(TimeSpan.FromSeconds(1), still.Headers.RetryAfter?.Delta);
            }

            a.Time.Advance(TimeSpan.FromSeconds(1)); // start + 3601 s: the request of start + 1 s has left the hour
            (await PortalSignInRequests.RequestAsync(a, clients[9], phone, HttpStatusCode.Accepted, step: false)).Dispose();
            using (var full = await PortalSignInRequests.RequestAsync(a, clients[8], phone, HttpStatusCode.TooManyRequests, step: false))
            {
                Assert.Equal(TimeSpan.FromSeconds(1), full.Headers.RetryAfter?.Delta); // start + 2 s leaves next
            }

            await PortalTests.PortalCodeAsync(a, phone, count: 21);
            var sent = await ((OutboxSmsSender)b.Get<ISmsSender>()).ReadAsync(await GuardedLookupTests.IdOf(a, phone), SmsKind.PortalCode, 100);
            Assert.Equal(21, sent.Count); // nothing was sent while limited

            // The per-address limit across numbers: 30 requests from a fresh address, alternating nodes, then none for 30 minutes.
            clients.AddRange(nodes.Select(n => n.PortalClientFrom("127.0.0.56")));
            for (var i = 0; i < PortalSignIn.CodesPerAddressPerHour; i++)
            {
                using var request = await clients[10 + (i % 2)].PostAsJsonAsync("/portal/api/v1/sign-in", new { phone = $"010-0000-{i:0000}" });
                Assert.Equal(HttpStatusCode.Accepted, request.StatusCode);
            }

            a.Time.Advance(TimeSpan.FromMinutes(30));
            using (var limited = await clients[11].PostAsJsonAsync("/portal/api/v1/sign-in", new { phone = "010-0000-9999" }))
            {
                await ProblemAssert.IsProblemAsync(limited, HttpStatusCode.TooManyRequests, ErrorCodes.RateLimited);
                Assert.Equal(TimeSpan.FromSeconds(1800), limited.Headers.RetryAfter?.Delta);
            }
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task The_failed_check_limits_and_their_Retry_After_are_the_deployments_not_each_nodes(TestBackend backend)
    {
        await using var a = await CustodianTestHost.StartAsync(subscribers: 10, backend: backend);
        await using var b = await a.StartNodeAsync();
        var phone = a.Population[3].Phone;
        using var subscriber = b.PortalClientFrom("127.0.0.61");
        var guessers = Enumerable.Range(62, 4).Select(i => (A: a.PortalClientFrom($"127.0.0.{i}"), B: b.PortalClientFrom($"127.0.0.{i}"))).ToList();
        try
        {
            (await PortalSignInRequests.RequestAsync(a, subscriber, phone, HttpStatusCode.Accepted)).Dispose(); // start + 1 s
            var code = await PortalTests.PortalCodeAsync(a, phone);

            // Four addresses × five misses, alternating nodes (start + 2 s … + 5 s).
            foreach (var (onA, onB) in guessers)
            {
                a.Time.Advance(TimeSpan.FromSeconds(1));
                for (var i = 0; i < PortalSignIn.FailedChecksPerNumberAndAddressPerHour; i++)
                {
                    await VerifyAsync(i % 2 == 0 ? onA : onB, phone, WrongCodes.NoneOf(code), HttpStatusCode.Unauthorized);
                }

                // The address's five (three through A, two through B) are used up on both nodes.
                using var own = await onB.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code = WrongCodes.NoneOf(code) });
                await ProblemAssert.IsProblemAsync(own, HttpStatusCode.TooManyRequests, ErrorCodes.RateLimited);
            }

            // Twenty misses on the number: no check of it on either node until the misses of start + 2 s leave the hour.
            using (var blocked = await subscriber.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code }))
            {
                await ProblemAssert.IsProblemAsync(blocked, HttpStatusCode.TooManyRequests, ErrorCodes.RateLimited);
                Assert.Equal(TimeSpan.FromSeconds(3597), blocked.Headers.RetryAfter?.Delta);
            }

            using var subscriberOnA = a.PortalClientFrom("127.0.0.61");
            using (var blocked = await subscriberOnA.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code }))
            {
                await ProblemAssert.IsProblemAsync(blocked, HttpStatusCode.TooManyRequests, ErrorCodes.RateLimited);
                Assert.Equal(TimeSpan.FromSeconds(3597), blocked.Headers.RetryAfter?.Delta);
            }

            Assert.Equal(20L, await ScalarAsync(a, "SELECT COUNT(*) FROM portal_signin_events WHERE kind = 2"));
        }
        finally
        {
            guessers.ForEach(g =>
            {
                g.A.Dispose();
                g.B.Dispose();
            });
        }
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task Concurrent_checks_on_two_nodes_accept_a_code_exactly_once_and_count_misses_exactly(TestBackend backend)
    {
        await using var a = await CustodianTestHost.StartAsync(subscribers: 10, backend: backend);
        await using var b = await a.StartNodeAsync();
        var phone = a.Population[4].Phone;
        using var requester = a.PortalClientFrom("127.0.0.71");
        (await PortalSignInRequests.RequestAsync(a, requester, phone, HttpStatusCode.Accepted)).Dispose();
        var code = await PortalTests.PortalCodeAsync(a, phone);

        // Eight addresses present the right code at once, four through each node: one is signed in.
        var checkers = Enumerable.Range(72, 8).Select(i => (i % 2 == 0 ? a : b).PortalClientFrom($"127.0.0.{i}")).ToList();
        var outcomes = await Task.WhenAll(checkers.Select(async c =>
        {
            using var response = await c.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code });
            return response.StatusCode;
        }));
        checkers.ForEach(c => c.Dispose());
        Assert.Equal(1, outcomes.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(7, outcomes.Count(s => s == HttpStatusCode.Unauthorized));

        // Forty wrong checks of another number at once (ten addresses × four, both nodes): exactly twenty are counted.
        var other = a.Population[5].Phone;
        var guessers = Enumerable.Range(0, 40).Select(i => (i % 2 == 0 ? a : b).PortalClientFrom($"127.0.1.{i % 10}")).ToList();
        var guesses = await Task.WhenAll(guessers.Select(async c =>
        {
            using var response = await c.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone = other, code = "000000" });
            return (response.StatusCode, response.Headers.RetryAfter?.Delta);
        }));
        guessers.ForEach(c => c.Dispose());
        Assert.Equal(PortalSignIn.FailedChecksPerNumberPerHour, guesses.Count(g => g.StatusCode == HttpStatusCode.Unauthorized));
        Assert.Equal(40 - PortalSignIn.FailedChecksPerNumberPerHour, guesses.Count(g => g.StatusCode == HttpStatusCode.TooManyRequests && g.Delta == TimeSpan.FromHours(1)));
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task A_restart_keeps_pending_codes_and_counters(TestBackend backend)
    {
        await using var a = await CustodianTestHost.StartAsync(subscribers: 10, backend: backend);
        var phone = a.Population[6].Phone;
        var b = await a.StartNodeAsync();
        string code;
        using (var subscriber = a.PortalClientFrom("127.0.0.91"))
        using (var guesserA = a.PortalClientFrom("127.0.0.92"))
        using (var guesserB = b.PortalClientFrom("127.0.0.92"))
        {
            (await PortalSignInRequests.RequestAsync(a, subscriber, phone, HttpStatusCode.Accepted)).Dispose(); // start + 1 s
            code = await PortalTests.PortalCodeAsync(a, phone);
            for (var i = 0; i < 4; i++)
            {
                await VerifyAsync(i < 3 ? guesserA : guesserB, phone, WrongCodes.NoneOf(code), HttpStatusCode.Unauthorized);
            }
        }

        // Both nodes stop; a new server starts on the same database (nothing of the old ones' memory).
        await b.DisposeAsync();
        await a.App.StopAsync();
        a.Time.Advance(TimeSpan.FromSeconds(10)); // start + 11 s
        await using var c = await a.StartNodeAsync();
        using var guesser = c.PortalClientFrom("127.0.0.92");
        await VerifyAsync(guesser, phone, WrongCodes.NoneOf(code), HttpStatusCode.Unauthorized); // the fifth miss of this address
        using (var limited = await guesser.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code = WrongCodes.NoneOf(code) }))
        {
            await ProblemAssert.IsProblemAsync(limited, HttpStatusCode.TooManyRequests, ErrorCodes.RateLimited);
            Assert.Equal(TimeSpan.FromSeconds(3590), limited.Headers.RetryAfter?.Delta); // until start + 1 s leaves the hour
        }

        using var again = c.PortalClientFrom("127.0.0.91");
        await VerifyAsync(again, phone, code, HttpStatusCode.OK); // the pending code survived the restart
        for (var i = 1; i < PortalSignIn.CodesPerNumberAndAddressPerHour; i++)
        {
            (await PortalSignInRequests.RequestAsync(c, again, phone, HttpStatusCode.Accepted, step: false)).Dispose();
        }

        using var sixth = await PortalSignInRequests.RequestAsync(c, again, phone, HttpStatusCode.TooManyRequests, step: false); // the request before the restart counts
        Assert.Equal(TimeSpan.FromSeconds(3590), sixth.Headers.RetryAfter?.Delta);
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task Codes_expire_on_every_node_and_idle_numbers_are_swept(TestBackend backend)
    {
        await using var a = await CustodianTestHost.StartAsync(subscribers: 10, backend: backend);
        await using var b = await a.StartNodeAsync();
        var phone = a.Population[7].Phone;
        using var onA = a.PortalClientFrom("127.0.0.101");
        using var onB = b.PortalClientFrom("127.0.0.101");
        (await PortalSignInRequests.RequestAsync(a, onA, phone, HttpStatusCode.Accepted)).Dispose();
        var code = await PortalTests.PortalCodeAsync(a, phone);
        a.Time.Advance(PortalSignIn.CodeLifetime + TimeSpan.FromMilliseconds(1));
        await VerifyAsync(onB, phone, code, HttpStatusCode.Unauthorized); // expired (a counted miss)

        (await PortalSignInRequests.RequestAsync(a, onB, phone, HttpStatusCode.Accepted)).Dispose();
        var fresh = await PortalTests.PortalCodeAsync(a, phone, count: 2);
        a.Time.Advance(PortalSignIn.CodeLifetime);
        await VerifyAsync(onA, phone, fresh, HttpStatusCode.OK); // at its expiry instant, on the other node
        Assert.Equal((1L, 1L, 3L, 0L), await CountsAsync(a)); // numbers, addresses, events (two requests, one miss), codes

        // An hour later the next request (more than a minute after the node's last sweep) sweeps the idle number and address.
        a.Time.Advance(TimeSpan.FromHours(1));
        using var stranger = b.PortalClientFrom("127.0.0.102");
        using (var request = await stranger.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone = "010-0000-0007" }))
        {
            Assert.Equal(HttpStatusCode.Accepted, request.StatusCode);
        }

        Assert.Equal((1L, 1L, 1L, 1L), await CountsAsync(a)); // the stranger's number, address, request and code only
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task A_database_that_cannot_be_written_refuses_sign_in_and_sends_no_code(TestBackend backend)
    {
        await using var a = await CustodianTestHost.StartAsync(subscribers: 10, backend: backend);
        var phone = a.Population[8].Phone;
        using var portal = a.PortalClientFrom("127.0.0.111");
        await ExecuteAsync(a, "ALTER TABLE portal_signin_codes RENAME TO portal_signin_codes_away");
        using (var request = await portal.PostAsJsonAsync("/portal/api/v1/sign-in", new { phone }))
        {
            var problem = await ProblemAssert.IsProblemAsync(request, HttpStatusCode.ServiceUnavailable, ErrorCodes.StorageUnavailable);
            Assert.True(problem.GetProperty("transient").GetBoolean());
        }

        await VerifyAsync(portal, phone, "123456", HttpStatusCode.ServiceUnavailable);
        Assert.Equal(2, a.Logs.GetSnapshot().Count(r => r.Id.Id == 5105));
        Assert.Equal((0L, 0L, 0L), (await ScalarAsync(a, "SELECT COUNT(*) FROM portal_signin_numbers"), await ScalarAsync(a, "SELECT COUNT(*) FROM portal_signin_events"), await ScalarAsync(a, "SELECT COUNT(*) FROM portal_signin_codes_away")));

        await ExecuteAsync(a, "ALTER TABLE portal_signin_codes_away RENAME TO portal_signin_codes");
        (await PortalSignInRequests.RequestAsync(a, portal, phone, HttpStatusCode.Accepted)).Dispose();
        await PortalTests.PortalCodeAsync(a, phone);
        Assert.Single(await ((OutboxSmsSender)a.Get<ISmsSender>()).ReadAsync(await GuardedLookupTests.IdOf(a, phone), SmsKind.PortalCode, 10)); // only the later code was sent
    }

    [Fact]
    public async Task The_database_file_holds_no_phone_number_and_no_code_after_sign_ins()
    {
        var sent = new ConcurrentQueue<string>();
        await using var a = await CustodianTestHost.StartAsync(subscribers: 10, backend: TestBackend.Sqlite, services: s => s.AddSingleton<ISmsSender>(new CapturingSms(sent)));
        var stranger = "010-0000-4321";
        using var portal = a.PortalClientFrom("127.0.0.121");
        using var other = a.PortalClientFrom("127.0.0.122");
        var codes = new List<string>();
        var before = new List<string>(); // what the files held before each code existed
        for (var i = 0; i < 3; i++)
        {
            var phone = a.Population[i].Phone;
            var snapshot = await FilesTextAsync(a.Directory.FullName);
            (await PortalSignInRequests.RequestAsync(a, portal, phone, HttpStatusCode.Accepted)).Dispose(); // a code used below
            (await PortalSignInRequests.RequestAsync(a, other, phone, HttpStatusCode.Accepted)).Dispose(); // a code left pending
            var both = await SentAsync(sent, codes.Count + 2);
            codes.AddRange(both);
            before.AddRange([snapshot, snapshot]);
            await VerifyAsync(portal, phone, WrongCodes.NoneOf([.. codes]), HttpStatusCode.Unauthorized);
            await VerifyAsync(portal, phone, both[0], HttpStatusCode.OK);
        }

        (await PortalSignInRequests.RequestAsync(a, portal, stranger, HttpStatusCode.Accepted)).Dispose();
        await VerifyAsync(portal, stranger, "000000", HttpStatusCode.Unauthorized);
        Assert.Equal(4L, await ScalarAsync(a, "SELECT COUNT(*) FROM portal_signin_codes")); // the pending ones (three, and the stranger's), kept as HMACs
        Assert.Equal(4L, await ScalarAsync(a, "SELECT COUNT(*) FROM portal_signin_numbers"));

        // Every file of the data directory (the database and its WAL included): no number in any written form, no code.
        var e164 = PhoneNumbers.NormalizeKorean(stranger).Value;
        var needles = PlaintextScanner.Needles(a.Population).Concat([e164, e164[1..], stranger, stranger.Replace("-", string.Empty, StringComparison.Ordinal)]).ToList();
        Assert.Empty(await PlaintextScanner.ScanFilesAsync(a.Directory.FullName, needles));
        // A code anywhere in the bytes, in any context; unless the same six digits were already there before the code was
        // issued (then they are something else, e.g. part of a stored time or a hex ID, and this code proves nothing).
        var after = await FilesTextAsync(a.Directory.FullName);
        for (var i = 0; i < codes.Count; i++)
        {
            Assert.False(after.Contains(codes[i], StringComparison.Ordinal) && !before[i].Contains(codes[i], StringComparison.Ordinal), $"the data directory holds sign-in code #{i}");
        }
    }

    /// <summary>Every file below <paramref name="directory"/> as Latin-1 text (one character per byte), separated by NUL.</summary>
    private static async Task<string> FilesTextAsync(string directory)
    {
        var text = new StringBuilder();
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            text.Append(Encoding.Latin1.GetString(await File.ReadAllBytesAsync(file))).Append('\0');
        }

        return text.ToString();
    }

    private static async Task<List<string>> SentAsync(ConcurrentQueue<string> sent, int count)
    {
        for (var i = 0; sent.Count < count; i++)
        {
            Assert.True(i < 200, "the portal code SMS was not sent within 10 s");
            await Task.Delay(50);
        }

        return sent.Skip(count - 2).Take(2).Select(body => System.Text.RegularExpressions.Regex.Match(body, @"\b(\d{6})\b").Groups[1].Value).ToList();
    }

    private static async Task VerifyAsync(HttpClient client, string phone, string code, HttpStatusCode expected)
    {
        using var response = await client.PostAsJsonAsync("/portal/api/v1/sign-in/verify", new { phone, code });
        Assert.Equal(expected, response.StatusCode);
    }

    private static async Task<(long, long, long, long)> CountsAsync(CustodianTestHost host) =>
        (await ScalarAsync(host, "SELECT COUNT(*) FROM portal_signin_numbers"), await ScalarAsync(host, "SELECT COUNT(*) FROM portal_signin_addresses"),
            await ScalarAsync(host, "SELECT COUNT(*) FROM portal_signin_events"), await ScalarAsync(host, "SELECT COUNT(*) FROM portal_signin_codes"));

    private static async Task<long> ScalarAsync(CustodianTestHost host, string sql)
    {
        await using var connection = await host.Get<CustodianDatabase>().OpenAsync();
        await using var command = connection.Command(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task ExecuteAsync(CustodianTestHost host, string sql)
    {
        await using var connection = await host.Get<CustodianDatabase>().OpenAsync();
        await using var command = connection.Command(sql);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>An SMS sender that keeps the bodies in memory (so the database holds no SMS text to scan past).</summary>
    private sealed class CapturingSms(ConcurrentQueue<string> sent) : ISmsSender
    {
        public Task SendAsync(SubscriberId recipient, SmsKind kind, string body, CancellationToken cancellationToken = default)
        {
            sent.Enqueue(body);
            return Task.CompletedTask;
        }
    }
}
