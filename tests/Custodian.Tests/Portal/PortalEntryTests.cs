using System.Net;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Portal;

public sealed class PortalEntryTests
{
    [Theory]
    [InlineData("/portal", "/portal/sign-in")]
    [InlineData("/portal?lang=en", "/portal/sign-in")]
    [InlineData("/", "/portal/sign-in")] // the portal address `serve` prints
    public async Task The_bare_portal_address_leads_a_visitor_to_the_sign_in_page(string path, string landing)
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        using var client = host.PortalClient();

        using var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(landing, response.RequestMessage!.RequestUri!.AbsolutePath);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains(path.EndsWith("lang=en", StringComparison.Ordinal) ? "<html lang=\"en\">" : "<html lang=\"ko\">", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_terminal_address_serve_prints_leads_an_enrolled_device_to_staff_sign_in_and_refuses_any_other()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        var terminal = await host.EnrollAsync("S001", "counter-1");
        using var device = host.TerminalClient(terminal);
        using var stranger = host.TerminalClient(null);

        using var landed = await device.GetAsync("/");
        using var refused = await stranger.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, landed.StatusCode);
        Assert.Equal("/staff/sign-in", landed.RequestMessage!.RequestUri!.AbsolutePath);
        Assert.Equal("text/html", landed.Content.Headers.ContentType!.MediaType);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode); // no certificate: refused at the door, as every other path
        Assert.Equal("/", refused.RequestMessage!.RequestUri!.AbsolutePath);
    }
}
