using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Custodian.Client;
using Custodian.Identity;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Gateway;

/// <summary>
/// The terminal and portal listeners of one host in one browser: browsers do not isolate cookies by port (RFC 6265 §8.5),
/// so both listeners' cookies share one jar on 127.0.0.1. A visit to one listener must not break the other's form posts,
/// and each listener's antiforgery cookie has its own name.
/// </summary>
public sealed partial class ListenerCookieTests
{
    [Fact]
    public async Task A_portal_visit_between_a_staff_form_and_its_post_does_not_break_the_post_and_each_listener_keeps_its_own_antiforgery_cookie()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5);
        var terminal = await host.EnrollAsync("S001", "counter-1");
        var staff = await host.CreateStaffAsync("C0009", StaffRole.Clerk, "S001", terminal);
        var jar = new CookieContainer();
        using var workstation = Browser(host.TerminalUrl, host.Ca, terminal, jar);
        using var portal = Browser(host.PortalUrl, host.Ca, null, jar);

        var staffToken = CsrfField().Match(await workstation.GetStringAsync("/staff/sign-in")).Groups[1].Value;
        var portalToken = CsrfField().Match(await portal.GetStringAsync("/portal/sign-in")).Groups[1].Value;
        Assert.NotEmpty(staffToken);
        Assert.NotEmpty(portalToken);
        _ = await workstation.GetStringAsync("/staff/sign-in"); // and the workstation again, between the portal's form and its post

        using (var signedIn = await workstation.PostAsync("/staff/sign-in", Form(staffToken, ("Account", staff.Account), ("password", staff.Password), ("otp", staff.Code(host.Time)))))
        {
            Assert.Equal(HttpStatusCode.OK, signedIn.StatusCode);
            Assert.Equal("/workstation", signedIn.RequestMessage!.RequestUri!.AbsolutePath);
        }

        using (var sent = await portal.PostAsync("/portal/sign-in?handler=Send", Form(portalToken, ("phone", host.Population[0].Phone))))
        {
            Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
            Assert.Contains("handler=Verify", await sent.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Both listeners' antiforgery cookies are in the one jar, each under its own name.
        var names = jar.GetAllCookies().Select(c => c.Name).Where(n => n.Contains("csrf", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["__Host-custodian-portal-csrf", "__Host-custodian-staff-csrf"], names);
    }

    private static FormUrlEncodedContent Form(string token, params (string Name, string Value)[] fields) =>
        new([new("__csrf", WebUtility.HtmlDecode(token)), .. fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value))]);

    private static HttpClient Browser(Uri baseUrl, X509Certificate2 ca, X509Certificate2? certificate, CookieContainer jar)
    {
        var handler = new SocketsHttpHandler
        {
            CookieContainer = jar,
            UseCookies = true,
            AllowAutoRedirect = true,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && TerminalHttp.ChainsTo(new X509Certificate2(presented), ca),
                ClientCertificates = certificate is null ? null : new X509CertificateCollection { certificate },
                LocalCertificateSelectionCallback = certificate is null ? null : (_, _, _, _, _) => certificate,
            },
        };
        return new HttpClient(handler) { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };
    }

    [GeneratedRegex("name=\"__csrf\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();
}
