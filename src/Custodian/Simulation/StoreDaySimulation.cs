using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Custodian.Access.Staff;
using Custodian.Access.Terminals;
using Custodian.Client;
using Custodian.Gateway;
using Custodian.Lookup;
using Custodian.Messaging;
using Custodian.Monitoring;
using Custodian.Problems;
using Custodian.Protection.Subscribers;
using Custodian.Protection.Validation;
using OtpNet;

namespace Custodian.Simulation;

/// <summary>
/// Drives a Custodian server over real HTTPS with enrolled terminal certificates: a store day of
/// clerks serving customers (search, view with a purpose, sometimes consent + unmask, service
/// completion) and optionally a KT-2012-style scraper blended into one clerk's day, using that
/// clerk's real login and terminal. A discrete-event loop: events run one at a time in time order,
/// the clock moving to each event's time (instantly when simulated).
/// </summary>
public sealed class StoreDaySimulation
{
    private static readonly string[] ViewPurposes = ["in-store-service", "plan-change", "device-repair", "billing-inquiry"];

    private readonly SimulationOptions _options;
    private readonly ISimClock _clock;
    private readonly Uri _server;
    private readonly X509Certificate2 _ca;
    private readonly IServiceProvider _admin;
    private readonly IReadOnlyList<string> _phones;
    private readonly IReadOnlyList<StaffPlan> _staff;
    private readonly Random _random;
    private readonly PriorityQueue<Func<Task>, (DateTimeOffset, long)> _events = new();
    private readonly Dictionary<string, int> _refusals = new(StringComparer.Ordinal);
    private readonly HashSet<string> _scraped = new(StringComparer.Ordinal);
    private const string RetiredReason = "simulation ended";

    private readonly string _runTag;
    private long _order;
    private int _served;
    private int _attackerRequests;
    private int _sessionRenewals;
    private DateTimeOffset? _scraperFirst;
    private DateTimeOffset? _scraperStopped;
    private string? _enumeratorLast; // the enumerator's last number, in the form of the subscriber file

    /// <summary>Creates a simulation.</summary>
    /// <param name="options">Day parameters.</param>
    /// <param name="clock">Simulated or real clock.</param>
    /// <param name="server">Terminal API base URL.</param>
    /// <param name="ca">Custodian's CA certificate.</param>
    /// <param name="admin">Services over the server's data directory, for provisioning (enrollment codes, staff accounts) and reading the SMS outbox.</param>
    /// <param name="phones">Phone numbers of imported subscribers (customers are drawn from these).</param>
    /// <param name="staff">Clerks to simulate; the first one is the attacker when an attack runs.</param>
    public StoreDaySimulation(SimulationOptions options, ISimClock clock, Uri server, X509Certificate2 ca, IServiceProvider admin, IReadOnlyList<string> phones, IReadOnlyList<StaffPlan> staff)
    {
        if (phones.Count == 0)
        {
            throw new ArgumentException("At least one subscriber phone number is needed.", nameof(phones));
        }

        if (staff.Count == 0)
        {
            throw new ArgumentException("At least one clerk is needed.", nameof(staff));
        }

        _options = options;
        _clock = clock;
        _server = server;
        _ca = ca;
        _admin = admin;
        _phones = phones;
        _staff = staff;
        _random = new Random(options.Seed);
        _runTag = Convert.ToHexString(RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();
    }

    /// <summary>Progress: what is happening, and simulated minutes done so far (0 while provisioning).</summary>
    public event Action<string, double>? Progress;

    /// <summary>
    /// Provisioning progress before the day starts: (steps done, steps in all), where each terminal enrolled (with its
    /// clerk's account created and password changed) and each clerk signed in is one step, so there are twice as many
    /// steps as staff. Raised with 0 steps done first, then after every step.
    /// </summary>
    public event Action<int, int>? Provisioning;

    /// <summary>Runs the day and reports.</summary>
    public async Task<SimulationReport> RunAsync(CancellationToken cancellationToken)
    {
        var start = _clock.Now;
        Provisioning?.Invoke(0, _staff.Count * 2);
        var clerks = new List<Clerk>();
        SimulationReport report;
        try
        {
            report = await RunDayAsync(start, clerks, cancellationToken);
        }
        catch
        {
            // The run's accounts and terminals must not outlive it, also after a failure or Ctrl-C; the run's own failure
            // is what the caller sees, so a failure to retire them here (say, the same outage) does not replace it.
            try
            {
                await RetireAsync(clerks);
            }
            catch (Exception retire) when (retire is not OutOfMemoryException)
            {
                // Left for the officer: the run's accounts (sim<tag>-…) stay listed by `staff list` and can be disabled there.
            }

            throw;
        }

        // The run's accounts and terminals must not outlive it on a real deployment: disabled and revoked, recorded in
        // the ledger like an officer's `staff disable` / `terminals revoke`.
        await RetireAsync(clerks);
        return report;
    }

    private async Task<SimulationReport> RunDayAsync(DateTimeOffset start, List<Clerk> clerks, CancellationToken cancellationToken)
    {
        // Against a live server each step is a few round trips and may wait for the clerk's next TOTP step: report each one.
        var steps = _staff.Count * 2;
        var done = 0;
        foreach (var plan in _staff)
        {
            clerks.Add(await ProvisionAsync(plan, cancellationToken));
            Provisioning?.Invoke(++done, steps);
        }

        foreach (var clerk in clerks)
        {
            await SignInAsync(clerk, cancellationToken);
            Provisioning?.Invoke(++done, steps);
        }

        var dayStart = _clock.Now;
        Progress?.Invoke("Store day: 0 lookups served", 0);
        var end = dayStart.AddMinutes(_options.Minutes);
        foreach (var clerk in clerks)
        {
            Schedule(dayStart + NextArrival(), () => ServeCustomerAsync(clerk, cancellationToken));
        }

        var attacker = _options.Attack is null ? null : clerks[0];
        if (attacker is not null)
        {
            Schedule(dayStart.AddMinutes(_options.ScraperStartMinute), () => ScrapeAsync(attacker, cancellationToken));
        }

        var lastReported = dayStart;
        while (_events.TryDequeue(out var action, out var at))
        {
            if (at.Item1 > end)
            {
                break;
            }

            await _clock.WaitUntilAsync(at.Item1, cancellationToken);
            await action();
            if (_clock.Now - lastReported >= TimeSpan.FromMinutes(1))
            {
                lastReported = _clock.Now;
                Progress?.Invoke($"Store day: {_served:N0} lookups served", (_clock.Now - dayStart).TotalMinutes);
            }
        }

        await _clock.WaitUntilAsync(end, cancellationToken);
        var alerts = (await _admin.GetRequiredService<AlertStore>().ListAsync(null, 1_000, cancellationToken)).Count(a => a.RaisedAt >= start);
        var suspended = (await _admin.GetRequiredService<SuspensionRegistry>().ListActiveAsync(cancellationToken))
            .Where(s => s.Principal.Kind == PrincipalKind.Clerk && clerks.Any(c => c.Account == s.Principal.Id) && s.Principal.Id != attacker?.Account)
            .Select(s => s.Principal.Id)
            .ToList();
        foreach (var clerk in clerks)
        {
            clerk.Http.Dispose();
        }

        return new SimulationReport
        {
            LookupsServed = _served,
            Refusals = _refusals,
            Alerts = alerts,
            FalselySuspendedClerks = suspended,
            AttackRan = attacker is not null,
            AttackerSuspended = _scraperStopped is not null,
            AttackerRecordsMasked = _scraped.Count,
            AttackerRecordsUnmasked = 0,
            TimeToSuspension = _scraperStopped - _scraperFirst,
            AttackerRequests = _attackerRequests,
            SessionRenewals = _sessionRenewals,
        };
    }

    private async Task RetireAsync(List<Clerk> clerks)
    {
        foreach (var clerk in clerks)
        {
            await RetireAsync(clerk.Account, clerk.Terminal);
        }
    }

    /// <summary>
    /// Disables the run's account <paramref name="account"/> (when created) and revokes its terminal
    /// <paramref name="terminal"/> (enrolled or still pending), each recorded in the ledger as an officer's action.
    /// </summary>
    private async Task RetireAsync(string? account, string terminal)
    {
        var ledger = _admin.GetRequiredService<Ledger.IAccessLedger>();
        if (account is not null && await _admin.GetRequiredService<StaffDirectory>().DisableAsync(account))
        {
            await RecordAsync(Ledger.AccessTask.StaffDisabled, account);
        }

        if (await _admin.GetRequiredService<TerminalRegistry>().RevokeAsync(terminal, RetiredReason))
        {
            await RecordAsync(Ledger.AccessTask.Revoked, terminal);
        }

        ValueTask<Ledger.CommittedEntry> RecordAsync(Ledger.AccessTask task, string target) => ledger.AppendAsync(
            new Ledger.AccessEntry
            {
                Time = _clock.Now,
                Task = task,
                Outcome = Ledger.AccessOutcome.Allowed,
                Account = Cli.AdminCommands.Operator,
                Role = Identity.StaffRole.SecurityOfficer,
                Target = target,
                Reason = RetiredReason,
            },
            CancellationToken.None);
    }

    private void Schedule(DateTimeOffset at, Func<Task> action) => _events.Enqueue(action, (at, _order++));

    private TimeSpan NextArrival() => TimeSpan.FromMinutes(-Math.Log(1 - _random.NextDouble()) * _options.MeanMinutesBetweenCustomers);

    private TimeSpan Think(int minSeconds, int maxSeconds) => TimeSpan.FromSeconds(_random.Next(minSeconds, maxSeconds + 1));

    private async Task<Clerk> ProvisionAsync(StaffPlan plan, CancellationToken cancellationToken)
    {
        var account = $"sim{_runTag}-{plan.Account}";
        var registry = _admin.GetRequiredService<TerminalRegistry>();
        var code = await registry.IssueEnrollmentCodeAsync(plan.Store, $"sim{_runTag}-{plan.Account}", null);
        var created = false;
        try
        {
            var clerk = await EnrollAndCreateAsync(plan, account, code, () => created = true, cancellationToken);
            return clerk;
        }
        catch
        {
            // Not yet in the run's list of clerks: its pending (or enrolled) terminal and its account, if made, are retired
            // here so a failed run leaves nothing usable behind (README: "also after a failure"). The run's failure is what
            // the caller sees.
            try
            {
                await RetireAsync(created ? account : null, code.TerminalId);
            }
            catch (Exception retire) when (retire is not OutOfMemoryException)
            {
                // Left for the officer, as in RunAsync.
            }

            throw;
        }
    }

    private async Task<Clerk> EnrollAndCreateAsync(StaffPlan plan, string account, EnrollmentCode code, Action accountCreated, CancellationToken cancellationToken)
    {
        var (keyPem, csrPem) = TerminalCredentials.CreateKeyAndCsr(account);
        using (var enrollClient = TerminalHttp.Create(_server, _ca, null))
        {
            using var response = await enrollClient.PostAsJsonAsync(new Uri("/api/v1/enroll", UriKind.Relative), new EnrollRequest(code.Code, csrPem), cancellationToken);
            await EnsureAsync(response, "enroll", cancellationToken);
            var enrolled = (await response.Content.ReadFromJsonAsync<EnrollResponse>(cancellationToken))!;
            using var pem = X509Certificate2.CreateFromPem(enrolled.Certificate, keyPem);
            var certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            var created = await _admin.GetRequiredService<StaffDirectory>().CreateAsync(account, plan.Role, plan.Store);
            if (!created.IsSuccess)
            {
                throw new InvalidOperationException($"Creating simulated account failed: {created.Error!.Message}");
            }

            accountCreated();

            var clerk = new Clerk(account, plan.Store, enrolled.Terminal, TerminalHttp.Create(_server, _ca, certificate, 4), new Totp(Base32Encoding.ToBytes(created.Value.TotpSecretBase32)));
            clerk.Password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
            using var change = await clerk.Http.PostAsJsonAsync(
                new Uri("/api/v1/account/password", UriKind.Relative),
                new PasswordChangeRequest(account, created.Value.OneTimePassword, clerk.Password, await NextTotpAsync(clerk, cancellationToken)),
                cancellationToken);
            await EnsureAsync(change, "password change", cancellationToken);
            return clerk;
        }
    }

    /// <summary>
    /// The code of the earliest TOTP step not used yet by this clerk (RFC 6238 codes are single use
    /// here). The server accepts one step of clock drift either way, so the next step's code is
    /// usable at once; beyond that this waits.
    /// </summary>
    private async Task<string> NextTotpAsync(Clerk clerk, CancellationToken cancellationToken)
    {
        var current = _clock.Now.ToUnixTimeSeconds() / 30;
        var step = Math.Max(current, clerk.LastTotpStep + 1);
        if (step > current + 1)
        {
            await _clock.WaitUntilAsync(DateTimeOffset.FromUnixTimeSeconds((step - 1) * 30), cancellationToken);
        }

        clerk.LastTotpStep = step;
        return clerk.Totp.ComputeTotp(DateTimeOffset.FromUnixTimeSeconds(step * 30).UtcDateTime);
    }

    private async Task<bool> SignInAsync(Clerk clerk, CancellationToken cancellationToken)
    {
        var code = await NextTotpAsync(clerk, cancellationToken);
        using var response = await clerk.Http.PostAsJsonAsync(new Uri("/api/v1/sessions", UriKind.Relative), new SignInRequest(clerk.Account, clerk.Password, code), cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var refused = await ProblemCodeAsync(response, cancellationToken);
            _refusals[refused] = _refusals.GetValueOrDefault(refused) + 1;
            return false;
        }

        var session = (await response.Content.ReadFromJsonAsync<SignInResponse>(cancellationToken))!;
        clerk.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", session.Token);
        return true;
    }

    private async Task ServeCustomerAsync(Clerk clerk, CancellationToken cancellationToken)
    {
        if (clerk.Stopped)
        {
            return;
        }

        // A customer brings 1 subscriber (75 %), 2 (20 %) or 3 (5 %: a family plan).
        var roll = _random.NextDouble();
        var count = roll < 0.75 ? 1 : roll < 0.95 ? 2 : 3;
        var at = _clock.Now;
        for (var i = 0; i < count; i++)
        {
            var phone = _phones[_random.Next(_phones.Count)];
            var unmask = _random.NextDouble() < _options.UnmaskShare;
            at += Think(10, 40);
            var capturedAt = at;
            Schedule(capturedAt, () => ServeSubscriberAsync(clerk, phone, unmask, cancellationToken));
            at += Think(120, 420);
        }

        Schedule(at + NextArrival(), () => ServeCustomerAsync(clerk, cancellationToken));
    }

    private async Task ServeSubscriberAsync(Clerk clerk, string phone, bool unmask, CancellationToken cancellationToken)
    {
        var handle = await SearchAsync(clerk, phone, cancellationToken);
        if (handle is null)
        {
            return;
        }

        var purpose = unmask ? "identity-verification" : ViewPurposes[_random.Next(ViewPurposes.Length)];
        if (!await ViewAsync(clerk, handle, purpose, cancellationToken))
        {
            return;
        }

        if (unmask)
        {
            using var consent = await SendAsync(clerk, () => new HttpRequestMessage(HttpMethod.Post, $"/api/v1/subscribers/{handle}/consent") { Content = JsonContent.Create(new ConsentRequest(purpose)) }, cancellationToken);
            if (consent is null || !consent.IsSuccessStatusCode)
            {
                return;
            }

            var code = await ReadConsentCodeAsync(phone, cancellationToken);
            using var unmasked = await SendAsync(clerk, () => new HttpRequestMessage(HttpMethod.Post, $"/api/v1/subscribers/{handle}/unmask") { Content = JsonContent.Create(new UnmaskRequest(purpose, code, null)) }, cancellationToken);
            if (unmasked is { IsSuccessStatusCode: true })
            {
                _served++;
            }
        }

        using var done = await SendAsync(clerk, () => new HttpRequestMessage(HttpMethod.Post, $"/api/v1/subscribers/{handle}/service-completions") { Content = JsonContent.Create(new ServiceCompletion(purpose)) }, cancellationToken);
    }

    private async Task ScrapeAsync(Clerk attacker, CancellationToken cancellationToken)
    {
        if (attacker.Stopped)
        {
            _scraperStopped ??= _clock.Now;
            return;
        }

        _scraperFirst ??= _clock.Now;
        _attackerRequests++;
        var phone = _options.Attack == "enumerator" ? NextSequentialNumber() : _phones[_random.Next(_phones.Count)];
        var handle = await SearchAsync(attacker, phone, cancellationToken);
        if (handle is not null && await ViewAsync(attacker, handle, "in-store-service", cancellationToken))
        {
            _scraped.Add(phone);
        }

        if (attacker.Stopped)
        {
            _scraperStopped ??= _clock.Now;
            return;
        }

        var jitter = 0.7 + (_random.NextDouble() * 0.6);
        Schedule(_clock.Now.AddSeconds(_options.ScraperIntervalSeconds * jitter), () => ScrapeAsync(attacker, cancellationToken));
    }

    // The enumerator starts at one known subscriber's number and counts up through its last four digits (wrapping
    // within the 10,000-number range), keeping the number's written form: 010-1234-5678 → 010-1234-5679.
    private string NextSequentialNumber()
    {
        var last = _enumeratorLast;
        if (last is null || last.Length < 4
            || !int.TryParse(last.AsSpan(last.Length - 4), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var current))
        {
            _enumeratorLast = _phones[_random.Next(_phones.Count)];
            return _enumeratorLast;
        }

        var next = (current + 1) % 10_000;
        _enumeratorLast = string.Concat(last.AsSpan(0, last.Length - 4), next.ToString("0000", System.Globalization.CultureInfo.InvariantCulture));
        return _enumeratorLast;
    }

    private async Task<string?> SearchAsync(Clerk clerk, string phone, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(clerk, () => new HttpRequestMessage(HttpMethod.Post, "/api/v1/subscribers/search") { Content = JsonContent.Create(new SearchRequest(phone)) }, cancellationToken);
        if (response is not { IsSuccessStatusCode: true })
        {
            return null;
        }

        _served++;
        var result = await response.Content.ReadFromJsonAsync<SearchResponse>(cancellationToken);
        return result is { Results.Count: > 0 } ? result.Results[0].Handle : null;
    }

    private async Task<bool> ViewAsync(Clerk clerk, string handle, string purpose, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(clerk, () => new HttpRequestMessage(HttpMethod.Get, $"/api/v1/subscribers/{handle}?purpose={purpose}"), cancellationToken);
        if (response is not { IsSuccessStatusCode: true })
        {
            return false;
        }

        _served++;
        return true;
    }

    /// <summary>Sends a request as <paramref name="clerk"/>; signs in again once when the session has expired; stops the clerk when suspended.</summary>
    private async Task<HttpResponseMessage?> SendAsync(Clerk clerk, Func<HttpRequestMessage> request, CancellationToken cancellationToken)
    {
        if (clerk.Stopped)
        {
            return null;
        }

        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var message = request();
            var response = await clerk.Http.SendAsync(message, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return response;
            }

            var code = await ProblemCodeAsync(response, cancellationToken);
            if (code == ErrorCodes.SessionRequired && attempt == 0 && await SignInAsync(clerk, cancellationToken))
            {
                // The session ended after 15 idle minutes between customers; the clerk signs in again.
                _sessionRenewals++;
                response.Dispose();
                continue;
            }

            _refusals[code] = _refusals.GetValueOrDefault(code) + 1;

            if (code is ErrorCodes.ClerkSuspended or ErrorCodes.TerminalSuspended or ErrorCodes.AccountLocked or ErrorCodes.AccountDisabled)
            {
                clerk.Stopped = true;
            }

            return response;
        }

        return null;
    }

    private static async Task<string> ProblemCodeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        string code;
        try
        {
            var problem = await response.Content.ReadFromJsonAsync<Microsoft.AspNetCore.Mvc.ProblemDetails>(cancellationToken);
            code = problem?.Extensions.TryGetValue("errorCode", out var value) == true ? value?.ToString() ?? "unknown" : "unknown";
        }
        catch (System.Text.Json.JsonException)
        {
            code = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return code;
    }

    private async Task<string?> ReadConsentCodeAsync(string phone, CancellationToken cancellationToken)
    {
        // The subscriber standing at the counter reads the code from their phone: the embedded SMS outbox.
        var e164 = PhoneNumbers.NormalizeKorean(phone);
        if (!e164.IsSuccess)
        {
            return null;
        }

        var ids = await _admin.GetRequiredService<SubscriberVault>().FindByPhoneAsync(e164.Value, cancellationToken);
        if (ids.Count != 1 || _admin.GetRequiredService<ISmsSender>() is not OutboxSmsSender outbox)
        {
            return null;
        }

        var messages = await outbox.ReadAsync(ids[0], SmsKind.ConsentCode, 1, cancellationToken);
        var match = messages.Count == 1 ? System.Text.RegularExpressions.Regex.Match(messages[0].Body, @"\b(\d{6})\b") : null;
        return match is { Success: true } ? match.Groups[1].Value : null;
    }

    private static async Task EnsureAsync(HttpResponseMessage response, string step, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new InvalidOperationException($"Simulation {step} failed: {(int)response.StatusCode} {body}");
        }
    }

    private sealed class Clerk(string account, string store, string terminal, HttpClient http, Totp totp)
    {
        public string Account { get; } = account;

        public string Store { get; } = store;

        public string Terminal { get; } = terminal;

        public HttpClient Http { get; } = http;

        public Totp Totp { get; } = totp;

        public string Password { get; set; } = string.Empty;

        public long LastTotpStep { get; set; }

        public bool Stopped { get; set; }
    }
}
