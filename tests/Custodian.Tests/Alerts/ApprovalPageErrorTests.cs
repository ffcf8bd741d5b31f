using System.Globalization;
using Custodian.Access.Approvals;
using Custodian.Approvals;
using Custodian.Pages.Console.Approvals;
using Custodian.Problems;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Custodian.Tests.Alerts;

/// <summary>
/// The approvals page tells a request that is no longer pending (404: decided by another officer or lapsed) from one
/// that was approved but could not be carried out (409: the target changed meanwhile, e.g. a clerk already restored),
/// which it used to describe as "no longer pending"; in Korean and English.
/// </summary>
public sealed class ApprovalPageErrorTests
{
    // As PrivilegedActions and the built-in restore action return them.
    private static readonly CustodianError NotPending = new(ApprovalErrorCodes.RequestNotPending, 404, "There is no pending request with this ID (unknown, already decided, or lapsed after 24 hours).");
    private static readonly CustodianError NotCarriedOut = new(ApprovalErrorCodes.RequestNotPending, 409, "The target is no longer suspended; nothing was restored.");

    [Theory]
    [InlineData("ko", 404, "이 요청은 더 이상 대기 중이 아닙니다(다른 담당자가 결정했거나 24시간이 지나 만료됨).")]
    [InlineData("en", 404, "This request is no longer pending (decided by another officer, or lapsed after 24 hours).")]
    [InlineData("ko", 409, "승인했지만 실행할 수 없었습니다: 대상이 더 이상 정지 상태가 아니므로 아무것도 복구하지 않았습니다.")]
    [InlineData("en", 409, "Approved, but it could not be carried out: The target is no longer suspended; nothing was restored.")]
    public void A_request_no_longer_pending_and_one_approved_but_not_carried_out_are_told_apart(string language, int status, string expected)
    {
        var text = new StringLocalizer<ApprovalText>(new ResourceManagerStringLocalizerFactory(Options.Create(new LocalizationOptions { ResourcesPath = "Resources" }), NullLoggerFactory.Instance));
        var before = CultureInfo.CurrentUICulture;
        CultureInfo.CurrentUICulture = CultureInfo.GetCultureInfo(language);
        try
        {
            Assert.Equal(expected, ApprovalPages.Describe(status == 404 ? NotPending : NotCarriedOut, text));
        }
        finally
        {
            CultureInfo.CurrentUICulture = before;
        }
    }
}
