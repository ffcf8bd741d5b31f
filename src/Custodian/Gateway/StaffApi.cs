using Custodian.Access.Certificates;
using Custodian.Access.Sessions;
using Custodian.Access.Staff;
using Custodian.Access.Terminals;
using Custodian.Classification;
using Custodian.Hosting;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Problems;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging;

namespace Custodian.Gateway;

/// <summary>Body of a terminal enrollment request.</summary>
/// <param name="Code">The one-time enrollment code (XXXX-XXXX-XXXX).</param>
/// <param name="Csr">PEM PKCS#10 certificate signing request for the terminal's key.</param>
public sealed record EnrollRequest([property: Secret] string? Code, string? Csr);

/// <summary>The device certificate issued to an enrolled terminal.</summary>
/// <param name="Terminal">Terminal ID.</param>
/// <param name="Store">Store code.</param>
/// <param name="Certificate">PEM device certificate.</param>
/// <param name="CaCertificate">PEM certificate of Custodian's device CA (also the server certificate's issuer).</param>
public sealed record EnrollResponse(string Terminal, string Store, string Certificate, string CaCertificate);

/// <summary>Body of a staff sign-in.</summary>
/// <param name="Account">Account ID.</param>
/// <param name="Password">Password.</param>
/// <param name="Otp">Current 6-digit TOTP code (RFC 6238).</param>
public sealed record SignInRequest(string? Account, [property: Secret] string? Password, [property: Secret] string? Otp);

/// <summary>A new staff session.</summary>
/// <param name="Token">Bearer token; send as <c>Authorization: Bearer &lt;token&gt;</c> from the same terminal.</param>
/// <param name="Account">Account ID.</param>
/// <param name="Role">Role name.</param>
/// <param name="Store">Store code, for store staff.</param>
public sealed record SignInResponse([property: Secret] string Token, string Account, string Role, string? Store);

/// <summary>Body of a password change.</summary>
/// <param name="Account">Account ID.</param>
/// <param name="CurrentPassword">Current (or one-time) password.</param>
/// <param name="NewPassword">New password (12–128 characters, NIST SP 800-63B §5.1.1).</param>
/// <param name="Otp">Current TOTP code.</param>
public sealed record PasswordChangeRequest(string? Account, [property: Secret] string? CurrentPassword, [property: Secret] string? NewPassword, [property: Secret] string? Otp);

/// <summary>Endpoints of the sales-terminal API: enrollment, staff sessions, and the guarded lookups.</summary>
public static class StaffApi
{
    /// <summary><see cref="HttpContext.Items"/> key of the resolved <see cref="StaffRequest"/>.</summary>
    public const string StaffKey = "custodian.staff";

    /// <summary>Error code: store staff may sign in only at a terminal of their own store (403).</summary>
    public const string StoreMismatch = "store-mismatch";

    /// <summary>Maps the terminal API under <c>/api/v1</c>.</summary>
    public static IEndpointRouteBuilder MapTerminalApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1").WithTags("Terminal API");
        api.MapGet("/ca", (Access.Certificates.CertificateAuthority ca) => TypedResults.Text(ca.ServerIssuerPem, "application/x-pem-file")).WithName("CaCertificate").WithSummary("Custodian's CA certificate (public), for pinning at enrollment.");
        api.MapPost("/enroll", EnrollAsync).WithName("Enroll").WithSummary("Exchange a one-time enrollment code and a CSR for a device certificate.");
        api.MapPost("/sessions", SignInAsync).WithName("SignIn").WithSummary("Staff sign-in with password and TOTP, bound to this terminal's certificate.");
        api.MapPost("/account/password", ChangePasswordAsync).WithName("ChangePassword").WithSummary("Change a staff password (required after a one-time password).");

        // Undeclared query parameters are refused before the session is checked, so before the ledger is read or written.
        var staff = api.MapGroup(string.Empty).AddEndpointFilter(RefuseUndeclaredQuery).AddEndpointFilter(RequireSessionAsync);
        staff.MapDelete("/sessions/current", SignOut).WithName("SignOut");
        staff.MapPost("/subscribers/search", SearchAsync).WithName("SearchSubscribers").WithSummary("Exact-match search by phone number (in the body, never the URL, which proxies and logs keep); masked summaries with per-session handles.");
        staff.MapGet("/subscribers/{handle:not(search)}", ViewAsync).WithMetadata(new QueryParameters("purpose")).WithName("ViewSubscriber").WithSummary("View a subscriber found by this session's search, masked, for a stated purpose.");
        staff.MapPost("/subscribers/{handle}/consent", ConsentAsync).WithName("RequestConsent").WithSummary("Send the subscriber a consent code for an unmask.");
        staff.MapPost("/subscribers/{handle}/unmask", UnmaskAsync).WithName("Unmask").WithSummary("Show fields in full with the subscriber's consent code.");
        staff.MapPost("/subscribers/{handle}/service-completions", CompleteAsync).WithName("CompleteService").WithSummary("Record that the subscriber was served.");
        return app;
    }

    /// <summary>
    /// Refuses a request to a signed-in terminal route (search, view, consent, unmask, service completion, sign-out) or an
    /// officer route (incidents, claims, review, alerts, approvals, disclosure requests) whose query string has a parameter
    /// the route does not declare (<see cref="QueryParameters"/>; none unless declared: the view route declares
    /// <c>purpose</c>, the officers' list routes their filters, e.g. <c>state</c>, <c>limit</c> or <c>status</c>): 400
    /// <c>validation-failed</c>, before the session is checked and so before the
    /// ledger is read or written. A phone number in a URL (<c>?phone=…</c>) stays in access logs and proxies even when the
    /// route ignores it, so it is refused rather than ignored. The detail names the parameter — unless its name is not a
    /// well-formed code or has a digit in it (it could be a phone number or RRN), then <c>query</c> — and never repeats its value.
    /// </summary>
    internal static async ValueTask<object?> RefuseUndeclaredQuery(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        var declared = context.GetEndpoint()?.Metadata.GetMetadata<QueryParameters>()?.Names ?? [];
        var unexpected = context.Request.Query.Keys.FirstOrDefault(k => !declared.Contains(k, StringComparer.OrdinalIgnoreCase));
        if (unexpected is null)
        {
            return await next(invocation);
        }

        // Only a name of letters and '-', '_', '.' is repeated: a name with digits in it could itself be a phone number or RRN.
        var named = Codes.IsValid(unexpected) && !unexpected.AsSpan().ContainsAnyInRange('0', '9') ? unexpected : "query";
        return new CustodianError(
            ErrorCodes.ValidationFailed,
            StatusCodes.Status400BadRequest,
            $"The query parameter '{named}' is not accepted on this route; personal data goes in the request body, never the URL.")
        {
            Errors = new Dictionary<string, string[]> { [named] = ["not a parameter of this route"] },
        }.ToProblem();
    }

    private static DeviceIdentity Device(HttpContext context) => (DeviceIdentity)context.Items[DeviceGatewayMiddleware.DeviceKey]!;

    /// <summary>
    /// The signed-in staff request (session, device, source address) that <see cref="RequireSessionAsync"/> stored under
    /// <see cref="StaffKey"/>. Only for endpoints behind that filter; elsewhere the item is absent.
    /// </summary>
    internal static StaffRequest Staff(HttpContext context) => (StaffRequest)context.Items[StaffKey]!;

    private static string? Ip(HttpContext context) => context.Connection.RemoteIpAddress?.ToString();

    /// <summary>An allowed entry for this terminal's request; the account is kept only when it is a well-formed code.</summary>
    private static AccessEntry TerminalEntry(HttpContext context, TimeProvider time, AccessTask task, string? account)
    {
        var device = Device(context);
        return new AccessEntry
        {
            Time = time.GetUtcNow(),
            Task = task,
            Outcome = AccessOutcome.Allowed,
            Account = Codes.IsValid(account) ? account : null,
            Terminal = device.Terminal,
            Store = device.Store,
            SourceIp = Ip(context),
        };
    }

    internal static async ValueTask<object?> RequireSessionAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        var device = Device(context);
        var header = context.Request.Headers.Authorization.ToString();
        var token = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..].Trim() : null;
        var sessions = context.RequestServices.GetRequiredService<SessionStore>();
        var session = sessions.Validate(token, device);
        if (!session.IsSuccess)
        {
            var time = context.RequestServices.GetRequiredService<TimeProvider>();
            await context.RequestServices.GetRequiredService<AccessRecorder>().RefuseAsync(
                new AccessEntry
                {
                    Time = time.GetUtcNow(),
                    Task = AccessTask.Refused,
                    Outcome = AccessOutcome.Denied,
                    Terminal = device.Terminal,
                    Store = device.Store,
                    SourceIp = Ip(context),
                },
                session.Error!,
                context.RequestAborted);
            return session.Error!.ToProblem();
        }

        context.Items[StaffKey] = new StaffRequest(device, session.Value, Ip(context));
        return await next(invocation);
    }

    private static async Task<Results<Ok<EnrollResponse>, ProblemHttpResult>> EnrollAsync(
        EnrollRequest body, HttpContext context, TerminalRegistry terminals, AccessRecorder recorder, TimeProvider time, ILogger<EnrollRequest> logger)
    {
        var entry = new AccessEntry
        {
            Time = time.GetUtcNow(),
            Task = AccessTask.Enrolled,
            Outcome = AccessOutcome.Allowed,
            SourceIp = Ip(context),
        };
        if (string.IsNullOrWhiteSpace(body.Code))
        {
            return (await recorder.RefuseAsync(entry, ProblemResults.Validation("code", "is required"))).ToProblem();
        }

        if (string.IsNullOrWhiteSpace(body.Csr))
        {
            return (await recorder.RefuseAsync(entry, ProblemResults.Validation("csr", "is required: a PEM PKCS#10 request"))).ToProblem();
        }

        Result<EnrolledTerminal> enrolled;
        try
        {
            // Append first, then act: the enrollment is recorded before the code is consumed and the certificate stored.
            enrolled = await terminals.EnrollAsync(body.Code.Trim(), body.Csr, n => recorder.RecordGrantAsync(entry with { Terminal = n.TerminalId, Store = n.Store, Target = n.TerminalId }));
        }
        catch (LedgerUnavailableException ex)
        {
            return recorder.GrantNotRecorded(ex, "enrollment").ToProblem();
        }

        if (!enrolled.IsSuccess)
        {
            return (await recorder.RefuseAsync(entry, enrolled.Error!)).ToProblem();
        }

        var t = enrolled.Value;
        Hosting.Log.Enrolled(logger, t.TerminalId, t.Store);
        return TypedResults.Ok(new EnrollResponse(t.TerminalId, t.Store, t.CertificatePem, t.CaCertificatePem));
    }

    private static async Task<Results<Created<SignInResponse>, ProblemHttpResult>> SignInAsync(SignInRequest body, HttpContext context, StaffSignIn signIn)
    {
        var session = await signIn.SignInAsync(Device(context), body.Account, body.Password, body.Otp, Ip(context), context.RequestAborted);
        if (!session.IsSuccess)
        {
            return session.Error!.ToProblem();
        }

        var p = session.Value.Principal;
        return TypedResults.Created((string?)null, new SignInResponse(session.Value.Token, p.Id, p.Role.ToName(), p.Store));
    }

    /// <summary>
    /// <c>POST /api/v1/account/password</c>: on success every other session of the account ends, here and on every node;
    /// the session the request names (bearer token, or the staff pages' cookie) goes on when it is this account's on this
    /// terminal (docs/access.md §6.4).
    /// </summary>
    private static async Task<Results<NoContent, ProblemHttpResult>> ChangePasswordAsync(
        PasswordChangeRequest body, HttpContext context, StaffDirectory staff, SessionStore sessions, AccessRecorder recorder, TimeProvider time)
    {
        var entry = TerminalEntry(context, time, AccessTask.PasswordChange, body.Account);
        if (StaffSignIn.MissingOrMalformed(body.Account, ("currentPassword", body.CurrentPassword), ("newPassword", body.NewPassword), ("otp", body.Otp)) is { } invalid)
        {
            return (await recorder.RefuseAsync(entry, invalid)).ToProblem();
        }

        var keep = OwnSession(context, sessions, body.Account!);
        Result<bool> changed;
        try
        {
            // Append first, then act: the change is recorded once the old password and TOTP are proven, before the new password is stored.
            changed = await staff.ChangePasswordAsync(body.Account!, body.CurrentPassword!, body.NewPassword!, body.Otp!, () => recorder.RecordGrantAsync(entry), keep);
        }
        catch (LedgerUnavailableException ex)
        {
            return recorder.GrantNotRecorded(ex, "password change").ToProblem();
        }

        if (!changed.IsSuccess)
        {
            return (await recorder.RefuseAsync(entry, changed.Error!)).ToProblem();
        }

        sessions.RevokeAccount(body.Account!, except: keep);
        return TypedResults.NoContent();
    }

    /// <summary>
    /// The live session that a password change names (bearer token or the staff pages' cookie) when it is
    /// <paramref name="account"/>'s on this terminal; null otherwise. <see cref="NetworkPolicyMiddleware"/> has already
    /// ended it when its standing failed.
    /// </summary>
    internal static StaffSession? OwnSession(HttpContext context, SessionStore sessions, string account) =>
        NetworkPolicyMiddleware.Session(context, sessions, Device(context)) is { } session && string.Equals(session.Principal.Id, account, StringComparison.Ordinal)
            ? session
            : null;

    private static NoContent SignOut(HttpContext context, SessionStore sessions)
    {
        sessions.Revoke(Staff(context).Session.Token);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<SearchResponse>, ProblemHttpResult>> SearchAsync(SearchRequest body, HttpContext context, LookupGuard guard) =>
        ToResult(await guard.SearchAsync(Staff(context), body.Phone, context.RequestAborted));

    private static async Task<Results<Ok<SubscriberView>, ProblemHttpResult>> ViewAsync(string handle, string? purpose, HttpContext context, LookupGuard guard) =>
        ToResult(await guard.ViewAsync(Staff(context), handle, purpose, context.RequestAborted));

    private static async Task<Results<Ok<ConsentIssued>, ProblemHttpResult>> ConsentAsync(string handle, ConsentRequest body, HttpContext context, LookupGuard guard) =>
        ToResult(await guard.RequestConsentAsync(Staff(context), handle, body.Purpose, context.RequestAborted), context);

    private static async Task<Results<Ok<UnmaskedView>, ProblemHttpResult>> UnmaskAsync(string handle, UnmaskRequest body, HttpContext context, LookupGuard guard) =>
        ToResult(await guard.UnmaskAsync(Staff(context), handle, body, context.RequestAborted), context);

    private static async Task<Results<NoContent, ProblemHttpResult>> CompleteAsync(string handle, ServiceCompletion body, HttpContext context, LookupGuard guard)
    {
        var result = await guard.CompleteServiceAsync(Staff(context), handle, body.Purpose, context.RequestAborted);
        return result.IsSuccess ? TypedResults.NoContent() : result.Error!.ToProblem();
    }

    private static Results<Ok<T>, ProblemHttpResult> ToResult<T>(Result<T> result) =>
        result.IsSuccess ? TypedResults.Ok(result.Value) : result.Error!.ToProblem();

    private static Results<Ok<T>, ProblemHttpResult> ToResult<T>(Result<T> result, HttpContext context) =>
        result.IsSuccess ? TypedResults.Ok(result.Value) : result.Error!.ToProblem(context); // with Retry-After when the error has one
}

/// <summary>Endpoint metadata: the query parameter names (case-insensitive) a signed-in terminal or officer route accepts; any other is refused (<see cref="StaffApi.RefuseUndeclaredQuery"/>).</summary>
/// <param name="Names">The accepted names, e.g. <c>purpose</c>; a route without this metadata accepts none.</param>
public sealed record QueryParameters(params string[] Names);
