using Custodian.Portal;

namespace Custodian.Tests.Portal;

/// <summary>The history page's words for a task, allowed and refused, in both languages.</summary>
public sealed class PortalWordsTests
{
    [Theory]
    [InlineData("unmask", false, false, "Viewed in full")]
    [InlineData("unmask", false, true, "Attempt to view in full (refused)")]
    [InlineData("unmask", true, false, "전체 보기")]
    [InlineData("unmask", true, true, "전체 보기 시도 (거절됨)")]
    [InlineData("view", false, true, "Attempted view (refused)")]
    [InlineData("search", true, true, "검색 시도 (거절됨)")]
    [InlineData("consent-request", false, true, "Consent code sent (refused)")] // no attempt phrase: the task's own words
    [InlineData("no-such-task", false, true, "no-such-task (refused)")] // an unknown code is shown as itself
    public void A_refused_request_is_named_as_an_attempt_never_as_if_the_data_had_been_shown(string task, bool korean, bool refused, string expected) =>
        Assert.Equal(expected, PortalWords.Task(task, korean, refused, korean ? "거절됨" : "refused"));
}
