using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.RegularExpressions;
using Custodian.Access;
using Custodian.Access.Staff;
using Custodian.Client;
using Custodian.Gateway;
using Custodian.Identity;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Gateway;

/// <summary>
/// Sign-in must not tell which account IDs exist: an ID that names no account answers every failed attempt exactly as an
/// existing account does, the lockout after <see cref="StaffOptions.MaxFailedAttempts"/> failures (423) and its expiry after
/// <see cref="StaffOptions.LockoutDuration"/> included, on the terminal API and on the web sign-in page (fake time).
/// </summary>
public sealed partial class SignInLockoutParityTests
{
    [Fact]
    public async Task On_the_api_an_unknown_account_id_locks_and_unlocks_exactly_like_an_existing_account()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5);
        var terminal = await host.EnrollAsync("S001", "counter-1");
        var staff = await host.CreateStaffAsync("C0001", StaffRole.Clerk, "S001", terminal);
        using var client = host.TerminalClient(terminal);

        async Task<string> AttemptAsync(string account, int i)
        {
            using var response = await client.PostAsJsonAsync("/api/v1/sessions", new SignInRequest(account, "wrong password " + i, staff.Code(host.Time)));
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return $"{(int)response.StatusCode} {problem.RootElement.GetProperty("errorCode").GetString()} {problem.RootElement.GetProperty("detail").GetString()}";
        }

        var existing = new List<string>();
        var unknown = new List<string>();
        for (var i = 1; i <= 6; i++)
        {
            existing.Add(await AttemptAsync("C0001", i));
            unknown.Add(await AttemptAsync("C0404", i));
        }

        var until = host.Time.GetUtcNow() + new StaffOptions().LockoutDuration;
        var locked = $"423 account-locked The account is locked after repeated failed sign-ins until {until:yyyy-MM-dd'T'HH:mm:ss'Z'}; a security officer can unlock it.";
        string[] expected = [.. Enumerable.Repeat("401 invalid-credentials " + AccessErrors.InvalidCredentials.Message, 4), locked, locked];
        Assert.Equal(expected, existing);
        Assert.Equal(expected, unknown);

        // The lockout runs out at the same moment for both, and counting starts afresh.
        host.Time.Advance(new StaffOptions().LockoutDuration - TimeSpan.FromSeconds(1));
        Assert.Equal(locked, await AttemptAsync("C0001", 7));
        Assert.Equal(locked, await AttemptAsync("C0404", 7));
        host.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(expected[0], await AttemptAsync("C0001", 8));
        Assert.Equal(expected[0], await AttemptAsync("C0404", 8));
    }

    [Fact]
    public async Task On_the_web_sign_in_page_an_unknown_account_id_locks_exactly_like_an_existing_account()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5);
        var terminal = await host.EnrollAsync("S001", "counter-1");
        var staff = await host.CreateStaffAsync("C0001", StaffRole.Clerk, "S001", terminal);
        using var browser = Browser(host.TerminalUrl, host.Ca, terminal, new CookieContainer());

        async Task<string> AttemptAsync(string account, int i)
        {
            var token = CsrfField().Match(await browser.GetStringAsync("/staff/sign-in")).Groups[1].Value;
            using var form = new FormUrlEncodedContent(
            [
                new("__csrf", WebUtility.HtmlDecode(token)),
                new("Account", account),
                new("password", "wrong password " + i),
                new("otp", staff.Code(host.Time)),
            ]);
            using var response = await browser.PostAsync("/staff/sign-in", form);
            return $"{(int)response.StatusCode} {WebUtility.HtmlDecode(ErrorMessage().Match(await response.Content.ReadAsStringAsync()).Groups[1].Value)}";
        }

        var existing = new List<string>();
        var unknown = new List<string>();
        for (var i = 1; i <= 6; i++)
        {
            existing.Add(await AttemptAsync("C0001", i));
            unknown.Add(await AttemptAsync("C0404", i));
        }

        const string Wrong = "계정, 비밀번호 또는 인증 앱 코드가 올바르지 않습니다."; // the page's default language, Korean
        const string Locked = "실패가 너무 많아 계정이 잠겼습니다. 보안 담당자에게 문의하세요.";
        string[] expected = [.. Enumerable.Repeat(Wrong, 4), Locked, Locked];
        Assert.Equal(expected, existing.Select(a => a[(a.IndexOf(' ', StringComparison.Ordinal) + 1)..]));
        Assert.Equal(existing, unknown);

        host.Time.Advance(new StaffOptions().LockoutDuration);
        Assert.Equal(await AttemptAsync("C0001", 7), await AttemptAsync("C0404", 7));
        Assert.EndsWith(Wrong, await AttemptAsync("C0404", 8), StringComparison.Ordinal);
    }

    private static HttpClient Browser(Uri baseUrl, X509Certificate2 ca, X509Certificate2 certificate, CookieContainer jar)
    {
        var handler = new SocketsHttpHandler
        {
            CookieContainer = jar,
            UseCookies = true,
            AllowAutoRedirect = true,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && TerminalHttp.ChainsTo(new X509Certificate2(presented), ca),
                ClientCertificates = new X509CertificateCollection { certificate },
                LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate,
            },
        };
        return new HttpClient(handler) { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };
    }

    [GeneratedRegex("name=\"__csrf\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();

    [GeneratedRegex("id=\"sign-in-error\">([^<]*)<")]
    private static partial Regex ErrorMessage();
}
