using Custodian.Lookup;

namespace Custodian.Portal;

/// <summary>
/// Plain-language Korean and English words for what the ledger records (tasks, purposes, fields, roles), used by
/// notices and pages. Unknown codes are shown as the code itself, never hidden.
/// </summary>
public static class PortalWords
{
    private static readonly Dictionary<string, (string Ko, string En)> Tasks = new(StringComparer.Ordinal)
    {
        ["search"] = ("검색", "Search"),
        ["view"] = ("조회", "View"),
        ["unmask"] = ("전체 보기", "Viewed in full"),
        ["change"] = ("변경", "Change"),
        ["insert"] = ("등록", "Registration"),
        ["delete"] = ("삭제", "Deletion"),
        ["print"] = ("인쇄", "Print"),
        ["download"] = ("내려받기", "Download"),
        ["consent-request"] = ("동의 요청 문자 발송", "Consent code sent"),
        ["service-complete"] = ("업무 완료", "Service completed"),
        ["refused"] = ("거절된 요청", "Refused request"),
        ["export"] = ("접근 기록 내보내기", "Access-log export"),
        ["claim-filed"] = ("피해 보상 신청", "Compensation claim filed"),
        ["claim-answered"] = ("보상 신청 추가 자료 제출", "Information sent for your claim"),
        ["claim-view"] = ("보상 신청 열람 (보안 담당자)", "Your compensation claim read by the security office"),
    };

    // What a refused request of each reading task asked for: a refused unmask is "an attempt to view in full", not
    // "viewed in full (refused)", which reads as if the data had been shown.
    private static readonly Dictionary<string, (string Ko, string En)> Attempts = new(StringComparer.Ordinal)
    {
        ["search"] = ("검색 시도", "Attempted search"),
        ["view"] = ("조회 시도", "Attempted view"),
        ["unmask"] = ("전체 보기 시도", "Attempt to view in full"),
        ["change"] = ("변경 시도", "Attempted change"),
        ["print"] = ("인쇄 시도", "Attempted print"),
        ["download"] = ("내려받기 시도", "Attempted download"),
    };

    private static readonly Dictionary<string, string> PurposesKo = new(StringComparer.Ordinal)
    {
        ["in-store-service"] = "매장 방문 고객 응대",
        ["plan-change"] = "요금제 변경",
        ["device-repair"] = "단말기 수리·교체",
        ["billing-inquiry"] = "요금 문의",
        ["contract-renewal"] = "약정 갱신·변경 (본인 확인)",
        ["identity-verification"] = "대면 본인 확인",
        ["number-porting"] = "번호 이동",
    };

    private static readonly Dictionary<string, (string Ko, string En)> Fields = new(StringComparer.Ordinal)
    {
        ["name"] = ("이름", "name"),
        ["rrn"] = ("주민등록번호", "resident registration number"),
        ["phone"] = ("전화번호", "phone number"),
        ["address"] = ("주소", "address"),
        ["rate-plan"] = ("요금제", "rate plan"),
        ["contract-dates"] = ("약정 기간", "contract dates"),
    };

    private static readonly Dictionary<string, (string Ko, string En)> Roles = new(StringComparer.Ordinal)
    {
        ["clerk"] = ("매장 직원", "store clerk"),
        ["store-manager"] = ("매장 관리자", "store manager"),
        ["security-officer"] = ("보안 담당자", "security officer"),
        ["privacy-officer"] = ("개인정보보호 담당자", "privacy officer"),
    };

    /// <summary>The task's name in <paramref name="korean"/> or English.</summary>
    public static string Task(string task, bool korean) => Tasks.TryGetValue(task, out var w) ? (korean ? w.Ko : w.En) : task;

    /// <summary>
    /// The task's words for a history row: <see cref="Task(string, bool)"/> when it was allowed; when it was refused, what
    /// was attempted followed by <paramref name="refusedWord"/> in parentheses — "Attempt to view in full (refused)",
    /// never "Viewed in full (refused)", which reads as if the data had been shown.
    /// </summary>
    /// <param name="task">The ledger task code (e.g. <c>unmask</c>); an unknown code is shown as itself.</param>
    /// <param name="korean">Korean words when true, English otherwise.</param>
    /// <param name="refused">Whether the entry's outcome was <c>denied</c>.</param>
    /// <param name="refusedWord">The localized word for "refused" (the page's resources).</param>
    public static string Task(string task, bool korean, bool refused, string refusedWord)
    {
        if (!refused)
        {
            return Task(task, korean);
        }

        var attempted = Attempts.TryGetValue(task, out var w) ? (korean ? w.Ko : w.En) : Task(task, korean);
        return $"{attempted} ({refusedWord})";
    }

    /// <summary>The purpose's plain description in <paramref name="korean"/> or English (the catalog's words).</summary>
    public static string Purpose(string? purpose, bool korean)
    {
        if (purpose is null)
        {
            return korean ? "목적 없음" : "no purpose stated";
        }

        if (korean)
        {
            return PurposesKo.TryGetValue(purpose, out var ko) ? ko : purpose;
        }

        return PurposeCatalog.TryGet(purpose, out var p) ? p.Description : purpose;
    }

    /// <summary>The field's name in <paramref name="korean"/> or English.</summary>
    public static string Field(string field, bool korean) => Fields.TryGetValue(field, out var w) ? (korean ? w.Ko : w.En) : field;

    /// <summary>The role's name in <paramref name="korean"/> or English.</summary>
    public static string Role(string? role, bool korean) => role is not null && Roles.TryGetValue(role, out var w) ? (korean ? w.Ko : w.En) : role ?? (korean ? "알 수 없음" : "unknown");
}
