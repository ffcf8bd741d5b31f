using Custodian.Approvals;
using Custodian.Classification;
using Custodian.Incidents;
using Custodian.Monitoring;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.Localization;

namespace Custodian.Tests.Alerts;

/// <summary>
/// The free-text refusals (<c>personal-data-in-text</c>, <c>bidi-control-in-text</c>, <c>control-character-in-text</c>) read in the page's language on
/// every console page that takes free text: alerts (note, reason), approvals (reason), incidents and claims (reason).
/// </summary>
public sealed class FreeTextRefusalTextTests
{
    public static TheoryData<string, string, string, string> Refusals => new()
    {
        { "alerts", "note", "\u202Efdp.exe", "메모: 유니코드 양방향 제어 문자(U+202A–U+202E, U+2066–U+2069)는 쓸 수 없습니다" },
        { "alerts", "note", "010-9406-2730", "메모: 전화번호나 주민등록번호를 쓸 수 없습니다. 가입자는 토큰으로 적으세요" },
        { "alerts", "reason", "\u2066x", "사유: 유니코드 양방향 제어 문자(U+202A–U+202E, U+2066–U+2069)는 쓸 수 없습니다" },
        { "approvals", "reason", "\u202Efdp.exe", "사유: 유니코드 양방향 제어 문자(U+202A–U+202E, U+2066–U+2069)는 쓸 수 없습니다" },
        { "approvals", "reason", "7904051602390", "사유: 전화번호나 주민등록번호를 쓸 수 없습니다. 가입자는 토큰으로 적으세요" },
        { "incidents", "reason", "\u2069x", "사유: 유니코드 양방향 제어 문자(U+202A–U+202E, U+2066–U+2069)는 쓸 수 없습니다" },
        { "incidents", "note", "010-9406-2730", "메모: 전화번호나 주민등록번호를 쓸 수 없습니다. 가입자는 토큰으로 적으세요" },
        { "alerts", "note", "x \u001b[2J", "메모: 제어 문자(탭·줄바꿈을 제외한 U+0000–U+001F, U+007F–U+009F)는 쓸 수 없습니다" },
        { "approvals", "reason", "\u0085", "사유: 제어 문자(탭·줄바꿈을 제외한 U+0000–U+001F, U+007F–U+009F)는 쓸 수 없습니다" },
        { "incidents", "reason", "a\u007fb", "사유: 제어 문자(탭·줄바꿈을 제외한 U+0000–U+001F, U+007F–U+009F)는 쓸 수 없습니다" },
    };

    [Theory]
    [InlineData("two lines\nof text\twith a tab\r\n")]
    [InlineData("고객 요청 확인")]
    [InlineData("")]
    public void Tab_line_feed_carriage_return_and_korean_text_are_not_control_characters(string text)
    {
        Assert.False(FreeText.ContainsControlCharacter(text));
        Assert.Null(FreeText.Check(text, "note"));
    }

    [Theory]
    [MemberData(nameof(Refusals))]
    public void A_free_text_refusal_reads_in_korean_and_in_english(string area, string field, string text, string korean)
    {
        var error = FreeText.Check(text, field)!;
        var rule = error.Code switch
        {
            ErrorCodes.BidiControlInText => FreeText.BidiRule,
            ErrorCodes.ControlCharacterInText => FreeText.ControlRule,
            _ => FreeText.Rule,
        };
        Assert.Equal(korean, InCulture("ko", () => Describe(area, error)));
        Assert.Equal($"{field}: {rule}", InCulture("en", () => Describe(area, error)));
    }

    private static string Describe(string area, CustodianError error) => area switch
    {
        "alerts" => Pages.Console.Alerts.DetailModel.Describe(error, Factory().Create(typeof(AlertText))),
        "approvals" => Pages.Console.Approvals.ApprovalPages.Describe(error, new StringLocalizer<ApprovalText>(Factory())),
        "incidents" => Pages.Console.Incidents.IncidentPages.Describe(error, Factory().Create(typeof(IncidentText))),
        _ => throw new ArgumentOutOfRangeException(nameof(area)),
    };

    private static ResourceManagerStringLocalizerFactory Factory() => PageText.Factory();

    private static string InCulture(string language, Func<string> run) => PageText.InCulture(language, run);
}
