using Custodian.Incidents;
using Custodian.Pages.Console.Incidents;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.Localization;

namespace Custodian.Tests.Incidents;

/// <summary>The console's declare form: a time that is present but malformed is refused, never dropped into an open scope; errors in the page's language.</summary>
public sealed class IncidentPagesFormTests
{
    [Theory]
    [InlineData(null, null)]
    [InlineData("", " ")]
    [InlineData("2026-11-01T09:00", "2026-11-02T09:00:30")]
    public void Empty_or_well_formed_times_are_accepted(string? from, string? to) => Assert.Null(IncidentPages.CheckTimes(from, to));

    [Theory]
    [InlineData("garbage", null, "from")]
    [InlineData("2026-11-01", null, "from")]
    [InlineData(null, "2026-13-01T09:00", "to")]
    public void A_malformed_time_names_its_field(string? from, string? to, string field) =>
        Assert.Equal([field], IncidentPages.CheckTimes(from, to)!.Errors!.Keys);

    [Theory]
    [InlineData("ko", "사고 요청 내용이 올바르지 않습니다. 제목: 필수, 1–200자; 직원 계정: 코드 최대 100개(각 1–64자의 영문자(A-Z, a-z), 숫자, '-', '_', '.'; 영문자나 숫자로 시작)")]
    [InlineData("en", "The incident request is invalid. title: required, 1-200 characters; clerks: at most 100 codes of 1-64 ASCII letters (A-Z, a-z), digits, '-', '_' or '.', starting with a letter or digit")]
    public void Validation_errors_are_shown_in_the_page_language(string language, string expected)
    {
        var error = new CustodianError(ErrorCodes.ValidationFailed, 400, "The incident request is invalid.")
        {
            Errors = new Dictionary<string, string[]>
            {
                ["title"] = ["required, 1-200 characters"],
                ["clerks"] = ["at most 100 codes of 1-64 ASCII letters (A-Z, a-z), digits, '-', '_' or '.', starting with a letter or digit"],
            },
        };
        Assert.Equal(expected, InCulture(language, () => IncidentPages.Describe(error, Text())));
    }

    [Theory]
    [InlineData("ko", "An incident can be scoped only while open or scoped; it is closed.", "사고는 열림 또는 범위 확정 상태에서만 범위를 산정할 수 있습니다. 현재 상태: 종결.")]
    [InlineData("ko", "Only a submitted claim can be approved; it is information-requested.", "접수된 청구만 승인할 수 있습니다. 현재 상태: 추가 정보 요청.")]
    [InlineData("ko", "A message nobody translated.", "A message nobody translated.")]
    [InlineData("en", "Only a submitted claim can be approved; it is paid.", "Only a submitted claim can be approved; it is paid.")]
    public void State_conflicts_are_translated_with_the_state_in_the_page_language(string language, string english, string expected) =>
        Assert.Equal(expected, InCulture(language, () => IncidentPages.Translate(english, Text())));

    [Fact]
    public async Task An_unknown_clerk_is_named_in_the_page_language()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1);
        using var clerk = (await host.ClerkAsync("C0001")).Client;
        var refusal = await IncidentDeclarationRules.CheckClerksAsync(["C0001", "C0404"], host.Get<Custodian.Access.Staff.StaffDirectory>());

        Assert.Equal(
            "clerks[1]에 해당하는 직원 계정이 없습니다. 직원 계정: 모든 직원은 직원 계정을 가리켜야 합니다(퇴사한 직원의 계정도 비활성 상태로 보관되므로 찾을 수 있습니다)",
            InCulture("ko", () => IncidentPages.Describe(refusal!.Error, Text())));
        Assert.Equal(
            "clerks[1] names no staff account. clerks: " + IncidentDeclarationRules.ClerkRule,
            InCulture("en", () => IncidentPages.Describe(refusal!.Error, Text())));
    }

    [Theory]
    [InlineData(IncidentDeclarationRules.ScopeRule, "직원, 단말기, 매장, 탐지기, 경보 중 하나 이상")]
    [InlineData("An incident needs a scope: " + IncidentDeclarationRules.ScopeRule + ".", "사고에는 범위가 필요합니다: 직원, 단말기, 매장, 탐지기, 경보 중 하나 이상.")]
    [InlineData(IncidentDeclarationRules.FutureRule, "미래일 수 없습니다(기간은 늦어도 지금 끝납니다. 나중에 범위 산정으로 넓히세요)")]
    [InlineData("The window's end 'to' " + IncidentDeclarationRules.FutureRule + ".", "기간의 종료('to')는 미래일 수 없습니다(기간은 늦어도 지금 끝납니다. 나중에 범위 산정으로 넓히세요).")]
    public void The_declaration_rules_have_korean_text(string english, string korean) =>
        Assert.Equal(korean, InCulture("ko", () => IncidentPages.Translate(english, Text())));

    private static IStringLocalizer Text() => PageText.For(typeof(IncidentText));

    private static string InCulture(string language, Func<string> run) => PageText.InCulture(language, run);
}
