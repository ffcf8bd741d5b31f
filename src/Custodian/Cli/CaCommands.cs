using System.CommandLine;
using Custodian.Access.Certificates;
using Custodian.Access.Terminals;
using Custodian.Hosting;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Protection.Keys;
using Spectre.Console;

namespace Custodian.Cli;

/// <summary>The device CA: <c>ca status</c>, <c>ca rotate</c>, <c>ca finish-rotation</c> (docs/access.md §2.4).</summary>
internal static class CaCommands
{
    public static Command Ca()
    {
        var status = new Command("status", "Show the device CA, a rotation in progress, and the terminals still holding a certificate of the previous CA.");
        status.SetAction(CustodianCli.Guarded(async (parse, _) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var ca = context.Get<CertificateAuthority>();
            Console.WriteLine($"Current CA:  {ca.Certificate.Subject}  SHA-256 {ca.Sha256Fingerprint}  (issues device certificates)");
            if (ca.PreviousCertificate is null)
            {
                Console.WriteLine("No rotation in progress.");
                return 0;
            }

            var pending = await PendingAsync(context, ca);
            Console.WriteLine($"Previous CA: {ca.PreviousCertificate.Subject}  SHA-256 {ca.ServerIssuerSha256Fingerprint}  (still trusted; issues the server certificate)");
            Console.WriteLine(pending.Count == 0
                ? $"Rotation started {ca.CreatedAt:yyyy-MM-ddTHH:mm:ssZ}; every active terminal has renewed since: 'custodian ca finish-rotation' can retire the previous CA (then restart the server)."
                : $"Rotation started {ca.CreatedAt:yyyy-MM-ddTHH:mm:ssZ}; {CliText.Count(pending.Count, "active terminal")} {(pending.Count == 1 ? "has" : "have")} not renewed since: {string.Join(", ", pending.Take(20))}{(pending.Count > 20 ? ", ..." : string.Empty)}");
            return 0;
        }));

        var rotateLockTimeout = CustodianCli.LockTimeoutOption();
        var rotate = new Command("rotate", "Start a CA rotation: a new CA issues device certificates; the previous one stays trusted until 'ca finish-rotation'. Restart the server afterwards.") { rotateLockTimeout };
        rotate.SetAction(CustodianCli.Guarded(async (parse, _) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var time = context.Get<TimeProvider>();
            // Under the keyring lock, which a backup holds while it reads the CA files: a backup copies the CA before or
            // after the rotation, never half of it. If the entry cannot be recorded, the CA files are put back as they were.
            var (previous, current) = await context.Get<ProtectionKeyring>().WithLockAsync(() => CertificateAuthority.RotateAsync(
                context.Get<DataPaths>().CertificateAuthority, time, context.Get<CertificateAuthority>().Options,
                (was, now) => RecordAsync(context, now, RotationStartedReason(was))), parse.LockTimeout(rotateLockTimeout));
            Console.WriteLine($"New device CA SHA-256 {current}; previous CA {previous} stays trusted and keeps issuing the server certificate.");
            Console.WriteLine("Restart the server: until then it refuses enrollments and renewals (503 ca-restart-required). Terminals move to the new CA at their next renewal after the restart; 'custodian ca status' shows who has not.");
            return 0;
        }));

        var force = new Option<bool>("--force") { Description = "Finish even though some active terminals still hold a certificate of the previous CA (they must re-enroll)." };
        var finishLockTimeout = CustodianCli.LockTimeoutOption();
        var finish = new Command("finish-rotation", "Retire the previous CA (after every terminal renewed). Restart the server afterwards.") { force, finishLockTimeout };
        finish.SetAction(CustodianCli.Guarded(async (parse, _) =>
        {
            await using var context = await CliContext.OpenAsync(parse.GetValue(CustodianCli.DataOption)!);
            var ca = context.Get<CertificateAuthority>();
            if (ca.PreviousCertificate is null)
            {
                throw new CliException("no CA rotation is in progress.");
            }

            var pending = await PendingAsync(context, ca);
            if (pending.Count > 0 && !parse.GetValue(force))
            {
                throw new CliException($"{CliText.Count(pending.Count, "active terminal")} {(pending.Count == 1 ? "has" : "have")} not renewed since the rotation started (e.g. {pending[0]}); wait for {(pending.Count == 1 ? "its" : "their")} renewal or pass --force (they must then re-enroll).");
            }

            // Under the keyring lock like 'ca rotate'; if the entry cannot be recorded, ca/previous/ is put back (still in rotation).
            var retired = await context.Get<ProtectionKeyring>().WithLockAsync(() => CertificateAuthority.FinishRotationAsync(
                context.Get<DataPaths>().CertificateAuthority,
                fingerprint => RecordAsync(context, fingerprint, $"CA rotation finished; previous CA retired, {pending.Count} terminal(s) left on it")), parse.LockTimeout(finishLockTimeout))
                ?? throw new CliException("no CA rotation is in progress.");
            Console.WriteLine($"Retired the previous CA {retired}. Restart the server: it then presents a server certificate of the new CA and trusts only it.");
            return 0;
        }));
        return new Command("ca", "The device CA and its rotation.") { status, rotate, finish };
    }

    /// <summary>
    /// Active terminals whose latest certificate may have been issued before the current CA existed. The CA's creation time
    /// has whole seconds, so a certificate issued in that same second counts as pending (conservative).
    /// </summary>
    private static async Task<List<string>> PendingAsync(CliContext context, CertificateAuthority ca) =>
        [.. (await context.Get<TerminalRegistry>().ListAsync())
            .Where(t => t.Status == TerminalState.Active && (t.RenewedAt ?? t.EnrolledAt ?? DateTimeOffset.MinValue).ToUnixTimeSeconds() <= ca.CreatedAt.ToUnixTimeSeconds())
            .Select(t => t.TerminalId)];

    /// <summary>
    /// The ledger reason of a started rotation. The previous CA's SHA-256 fingerprint is written in OpenSSL's form
    /// (upper-case byte pairs separated by colons, as <c>openssl x509 -fingerprint -sha256</c> prints it), not as the
    /// 64 plain hex digits: a run of plain hex holds, about once in 180 fingerprints, nine to thirteen digits that are
    /// shaped like a Korean phone number or an RRN, and the ledger refuses such a reason
    /// (<see cref="Classification.FreeText"/>), which failed the command after the new CA was already in place. Byte
    /// pairs hold at most two digits in a row. The new CA's fingerprint is the entry's target, which is not free text.
    /// </summary>
    /// <param name="previousFingerprint">The previous CA's SHA-256 fingerprint, 64 hex digits (either case).</param>
    /// <returns>The reason, e.g. <c>CA rotation started; previous CA SHA-256 AB:CD:…:EF stays trusted until the rotation is finished</c>.</returns>
    internal static string RotationStartedReason(string previousFingerprint) =>
        $"CA rotation started; previous CA SHA-256 {string.Join(':', Convert.FromHexString(previousFingerprint).Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)))} stays trusted until the rotation is finished";

    private static Task RecordAsync(CliContext context, string fingerprint, string reason) =>
        context.Get<IAccessLedger>().AppendAsync(new AccessEntry
        {
            Time = context.Get<TimeProvider>().GetUtcNow(),
            Task = AccessTask.CaRotated,
            Outcome = AccessOutcome.Allowed,
            Account = AdminCommands.Operator,
            Role = StaffRole.SecurityOfficer,
            Target = "ca:" + fingerprint,
            Reason = reason,
        }).AsTask();
}
