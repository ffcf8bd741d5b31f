using System.Globalization;
using Custodian.Classification;
using Custodian.Identity;
using Custodian.Lookup;
using Custodian.Monitoring;
using Custodian.Problems;
using Custodian.Transparency;
using Custodian.Web;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Localization;

namespace Custodian.Pages.Workstation;

/// <summary>
/// <c>/workstation</c> on the terminal listener: the clerk's search, view, consent, unmask and service-completion
/// steps as POST forms (the phone number never goes in a URL). Every step calls the same <see cref="LookupGuard"/>
/// method as the terminal API, so the ledger records each read before any data is shown and the monitor, step-up
/// and suspensions apply; a refusal is shown in plain language with the guard's HTTP status.
/// </summary>
public sealed class IndexModel(LookupGuard guard, TimeProvider time, Access.Sessions.SessionOptions sessions, IStringLocalizer<WorkstationText> text) : StaffPageModel
{
    private static readonly StaffRole[] StoreStaff = [StaffRole.Clerk, StaffRole.StoreManager];
    private string? _errorCode;

    /// <inheritdoc />
    protected override IReadOnlyCollection<StaffRole> AllowedRoles => StoreStaff;

    /// <summary>The per-session subscriber handle being served (16 base64url characters from a search), or null.</summary>
    [BindProperty]
    public string? Handle { get; set; }

    /// <summary>The purpose code stated for the current subscriber (one of <see cref="PurposeCatalog.All"/>), or null.</summary>
    [BindProperty]
    public string? Purpose { get; set; }

    /// <summary>The masked search hits of the last search, or null when no search ran in this request.</summary>
    public IReadOnlyList<SearchHit>? Hits { get; private set; }

    /// <summary>The masked view of the current subscriber, or null.</summary>
    public SubscriberView? View { get; private set; }

    /// <summary>The consent code just sent to the subscriber's phone, or null.</summary>
    public ConsentIssued? Consent { get; private set; }

    /// <summary>The fields shown in full after a consent-checked unmask, or null.</summary>
    public UnmaskedView? Unmasked { get; private set; }

    /// <summary>The ledger sequence of the service-completion entry just recorded, or null.</summary>
    public long? Completed { get; private set; }

    /// <summary>A plain-language reason for the last refusal, or null.</summary>
    public string? ErrorMessage { get; private set; }

    /// <summary>The watermark over personal data: clerk ID, terminal and the time of rendering (Korea time, from <see cref="TimeProvider"/>).</summary>
    public string Watermark { get; private set; } = string.Empty;

    /// <summary>Seconds without input before the page's script navigates to the lock page: the session idle timeout (15 minutes by default).</summary>
    public long IdleLockSeconds => (long)sessions.IdleTimeout.TotalSeconds;

    /// <summary>Whether the stated purpose allows showing fields in full (with the subscriber's consent code).</summary>
    public bool PurposeAllowsUnmask => PurposeCatalog.TryGet(Purpose, out var p) && p.AllowsUnmask;

    /// <summary>
    /// Whether to offer the next steps (consent, unmask, complete) for <see cref="Handle"/>: a known purpose, and no
    /// refusal or one the clerk can act on here (step-up needs the consent route; a wrong code can be typed again).
    /// </summary>
    public bool ShowSteps => Handle is not null && PurposeCatalog.TryGet(Purpose, out _)
        && _errorCode is null or MonitoringErrorCodes.StepUpRequired or ErrorCodes.ConsentInvalid or ErrorCodes.ConsentRequired;

    /// <summary>Whether a consent code was sent and the code form is shown (after the request, or after a wrong code).</summary>
    public bool AwaitingCode => Consent is not null || _errorCode is ErrorCodes.ConsentInvalid or ErrorCodes.ConsentRequired;

    /// <summary>Fields a clerk may ask to see in full, in the order the form lists them.</summary>
    public static IReadOnlyList<string> UnmaskableFields { get; } = ["rrn", "phone", "name", "address"];

    /// <summary>The English label (the localization key) of a field name of <see cref="PurposeCatalog.UnmaskableFields"/>.</summary>
    public static string FieldLabel(string field) => field switch
    {
        "rrn" => "Resident registration number",
        "phone" => "Phone",
        "name" => "Name",
        _ => "Address",
    };

    /// <summary>The purpose catalogue, for the purpose menu.</summary>
    public static IEnumerable<Purpose> Purposes => PurposeCatalog.All.Values;

    /// <summary>Shows the search form.</summary>
    public void OnGet() => Stamp();

    /// <summary>Searches by exact phone number (<see cref="LookupGuard.SearchAsync"/>); masked hits with per-session handles.</summary>
    public async Task<IActionResult> OnPostSearchAsync([PersonalData] string? phone)
    {
        var result = await guard.SearchAsync(Staff, phone, HttpContext.RequestAborted);
        if (!result.IsSuccess)
        {
            return Refused(result.Error!);
        }

        Hits = result.Value.Results;
        Handle = null;
        Purpose = null;
        return Shown();
    }

    /// <summary>Views the subscriber behind <see cref="Handle"/> for <see cref="Purpose"/>, masked (<see cref="LookupGuard.ViewAsync"/>).</summary>
    public async Task<IActionResult> OnPostViewAsync()
    {
        var result = await guard.ViewAsync(Staff, Handle ?? string.Empty, Purpose, HttpContext.RequestAborted);
        if (!result.IsSuccess)
        {
            return Refused(result.Error!);
        }

        View = result.Value;
        return Shown();
    }

    /// <summary>Sends the subscriber a consent code for <see cref="Purpose"/> (<see cref="LookupGuard.RequestConsentAsync"/>).</summary>
    public async Task<IActionResult> OnPostConsentAsync()
    {
        var result = await guard.RequestConsentAsync(Staff, Handle ?? string.Empty, Purpose, HttpContext.RequestAborted);
        if (!result.IsSuccess)
        {
            return Refused(result.Error!);
        }

        Consent = result.Value;
        return Shown();
    }

    /// <summary>Shows <paramref name="fields"/> in full with the subscriber's consent code (<see cref="LookupGuard.UnmaskAsync"/>); default field <c>rrn</c>.</summary>
    public async Task<IActionResult> OnPostUnmaskAsync([Secret] string? consentCode, string[]? fields)
    {
        var result = await guard.UnmaskAsync(Staff, Handle ?? string.Empty, new UnmaskRequest(Purpose, consentCode?.Trim(), fields), HttpContext.RequestAborted);
        if (!result.IsSuccess)
        {
            return Refused(result.Error!);
        }

        Unmasked = result.Value;
        return Shown();
    }

    /// <summary>Records that the subscriber was served (<see cref="LookupGuard.CompleteServiceAsync"/>; the monitor's open-lookup detector uses it).</summary>
    public async Task<IActionResult> OnPostCompleteAsync()
    {
        var result = await guard.CompleteServiceAsync(Staff, Handle ?? string.Empty, Purpose, HttpContext.RequestAborted);
        if (!result.IsSuccess)
        {
            return Refused(result.Error!);
        }

        Completed = result.Value;
        Handle = null;
        Purpose = null;
        return Shown();
    }

    /// <summary>The localized description of a purpose code.</summary>
    public string Describe(Purpose purpose)
    {
        ArgumentNullException.ThrowIfNull(purpose);
        return text[purpose.Description];
    }

    private IActionResult Shown()
    {
        Stamp();
        return Page();
    }

    private IActionResult Refused(CustodianError error)
    {
        _errorCode = error.Code;
        ErrorMessage = Explain(error);
        Response.StatusCode = error.Status;
        Stamp();
        return Page();
    }

    private void Stamp() => Watermark = string.Create(
        CultureInfo.InvariantCulture,
        $"{Staff.Session.Principal.Id} · {Staff.Device.Terminal} · {time.GetUtcNow().ToOffset(AccessHistory.KoreaOffset):yyyy-MM-dd HH:mm} KST");

    private string Explain(CustodianError error) => error.Code switch
    {
        ErrorCodes.ClerkSuspended => text["Your account is suspended pending a security review. Contact the security office."],
        ErrorCodes.TerminalSuspended => text["This terminal is suspended pending a security review. Contact the security office."],
        MonitoringErrorCodes.StepUpRequired => text["Views now need the subscriber's consent: choose a purpose that allows it, request a consent code and show the fields with it."],
        MonitoringErrorCodes.MonitorBehind => text["The real-time monitor is busy. Try again in a moment."],
        ErrorCodes.LedgerUnavailable => text["The access ledger could not record this, so it was refused. Try again shortly."],
        ErrorCodes.PurposeRequired or ErrorCodes.PurposeUnknown => text["Choose a purpose from the list."],
        LookupGuard.PurposeDoesNotAllowUnmask => text["This purpose does not allow showing fields in full."],
        ErrorCodes.ConsentRequired => text["Enter the consent code the subscriber received."],
        ErrorCodes.ConsentInvalid => text["The consent code is wrong, expired or already used. Request a new one if needed."],
        ErrorCodes.ConsentAttemptsExhausted => text["Too many wrong consent codes for this subscriber today; new codes do not reset this. Try again later or contact the security office."],
        ErrorCodes.SubscriberHandleUnknown => text["This result is no longer valid in your session. Search again."],
        ErrorCodes.ValidationFailed or ErrorCodes.PhoneInvalid => text["Enter a valid mobile number, for example 010-1234-5678."],
        ErrorCodes.NotFound => text["The subscriber no longer exists."],
        _ => text["The request was refused."],
    };
}
