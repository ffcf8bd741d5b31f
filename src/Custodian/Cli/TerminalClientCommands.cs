using System.CommandLine;
using System.Globalization;
using System.Net.Http.Json;
using Custodian.Access.Terminals;
using Custodian.Client;
using Custodian.Gateway;
using Spectre.Console;

namespace Custodian.Cli;

/// <summary>The terminal side: <c>terminal init</c> and <c>terminal renew</c>.</summary>
internal static class TerminalClientCommands
{
    public static Command Terminal()
    {
        var server = new Option<string>("--server") { Description = "Terminal API URL, e.g. https://127.0.0.1:7443.", Required = true };
        var code = new Option<string>("--code") { Description = "One-time enrollment code from 'custodian terminals enroll'.", Required = true };
        var pin = new Option<string>("--ca-sha256") { Description = "SHA-256 fingerprint of Custodian's CA (printed with the code): 64 hex digits, or 32 colon-separated pairs (AB:CD:…), one case throughout.", Required = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "Where to write terminal.key, terminal.crt, ca.crt.", DefaultValueFactory = _ => new DirectoryInfo("terminal") };
        var force = new Option<bool>("--force") { Description = "Replace credentials already in --out (the old terminal can no longer connect from here)." };
        var init = new Command("init", "Enroll this terminal: create a key, send a CSR with the code, store the device certificate.") { server, code, pin, output, force };
        init.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var url = CliArguments.HttpsUrl(parse.GetValue(server), "--server");
            var fingerprint = CliArguments.Sha256Fingerprint(parse.GetValue(pin), "--ca-sha256");
            if (!TerminalRegistry.IsWellFormedCode(parse.GetValue(code)))
            {
                // Checked before the server is contacted: a mistyped code is a bad argument, not a refused enrollment.
                throw CliException.Usage($"--code must be the {TerminalRegistry.CodeLength}-character enrollment code printed by 'custodian terminals enroll' (letters A-Z and digits 2-7; dashes and spaces are ignored).");
            }

            var directory = new DirectoryInfo(CliFiles.OutputDirectory(parse.GetValue(output)!.ToString(), "--out"));
            if (File.Exists(Path.Combine(directory.FullName, "terminal.key")) && !parse.GetValue(force))
            {
                throw CliException.Usage($"{directory.FullName} already holds a terminal's credentials; choose another --out or pass --force.");
            }
            System.Security.Cryptography.X509Certificates.X509Certificate2 ca;
            try
            {
                ca = await TerminalHttp.FetchPinnedCaAsync(url, fingerprint, "/api/v1/ca", "enroll", ct);
            }
            catch (HttpRequestException ex)
            {
                throw new CliException(ex.StatusCode == System.Net.HttpStatusCode.NotFound
                    ? $"{url} answered 404 for /api/v1/ca: --server must be the terminal API port (default 7443), not the portal."
                    : CliText.Unreachable(url, ex));
            }
            catch (InvalidOperationException ex)
            {
                throw new CliException(ex.Message);
            }

            var (keyPem, csrPem) = TerminalCredentials.CreateKeyAndCsr(Environment.MachineName);
            using var client = TerminalHttp.Create(url, ca, null);
            using var response = await client.PostAsJsonAsync(new Uri("/api/v1/enroll", UriKind.Relative), new EnrollRequest(parse.GetValue(code), csrPem), ct);
            if (!response.IsSuccessStatusCode)
            {
                var problem = await response.Content.ReadFromJsonAsync<Microsoft.AspNetCore.Mvc.ProblemDetails>(ct);
                throw new CliException($"enrollment refused ({(int)response.StatusCode} {problem?.Title}): {problem?.Detail}");
            }

            var enrolled = (await response.Content.ReadFromJsonAsync<EnrollResponse>(ct))!;
            TerminalCredentials.Save(directory.FullName, keyPem, enrolled.Certificate, enrolled.CaCertificate);
            AnsiConsole.MarkupLine($"Enrolled terminal [bold]{Markup.Escape(enrolled.Terminal)}[/] of store {Markup.Escape(enrolled.Store)}. Credentials in {Markup.Escape(directory.FullName)}:");
            AnsiConsole.MarkupLine("  terminal.key (private key, 0600), terminal.crt (device certificate), ca.crt (Custodian CA)");
            return 0;
        }));
        return new Command("terminal", "Terminal-side commands.") { init, Renew() };
    }

    private static Command Renew()
    {
        var server = new Option<string>("--server") { Description = "Terminal API URL, e.g. https://127.0.0.1:7443.", Required = true };
        var directory = new Option<DirectoryInfo>("--dir") { Description = "The terminal's credentials directory (from 'terminal init').", DefaultValueFactory = _ => new DirectoryInfo("terminal") };
        var force = new Option<bool>("--force") { Description = "Renew now even if less than half of the certificate's lifetime has passed." };
        var renew = new Command("renew", "Renew this terminal's device certificate over mutual TLS (a fresh key) when less than half its lifetime is left.") { server, directory, force };
        renew.SetAction(CustodianCli.Guarded(async (parse, ct) =>
        {
            var url = CliArguments.HttpsUrl(parse.GetValue(server), "--server");
            var dir = parse.GetValue(directory)!;
            if (!File.Exists(Path.Combine(dir.FullName, TerminalCredentials.KeyFileName)))
            {
                throw CliException.Usage($"{dir.FullName} holds no terminal credentials; run 'custodian terminal init' first or pass --dir.");
            }

            Custodian.Problems.Result<RenewalOutcome> outcome;
            try
            {
                outcome = await TerminalRenewal.RenewIfDueAsync(dir.FullName, url, TimeProvider.System, parse.GetValue(force), ct);
            }
            catch (HttpRequestException ex)
            {
                throw new CliException(CliText.Unreachable(url, ex, "the terminal trusts only the CA it pinned at 'terminal init'"));
            }
            catch (System.Security.Cryptography.CryptographicException ex)
            {
                throw CliException.Usage($"the credentials in {dir.FullName} cannot be loaded: {ex.Message}"); // input files of the wrong kind: exit 1
            }

            if (!outcome.IsSuccess)
            {
                throw new CliException($"renewal refused ({outcome.Error!.Status} {outcome.Error.Code}): {outcome.Error.Message}");
            }

            var o = outcome.Value;
            // A staff session is bound to the certificate it was opened with (SessionStore.Validate), so a renewal ends every
            // session on this terminal: say so, or the next clerk action fails with 'session-terminal-mismatch' unexplained.
            Console.WriteLine(o.Renewed
                ? string.Create(CultureInfo.InvariantCulture, $"Renewed the device certificate of {o.Terminal}; valid until {o.NotAfter:yyyy-MM-ddTHH:mm:ssZ}.{Environment.NewLine}Staff sessions on this terminal were bound to the old certificate and have ended: clerks signed in here must sign in again.")
                : string.Create(CultureInfo.InvariantCulture, $"Not due: the certificate of {o.Terminal} is valid until {o.NotAfter:yyyy-MM-ddTHH:mm:ssZ}; renewal starts when less than half its lifetime is left (or pass --force)."));
            return 0;
        }));
        return renew;
    }
}
