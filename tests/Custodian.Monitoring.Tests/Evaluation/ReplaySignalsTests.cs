using Custodian.Ledger;
using Custodian.Monitoring.Detection;
using Custodian.Monitoring.Replay;

namespace Custodian.Monitoring.Tests.Evaluation;

/// <summary>The replay format's optional signals: CSV columns block, ending, away, household; JSON lines' 'signals' object.</summary>
public sealed class ReplaySignalsTests
{
    private const string Header = "time,clerk,terminal,store,subscriber,task,purpose,fields,outcome,role,error,unmasked,block,ending,away,household";

    [Fact]
    public void Csv_signal_columns_after_unmasked_become_the_entrys_signals()
    {
        var csv = string.Join('\n',
            Header,
            "2026-11-02T10:00:00+09:00,C1,T-1,S001,tok-1,search,,name,allowed,clerk,,,0123456789abcdef,true,,",
            "2026-11-02T10:00:01+09:00,C1,T-1,S001,tok-1,view,plan-change,name,allowed,clerk,,,,,true,true",
            "2026-11-02T10:00:02+09:00,C1,T-1,S001,tok-1,service-complete,plan-change,,allowed,clerk,,,,,,");
        var (rows, errors) = ReplayFile.Read(new StringReader(csv), json: false);
        Assert.Empty(errors);
        Assert.Equal(new AccessSignals { NumberBlock = "0123456789abcdef", ContractEnding = true }, rows[0].Entry.Signals);
        Assert.Equal(new AccessSignals { OtherArea = true, SameHousehold = true }, rows[1].Entry.Signals);
        Assert.Null(rows[2].Entry.Signals); // none set: no signals, as in the ledger
    }

    [Fact]
    public void A_csv_header_may_stop_after_any_optional_column_and_the_header_error_lists_the_signal_columns()
    {
        var csv = "time,clerk,terminal,store,subscriber,task,purpose,fields,outcome,role,error,unmasked,block\n"
            + "2026-11-02T10:00:00+09:00,C1,T-1,S001,,search,,,allowed,clerk,,,00000000000000aa\n";
        var (rows, errors) = ReplayFile.Read(new StringReader(csv), json: false);
        Assert.Empty(errors);
        Assert.Equal("00000000000000aa", Assert.Single(rows).Entry.Signals!.NumberBlock);

        var (_, bad) = ReplayFile.Read(new StringReader("time,clerk,terminal,store,subscriber,task,purpose,fields,outcome,role,error,unmasked,ending\n"), json: false);
        Assert.Equal(
            "the header must be 'time,clerk,terminal,store,subscriber,task,purpose,fields,outcome' optionally followed by ',role', ',error', ',unmasked', ',block', ',ending', ',away', ',household' in that order; "
            + "found 13 columns: time, clerk, terminal, store, subscriber, task, purpose, fields, outcome, role, error, unmasked, ending",
            Assert.Single(bad).Message);
    }

    [Fact]
    public void Bad_csv_signal_values_are_refused_by_line_and_column_never_by_value()
    {
        var csv = string.Join('\n',
            Header,
            "2026-11-02T10:00:00+09:00,C1,T-1,S001,,search,,,allowed,,,,0123456789ABCDEF,,,",
            "2026-11-02T10:00:00+09:00,C1,T-1,S001,,search,,,allowed,,,,01234567890,,,",
            "2026-11-02T10:00:00+09:00,C1,T-1,S001,tok-1,view,,,allowed,,,,,yes,,",
            "2026-11-02T10:00:00+09:00,C1,T-1,S001,tok-1,view,,,allowed,,,,,,false,",
            "2026-11-02T10:00:00+09:00,C1,T-1,S001,tok-1,view,,,allowed,,,,,,,01012345678",
            "2026-11-02T10:00:00+09:00,C1,T-1,S001,tok-1,view,,,allowed,,,,,,,true");
        var (rows, errors) = ReplayFile.Read(new StringReader(csv), json: false);
        Assert.Equal([7], rows.Select(r => r.Line));
        Assert.Equal(
            [
                (2, "field 'block' must be 16 lower-case hexadecimal characters (0-9, a-f) or empty"),
                (3, "field 'block' must be 16 lower-case hexadecimal characters (0-9, a-f) or empty"),
                (4, "field 'ending' must be true or empty"),
                (5, "field 'away' must be true or empty"),
                (6, "field 'household' must be true or empty"),
            ],
            errors.Select(e => (e.Line, e.Message)));
    }

    [Fact]
    public void Json_signals_become_the_entrys_signals_and_bad_ones_are_refused_by_line_and_member()
    {
        const string Row = """{"time":"2026-11-02T10:00:00+09:00","clerk":"C1","terminal":"T-1","store":"S001","subscribers":["tok-1"],"task":"view","outcome":"allowed" """;
        var json = string.Join('\n',
            Row + ""","signals":{"household":true,"block":"00000000000000aa","away":true,"ending":true}}""",
            Row + ""","signals":{"block":"00000000000000AA"}}""",
            Row + ""","signals":{"block":12}}""",
            Row + ""","signals":{"ending":false}}""",
            Row + ""","signals":{"away":"true"}}""",
            Row + ""","signals":{}}""",
            Row + ""","signals":[]}""",
            Row + ""","signals":{"surname":true}}""",
            Row + ""","signals":{"010-1234-5678":true}}""",
            Row + ""","signals":{"ending":true,"ending":true}}""",
            Row + ""","signals":{"ending":true},"signals":{"away":true}}""",
            Row + ""","block":"00000000000000aa"}""",
            Row + "}");
        var (rows, errors) = ReplayFile.Read(new StringReader(json), json: true);
        Assert.Equal([1, 13], rows.Select(r => r.Line));
        Assert.Equal(new AccessSignals { NumberBlock = "00000000000000aa", ContractEnding = true, OtherArea = true, SameHousehold = true }, rows[0].Entry.Signals);
        Assert.Null(rows[1].Entry.Signals);
        const string Allowed = "allowed: time, clerk, terminal, store, subscriber, task, purpose, fields, outcome, role, error, unmasked, subscribers, signals";
        Assert.Equal(
            [
                (2, "member 'signals.block' must be 16 lower-case hexadecimal characters (0-9, a-f)"),
                (3, "member 'signals.block' must be 16 lower-case hexadecimal characters (0-9, a-f)"),
                (4, "member 'signals.ending' must be true (leave it out for false)"),
                (5, "member 'signals.away' must be true (leave it out for false)"),
                (6, "member 'signals' must hold one or more of block, ending, away, household (leave it out when none is set)"),
                (7, "member 'signals' must be an object with one or more of block, ending, away, household"),
                (8, "unknown member 'signals.surname'; allowed: block, ending, away, household"),
                (9, "an unknown member of 'signals' (its name is not shown: not a plain identifier); allowed: block, ending, away, household"),
                (10, "member 'signals.ending' appears more than once"),
                (11, "member 'signals' appears more than once"),
                (12, "unknown member 'block'; " + Allowed),
            ],
            errors.Select(e => (e.Line, e.Message)));
        Assert.All(errors, e => Assert.DoesNotContain("010-1234-5678", e.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void Replaying_near_sequential_searches_raises_the_block_rule_from_the_fifth_search()
    {
        var lines = new List<string> { Header };
        var start = new DateTimeOffset(2026, 11, 2, 11, 0, 0, TimeSpan.FromHours(9));
        for (var i = 0; i < 6; i++)
        {
            var at = start.AddMinutes(i * 5).ToString("yyyy-MM-dd'T'HH:mm:sszzz", System.Globalization.CultureInfo.InvariantCulture);
            lines.Add($"{at},C7,T-7,S002,tok{i},search,,name;phone,allowed,clerk,,,00000000000000aa,,,");
        }

        var (rows, errors) = ReplayFile.Read(new StringReader(string.Join('\n', lines)), json: false);
        Assert.Empty(errors);
        var outcome = ReplayRunner.Run(rows);
        Assert.Equal(
            [(EnumerationDetector.DetectorName, MonitorAction.Alert, 40, 5)],
            outcome.Decisions.Where(d => d.Decision.Finding.Principal.Kind == PrincipalKind.Clerk)
                .Select(d => (d.Decision.Finding.Detector, d.Decision.Action, d.Decision.Risk, d.Decision.Finding.Observed)));
    }
}
