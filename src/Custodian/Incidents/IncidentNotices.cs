using System.Globalization;
using System.Text;

namespace Custodian.Incidents;

/// <summary>Language of a notice: Korean (the default, 한국어) or English.</summary>
public enum NoticeLanguage
{
    /// <summary>Korean.</summary>
    Korean = 1,

    /// <summary>English.</summary>
    English = 2,
}

/// <summary>
/// Drafts of the breach notices required by the Personal Information Protection Act (개인정보 보호법) Art. 34(1): to each data
/// subject and (Art. 34(3), Enforcement Decree Art. 40: 1,000 or more subjects, or any unique identifier such as an RRN) to the
/// Personal Information Protection Commission / KISA, within 72 hours. Each draft states the five items of Art. 34(1):
/// 1 the items leaked; 2 when and how; 3 what the subject can do to limit the damage; 4 what the company did and is doing;
/// 5 where to report damage and get help. No draft holds a personal value: subscribers are addressed by the SMS seam
/// (internal ID) and named nowhere.
/// </summary>
public static class IncidentNotices
{
    /// <summary>Longest <see cref="NoticeFacts.How"/>, in characters (keeps the SMS within 300 characters).</summary>
    public const int MaxHow = 40;

    /// <summary>Longest <see cref="NoticeFacts.Measures"/>, in characters.</summary>
    public const int MaxMeasures = 40;

    /// <summary>Longest <see cref="NoticeFacts.Contact"/>, in characters.</summary>
    public const int MaxContact = 30;

    /// <summary>Longest SMS the seam accepts (<see cref="Messaging.ISmsSender.SendAsync"/>).</summary>
    public const int MaxSms = 300;

    private static readonly Dictionary<string, (string Ko, string En)> FieldLabels = new(StringComparer.Ordinal)
    {
        ["rrn"] = ("주민등록번호", "RRN"),
        ["name"] = ("이름", "name"),
        ["phone"] = ("휴대전화번호", "phone number"),
        ["address"] = ("주소", "address"),
        ["rate-plan"] = ("요금제", "rate plan"),
        ["contract-dates"] = ("약정기간", "contract dates"),
    };

    /// <summary>
    /// Checks the officer's notice facts: each 1–its maximum characters after trimming, and free of phone numbers, RRNs and
    /// bidirectional controls (<see cref="Classification.FreeText.Check"/>): the facts are recorded in the
    /// <c>incident-notified</c> ledger entry's reason, so text the ledger would refuse is refused here, before any notice
    /// is sent. A representative number (<c>1588-…</c>, <c>114</c>) or a web address is a contact the rule allows.
    /// </summary>
    /// <returns>An error naming the field and the rule (400 <see cref="IncidentErrors.ReasonRequired"/>, or
    /// <see cref="Problems.ErrorCodes.PersonalDataInText"/> / <see cref="Problems.ErrorCodes.BidiControlInText"/>), or null.</returns>
    public static Problems.CustodianError? Validate(NoticeFacts facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        Check(facts.How, "how", MaxHow);
        Check(facts.Measures, "measures", MaxMeasures);
        Check(facts.Contact, "contact", MaxContact);
        if (errors.Count == 0)
        {
            return Classification.FreeText.Check(facts.How, "how")
                ?? Classification.FreeText.Check(facts.Measures, "measures")
                ?? Classification.FreeText.Check(facts.Contact, "contact");
        }

        return new Problems.CustodianError(IncidentErrors.ReasonRequired, 400, "The notice needs how it happened, what the company did and where to get help (PIPA Art. 34(1)).") { Errors = errors };

        void Check(string? value, string field, int max)
        {
            if (string.IsNullOrWhiteSpace(value) || value.Trim().Length > max)
            {
                errors[field] = [$"required, 1-{max} characters"];
            }
        }
    }

    /// <summary>Labels of field names in the language, e.g. <c>rrn</c> → 주민등록번호 / RRN; unknown names are kept as they are.</summary>
    public static string Label(string field, NoticeLanguage language) =>
        FieldLabels.TryGetValue(field, out var l) ? (language == NoticeLanguage.Korean ? l.Ko : l.En) : field;

    /// <summary>
    /// The SMS to one subscriber (at most <see cref="MaxSms"/> characters): the items exposed to them, whether shown in full
    /// or masked, the window, how, what they can do, what the company did, and where to get help.
    /// </summary>
    /// <param name="incident">The case; needs its window.</param>
    /// <param name="facts">The officer's facts.</param>
    /// <param name="grade">The subscriber's grade (not token-only: those get no breach notice).</param>
    /// <param name="fields">Field names shown to the reader, masked or not.</param>
    /// <param name="unmasked">Field names shown in full.</param>
    /// <param name="language">Language.</param>
    /// <param name="offset">Offset the dates are written at (the review offset, default +09:00).</param>
    /// <exception cref="ArgumentException">When <paramref name="grade"/> is token-only or the scope has no window.</exception>
    public static string Sms(Incident incident, NoticeFacts facts, ExposureGrade grade, IReadOnlyCollection<string> fields, IReadOnlyCollection<string> unmasked, NoticeLanguage language, TimeSpan offset)
    {
        ArgumentNullException.ThrowIfNull(incident);
        ArgumentNullException.ThrowIfNull(facts);
        if (grade == ExposureGrade.TokenOnly)
        {
            throw new ArgumentException("Token-only exposure gets no breach notice.", nameof(grade));
        }

        var (from, to) = Window(incident, offset);
        var full = string.Join(", ", fields.Where(unmasked.Contains).Select(f => Label(f, language)));
        var masked = string.Join(", ", fields.Where(f => !unmasked.Contains(f)).Select(f => Label(f, language)));
        string items;
        if (language == NoticeLanguage.Korean)
        {
            items = (full.Length > 0 ? full + "(전체)" : string.Empty) + (full.Length > 0 && masked.Length > 0 ? ", " : string.Empty) + (masked.Length > 0 ? masked + "(일부 가림)" : string.Empty);
            return $"[개인정보 유출 안내 {incident.Id}] {from}~{to} {facts.How.Trim()}(으)로 고객님의 {items}이(가) 조회되었습니다. " +
                $"조치: {facts.Measures.Trim()}. 의심 연락에 응하지 마세요. 피해 신고·문의: {facts.Contact.Trim()}";
        }

        items = (full.Length > 0 ? full + " (in full)" : string.Empty) + (full.Length > 0 && masked.Length > 0 ? "; " : string.Empty) + (masked.Length > 0 ? masked + " (masked)" : string.Empty);
        return $"[Breach notice {incident.Id}] {from}-{to}: {facts.How.Trim()}. Your {items} were viewed. " +
            $"We: {facts.Measures.Trim()}. Beware scams. Help: {facts.Contact.Trim()}";
    }

    /// <summary>
    /// The full notice to subscribers (Markdown), one text for every grade with a section per grade, for the portal and as the
    /// reference text of the SMS. Token-only exposure is stated separately and is not called a leak.
    /// </summary>
    public static string Subscribers(Incident incident, NoticeFacts facts, NoticeLanguage language, TimeSpan offset)
    {
        ArgumentNullException.ThrowIfNull(incident);
        ArgumentNullException.ThrowIfNull(facts);
        var s = incident.Summary ?? throw new ArgumentException("The incident has not been scoped.", nameof(incident));
        var (from, to) = Window(incident, offset);
        var sb = new StringBuilder();
        var fields = string.Join(", ", s.Fields.Keys.Select(f => Label(f, language)));
        var unmasked = string.Join(", ", s.UnmaskedFields.Keys.Select(f => Label(f, language)));
        if (language == NoticeLanguage.Korean)
        {
            sb.Append(CultureInfo.InvariantCulture, $"# 개인정보 유출 통지 ({incident.Id})\n\n");
            sb.Append("고객님의 개인정보가 권한 없이 조회된 사실을 알려 드리고 깊이 사과드립니다. (개인정보 보호법 제34조)\n\n");
            sb.Append(CultureInfo.InvariantCulture, $"1. **유출된 항목**: {fields}. 이 중 전체가 노출된 항목: {(unmasked.Length > 0 ? unmasked : "없음")}. 나머지는 일부 가림 처리된 상태로 조회되었습니다. 고객님별 항목은 문자 안내에 적혀 있습니다.\n");
            sb.Append(CultureInfo.InvariantCulture, $"2. **유출 시점과 경위**: {from} ~ {to}, {facts.How.Trim()}.\n");
            sb.Append("3. **고객님이 하실 수 있는 일**: 의심스러운 전화·문자·결제 요청에 응하지 마시고, 명의도용 방지 서비스(M-Safer)와 신용정보 조회 중지를 이용하시며, 비밀번호를 변경하세요. 2차 피해가 생기면 포털에서 보상을 신청하실 수 있습니다.\n");
            sb.Append(CultureInfo.InvariantCulture, $"4. **회사의 조치**: {facts.Measures.Trim()}. 접근 기록을 보존하고 관계 기관에 신고하였습니다.\n");
            sb.Append(CultureInfo.InvariantCulture, $"5. **피해 신고·상담**: {facts.Contact.Trim()}; 개인정보침해 신고센터 국번없이 118 (privacy.kisa.or.kr).\n\n");
            sb.Append("식별번호(토큰)만 노출되고 개인정보 항목은 노출되지 않은 고객님께는 이 통지가 해당되지 않으며, 별도로 안내해 드립니다.\n");
        }
        else
        {
            sb.Append(CultureInfo.InvariantCulture, $"# Notice of a personal data breach ({incident.Id})\n\n");
            sb.Append("We are writing to tell you that your personal information was viewed without authorisation, and we apologise. (Personal Information Protection Act, Art. 34)\n\n");
            sb.Append(CultureInfo.InvariantCulture, $"1. **Items leaked**: {fields}. Shown in full: {(unmasked.Length > 0 ? unmasked : "none")}; the others were shown masked. The items that concern you are listed in your text message.\n");
            sb.Append(CultureInfo.InvariantCulture, $"2. **When and how**: {from} to {to}, {facts.How.Trim()}.\n");
            sb.Append("3. **What you can do**: do not answer suspicious calls, texts or payment requests; use the identity-theft protection service (M-Safer) and a credit freeze; change your passwords. If you suffer damage, you can claim compensation in the portal.\n");
            sb.Append(CultureInfo.InvariantCulture, $"4. **What we did**: {facts.Measures.Trim()}. We preserved the access records and reported to the authorities.\n");
            sb.Append(CultureInfo.InvariantCulture, $"5. **Where to report damage and get help**: {facts.Contact.Trim()}; Personal Information Infringement Report Center, 118 (privacy.kisa.or.kr).\n\n");
            sb.Append("Subscribers of whom only an internal reference (token) and no personal item was exposed are not covered by this notice and are informed separately.\n");
        }

        return sb.ToString();
    }

    /// <summary>The notice to the regulator (Markdown): the five items with counts per grade, fields, window, timeline span and the notice clock.</summary>
    public static string Regulator(Incident incident, NoticeFacts facts, NoticeLanguage language, TimeSpan offset)
    {
        ArgumentNullException.ThrowIfNull(incident);
        ArgumentNullException.ThrowIfNull(facts);
        var s = incident.Summary ?? throw new ArgumentException("The incident has not been scoped.", nameof(incident));
        var (from, to) = Window(incident, offset);
        var c = s.Counts;
        var fields = string.Join(", ", s.Fields.Select(p => $"{Label(p.Key, language)} {p.Value:N0}"));
        var unmasked = string.Join(", ", s.UnmaskedFields.Select(p => $"{Label(p.Key, language)} {p.Value:N0}"));
        var declared = Local(incident.DeclaredAt, offset);
        var deadline = Local(incident.NoticeDeadline, offset);
        var sb = new StringBuilder();
        if (language == NoticeLanguage.Korean)
        {
            sb.Append(CultureInfo.InvariantCulture, $"# 개인정보 유출 신고서 ({incident.Id})\n\n");
            sb.Append(CultureInfo.InvariantCulture, $"- 사고명: {incident.Title}\n- 인지(선언) 시각: {declared}; 통지·신고 기한(72시간): {deadline}\n");
            sb.Append(CultureInfo.InvariantCulture, $"- 유출 규모: 정보주체 {c.PersonalData:N0}명 (주민등록번호 전체 노출 {c.RrnUnmasked:N0}, 기타 항목 전체 노출 {c.Unmasked:N0}, 가림 처리 조회 {c.Masked:N0}); 식별번호(토큰)만 노출 {c.TokenOnly:N0}명 별도\n\n");
            sb.Append(CultureInfo.InvariantCulture, $"1. **유출 항목**: {fields} (명). 전체 노출: {(unmasked.Length > 0 ? unmasked : "없음")} (명).\n");
            sb.Append(CultureInfo.InvariantCulture, $"2. **유출 시점과 경위**: {from} ~ {to}, {facts.How.Trim()}. 접근 기록 {s.EntriesExposing:N0}건 (원장 {s.LedgerSize:N0}건 기준, 대상 집합 SHA-256 {s.SetSha256}).\n");
            sb.Append("3. **정보주체가 할 수 있는 조치**: 의심 연락·결제 요청 무시, 명의도용 방지 서비스·신용정보 조회 중지 이용, 비밀번호 변경, 2차 피해 보상 신청.\n");
            sb.Append(CultureInfo.InvariantCulture, $"4. **회사의 대응 조치**: {facts.Measures.Trim()}.\n");
            sb.Append(CultureInfo.InvariantCulture, $"5. **피해 구제 창구**: {facts.Contact.Trim()}.\n");
        }
        else
        {
            sb.Append(CultureInfo.InvariantCulture, $"# Personal data breach report ({incident.Id})\n\n");
            sb.Append(CultureInfo.InvariantCulture, $"- Incident: {incident.Title}\n- Declared: {declared}; notice and report due (72 hours): {deadline}\n");
            sb.Append(CultureInfo.InvariantCulture, $"- Scale: {c.PersonalData:N0} data subjects (RRN in full {c.RrnUnmasked:N0}, other items in full {c.Unmasked:N0}, masked only {c.Masked:N0}); token only, separately: {c.TokenOnly:N0}\n\n");
            sb.Append(CultureInfo.InvariantCulture, $"1. **Items leaked**: {fields} (subjects). In full: {(unmasked.Length > 0 ? unmasked : "none")} (subjects).\n");
            sb.Append(CultureInfo.InvariantCulture, $"2. **When and how**: {from} to {to}, {facts.How.Trim()}. {s.EntriesExposing:N0} access records (ledger of {s.LedgerSize:N0} entries; affected-set SHA-256 {s.SetSha256}).\n");
            sb.Append("3. **What data subjects can do**: ignore suspicious calls and payment requests, use identity-theft protection and a credit freeze, change passwords, claim compensation for secondary damage.\n");
            sb.Append(CultureInfo.InvariantCulture, $"4. **What the company did**: {facts.Measures.Trim()}.\n");
            sb.Append(CultureInfo.InvariantCulture, $"5. **Where to get help**: {facts.Contact.Trim()}.\n");
        }

        return sb.ToString();
    }

    private static (string From, string To) Window(Incident incident, TimeSpan offset)
    {
        var from = incident.Scope.From ?? throw new ArgumentException("The incident's scope has no window.", nameof(incident));
        var to = incident.Scope.To ?? throw new ArgumentException("The incident's scope has no window.", nameof(incident));
        return (from.ToOffset(offset).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), to.AddMilliseconds(-1).ToOffset(offset).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
    }

    private static string Local(DateTimeOffset time, TimeSpan offset) => time.ToOffset(offset).ToString("yyyy-MM-dd HH:mm zzz", CultureInfo.InvariantCulture);
}
