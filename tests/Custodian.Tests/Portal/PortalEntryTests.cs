using System.Net;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Portal;

public sealed class PortalEntryTests
{
    [Theory]
    [InlineData("/portal", "/portal/sign-in")]
    [InlineData("/portal?lang=en", "/portal/sign-in")]
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
}
