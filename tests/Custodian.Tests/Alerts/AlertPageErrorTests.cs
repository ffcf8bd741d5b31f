using Custodian.Hosting;
using Custodian.Monitoring;
using Custodian.Pages.Console.Alerts;
using Custodian.Problems;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.Localization;

namespace Custodian.Tests.Alerts;

/// <summary>
/// The alert page shows refusals in its own language: the monitor's real refusals (an unknown alert, a final one, a note
/// too long) and the page's own validation, in Korean with the state named in Korean, and in English as the service wrote them.
/// </summary>
public sealed class AlertPageErrorTests
{
    [Fact]
    public async Task Review_refusals_from_the_alert_store_are_shown_in_korean_and_english()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5);
        var store = host.Get<AlertStore>();
        var alert = await store.CreateAsync(new NewAlert("distinct-subjects", Principal.Create(PrincipalKind.Clerk, "C0001"), "S001", TimeSpan.FromHours(1), 30, 20, new AlertEvidence(1, 3, [1, 2, 3], 3), AlertSeverity.High));
        Assert.True((await store.SetStateAsync(alert.Id, AlertState.Confirmed, "O9001", null)).IsSuccess);

        var final = (await store.SetStateAsync(alert.Id, AlertState.FalsePositive, "O9002", null)).Error!;
        Assert.Equal("이 경보는 이미 최종 상태(확정)여서 바꿀 수 없습니다.", InCulture("ko", () => DetailModel.Describe(final, Text())));
        Assert.Equal("The alert is already confirmed, a final state.", InCulture("en", () => DetailModel.Describe(final, Text())));

        var unknown = (await store.SetStateAsync("A-01JZZZZZZZZZZZZZZZZZZZZZZZ", AlertState.Acknowledged, "O9001", null)).Error!;
        Assert.Equal("이 ID의 경보가 없습니다.", InCulture("ko", () => DetailModel.Describe(unknown, Text())));

        var other = await store.CreateAsync(new NewAlert("distinct-subjects", Principal.Create(PrincipalKind.Clerk, "C0002"), "S001", TimeSpan.FromHours(1), 30, 20, new AlertEvidence(4, 6, [4, 5, 6], 3), AlertSeverity.High));
        var longNote = (await store.SetStateAsync(other.Id, AlertState.Acknowledged, "O9001", new string('x', AlertStore.MaxNoteLength + 1))).Error!;
        Assert.Equal(ErrorCodes.ValidationFailed, longNote.Code);
        Assert.Equal("메모: 최대 500자여야 합니다.", InCulture("ko", () => DetailModel.Describe(longNote, Text())));
        Assert.Equal("note: The note must be at most 500 characters.", InCulture("en", () => DetailModel.Describe(longNote, Text()))); // the rule once, not twice
    }

    [Fact]
    public async Task An_off_hours_read_reads_as_a_count_where_none_is_allowed_not_as_1_against_0_in_the_console_and_the_cli()
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5);
        var store = host.Get<AlertStore>();
        var evidence = new AlertEvidence(7, 7, [7], 1) { Detail = "1 subscriber read outside store hours within an hour; risk 45, action alert" };
        var alert = await store.CreateAsync(new NewAlert("machine-timing", Principal.Create(PrincipalKind.Clerk, "C0001"), "S001", TimeSpan.FromHours(1), 1, 0, evidence, AlertSeverity.Low));
        var limited = await store.CreateAsync(new NewAlert("distinct-subjects", Principal.Create(PrincipalKind.Clerk, "C0002"), "S001", TimeSpan.FromHours(1), 30, 20, new AlertEvidence(1, 3, [1, 2, 3], 3), AlertSeverity.High));

        Assert.Equal(
            "1 where none is allowed, over 1h; 1 ledger entries. 1 subscriber read outside store hours within an hour; risk 45, action alert",
            InCulture("en", () => AlertRow.From(alert, Localizer()).Summary));
        Assert.Equal(
            "1h 동안 1(허용 0건), 원장 항목 1건. 1 subscriber read outside store hours within an hour; risk 45, action alert",
            InCulture("ko", () => AlertRow.From(alert, Localizer()).Summary));
        Assert.Equal("30 against 20 over 1h; 3 ledger entries", InCulture("en", () => AlertRow.From(limited, Localizer()).Summary)); // a real limit: as before

        var environment = host.Backend == TestBackend.Postgres // the CLI reaches the host's storage as a deployment's would
            ? new Dictionary<string, string> { ["Custodian__Storage"] = host.Get<Custodian.Storage.StorageSettings>().ConnectionString! }
            : [];
        var (code, table, error) = await CliProcess.RunAsync(environment, "alerts", "list", "--data", host.Directory.FullName);
        Assert.Equal((0, string.Empty), (code, error));
        string Measure(Alert a) => Assert.Single(table.Split('\n'), l => l.Contains(a.Id, StringComparison.Ordinal)) // redirected: one line per row
            .Split(['│', '|'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)[7];
        Assert.Equal(("1 (none allowed)", "30/20"), (Measure(alert), Measure(limited)));
    }

    private static IStringLocalizer<AlertText> Localizer() =>
        new StringLocalizer<AlertText>(PageText.Factory());

    [Theory]
    [InlineData("ko", "state", "must be acknowledged, false-positive or confirmed", "검토 결과: 확인함, 오탐, 확정 중 하나여야 합니다")]
    [InlineData("ko", "reason", "is required, 1-500 characters", "사유: 필수, 1–500자")]
    [InlineData("ko", "kind", "must be clerk or terminal", "종류: 직원(clerk) 또는 단말기(terminal)여야 합니다")]
    [InlineData("ko", "id", "must be 1-64 ASCII letters (A-Z, a-z), digits, '-', '_' or '.', starting with a letter or digit", "대상 코드: 1–64자의 영문자(A-Z, a-z), 숫자, '-', '_', '.'이며 영문자나 숫자로 시작해야 합니다")]
    [InlineData("en", "reason", "is required, 1-500 characters", "reason: is required, 1-500 characters")]
    public void The_page_validation_is_shown_in_the_page_language(string language, string field, string rule, string expected) =>
        Assert.Equal(expected, InCulture(language, () => DetailModel.Describe(ProblemResults.Validation(field, rule), Text())));

    [Theory]
    [InlineData("The alert changed state concurrently; reload it and retry.", "다른 담당자가 방금 이 경보의 상태를 바꿨습니다. 새로 고친 뒤 다시 시도하세요.")]
    [InlineData("The access ledger could not record the review, so nothing changed. Try again shortly.", "접근 기록부가 검토를 기록하지 못해 아무것도 바뀌지 않았습니다. 잠시 후 다시 시도하세요.")]
    [InlineData("target: is not suspended", "대상이 정지 상태가 아닙니다.")]
    [InlineData("That clerk or terminal is not suspended.", "그 직원 또는 단말기는 정지 상태가 아닙니다.")]
    public void Service_messages_are_translated(string english, string korean) =>
        Assert.Equal(korean, InCulture("ko", () => DetailModel.Describe(new CustodianError("x", 409, english), Text())));

    private static IStringLocalizer Text() => PageText.For(typeof(AlertText));

    private static string InCulture(string language, Func<string> run) => PageText.InCulture(language, run);
}
