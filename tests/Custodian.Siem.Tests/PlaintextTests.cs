using System.Text;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Monitoring;
using Custodian.Protection.Import;
using Custodian.Protection.Sample;
using Custodian.Protection.Subscribers;
using Custodian.Protection.Validation;
using Custodian.Siem.Export;
using Microsoft.Extensions.DependencyInjection;

namespace Custodian.Siem.Tests;

/// <summary>No name, phone number, RRN or internal subscriber ID reaches a SIEM: every exported message and line is scanned.</summary>
public sealed class PlaintextTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 7, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Exported_cef_and_ocsf_hold_tokens_only()
    {
        await using var env = await SiemTestEnvironment.CreateAsync();
        var population = new SampleGenerator().Generate(60, 3, 4242, new DateOnly(2026, 11, 30)).ToList();
        var csv = new StringWriter();
        SampleGenerator.WriteCsv(csv, population);
        var report = await env.Services.GetRequiredService<SubscriberImporter>().ImportAsync(new StringReader(csv.ToString()));
        Assert.Equal(60, report.RowsImported);

        var vault = env.Services.GetRequiredService<SubscriberVault>();
        var ids = new List<SubscriberId>();
        var needles = new List<(string Value, string What)>();
        foreach (var s in population)
        {
            var e164 = PhoneNumbers.NormalizeKorean(s.Phone).Value;
            var id = Assert.Single(await vault.FindByPhoneAsync(e164));
            ids.Add(id);
            var rrn = s.Rrn.Replace("-", string.Empty, StringComparison.Ordinal);
            var national = PhoneNumbers.FormatNational(e164);
            needles.AddRange([(s.Name, "name"), (rrn, "RRN"), (s.Rrn, "RRN"), (e164, "phone"), (e164[1..], "phone"), (national, "phone"),
                (national.Replace("-", string.Empty, StringComparison.Ordinal), "phone"), (id.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), "internal ID")]);
        }

        var entries = new List<AccessEntry>();
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
        {
            var common = new AccessEntry { Time = T0.AddSeconds(i), Task = AccessTask.Search, Outcome = AccessOutcome.Allowed, Account = "C0042", Role = StaffRole.Clerk, Terminal = "S001-counter-1", Store = "S001", SourceIp = "10.0.0.9", Purpose = "plan-change", Subjects = [id] };
            entries.Add(common);
            entries.Add(common with { Task = AccessTask.View, Fields = ["name", "phone", "rrn", "rate-plan"] });
            entries.Add(common with { Task = AccessTask.Unmask, Purpose = "identity-verification", Fields = ["rrn"], UnmaskedFields = ["rrn"] });
            entries.Add(new AccessEntry { Time = T0.AddSeconds(i), Task = AccessTask.PortalSignIn, Outcome = AccessOutcome.Allowed, Account = "subscriber", SourceIp = "192.0.2.1", Subjects = [id] });

            // Officer and subscriber actions (6003 API Activity) that carry subjects: a claim, a held-back history entry, a disclosure request.
            entries.Add(new AccessEntry { Time = T0.AddSeconds(i), Task = AccessTask.ClaimFiled, Outcome = AccessOutcome.Allowed, Account = "subscriber", SourceIp = "192.0.2.1", Subjects = [id], Target = $"claim:K{i} incident:I-1", Reason = "secondary-damage amount=50000" });
            entries.Add(new AccessEntry { Time = T0.AddSeconds(i), Task = AccessTask.HistoryDeferral, Outcome = AccessOutcome.Allowed, Account = "P0001", Role = StaffRole.PrivacyOfficer, Subjects = [id], Target = $"entry:{i};until:1800000000000;basis:third-party" });
            entries.Add(new AccessEntry { Time = T0.AddSeconds(i), Task = AccessTask.DisclosureRequest, Outcome = i % 2 == 0 ? AccessOutcome.Allowed : AccessOutcome.Denied, Account = "subscriber", Subjects = [id], Target = $"entry:{i};request:D-{i}", ErrorCode = i % 2 == 0 ? null : "disclosure-already-answered" });
        }

        entries.Add(new AccessEntry { Time = T0.AddMinutes(5), Task = AccessTask.Download, Outcome = AccessOutcome.Allowed, Account = "C0042", Subjects = [.. ids], Fields = ["phone"], Reason = "bulk notice mailing" });
        var alert = await env.Alerts.CreateAsync(new NewAlert("distinct-subjects", new Principal(PrincipalKind.Clerk, "C0042"), "S001", TimeSpan.FromMinutes(10), 60, 20, new AlertEvidence(1, 9, [1, 9], 2), AlertSeverity.Critical));
        entries.Add(new AccessEntry { Time = T0.AddMinutes(6), Task = AccessTask.AlertRaised, Outcome = AccessOutcome.Allowed, Account = "monitor", Store = "S001", Target = alert.Id, Reason = "distinct-subjects: clerk:C0042 read 60 distinct subscribers" });
        await env.AppendAsync(entries);

        await using var rsyslog = await RsyslogServer.StartAsync(tls: false);
        var expected = await SiemExportTests.ExpectedSequencesAsync(env);
        await using (var sink = await SyslogTcpSink.ConnectAsync(new SyslogTarget("127.0.0.1", rsyslog.Port), false, null, "test-host", SyslogTcpSink.DefaultTimeout, TimeProvider.System, CancellationToken.None))
        {
            await env.Exporter.ExportAvailableAsync(sink, 100, CancellationToken.None);
        }

        var jsonFile = env.Directory.Combine("events.jsonl");
        await using (var sink = OcsfJsonLinesSink.ToFile(jsonFile))
        {
            await env.Exporter.ExportAvailableAsync(sink, 100, CancellationToken.None);
        }

        await rsyslog.WaitForAsync(m => m.Count >= expected.Count, "every message");
        var exported = new Dictionary<string, string>
        {
            ["rsyslog received file"] = Encoding.UTF8.GetString(await File.ReadAllBytesAsync(rsyslog.ReceivedFile)),
            ["OCSF JSON lines"] = await File.ReadAllTextAsync(jsonFile),
        };
        var findings = (from file in exported
                        from needle in needles
                        where file.Value.Contains(needle.Value, StringComparison.Ordinal)
                        select $"{file.Key} holds a {needle.What} (form of length {needle.Value.Length})").Distinct().ToList();
        Assert.Empty(findings);

        // Positive control: the subscribers are there, as FF1 tokens.
        foreach (var id in ids)
        {
            var token = env.Tokenizer.TokenizeSubscriber(id);
            Assert.Contains(token, exported["rsyslog received file"], StringComparison.Ordinal);
            Assert.Contains(token, exported["OCSF JSON lines"], StringComparison.Ordinal);
        }
    }
}
