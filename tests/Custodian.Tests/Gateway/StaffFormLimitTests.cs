using System.Net;
using System.Text.RegularExpressions;
using Custodian.Identity;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Gateway;

/// <summary>
/// The staff sign-in and password forms take the account field's limit from the rule for account IDs (<see cref="Codes.MaxLength"/>,
/// 64): they said 32, so a browser cut a valid 33–64 character account short (found by a README-only evaluation).
/// </summary>
public sealed partial class StaffFormLimitTests
{
    [Fact]
    public async Task The_account_field_takes_every_valid_account_id_and_a_64_character_one_signs_in()
    {
        await using var host = await CustodianTestHost.StartAsync();
        var terminal = await host.EnrollAsync("S001", "counter-8");
        var account = "C" + new string('a', Codes.MaxLength - 1);
        Assert.True(Codes.IsValid(account));
        var staff = await host.CreateStaffAsync(account, StaffRole.Clerk, "S001", terminal);
        using var browser = host.TerminalClient(terminal);

        var signIn = await browser.GetStringAsync("/staff/sign-in");
        var password = await browser.GetStringAsync("/staff/password");
        Assert.Equal("64", AccountLimit().Match(signIn).Groups[1].Value);
        Assert.Equal("64", AccountLimit().Match(password).Groups[1].Value);

        using var response = await browser.PostAsync(
            "/staff/sign-in",
            new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["__csrf"] = WebUtility.HtmlDecode(CsrfField().Match(signIn).Groups[1].Value),
                ["account"] = staff.Account,
                ["password"] = staff.Password,
                ["otp"] = staff.Code(host.Time),
            }));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/workstation", response.RequestMessage!.RequestUri!.AbsolutePath);
    }

    [GeneratedRegex("<input id=\"account\"[^>]* maxlength=\"([0-9]+)\"")]
    private static partial Regex AccountLimit();

    [GeneratedRegex("name=\"__csrf\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();
}
