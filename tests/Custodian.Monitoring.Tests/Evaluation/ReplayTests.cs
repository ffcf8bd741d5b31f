using Custodian.Ledger;
using Custodian.Monitoring.Detection;
using Custodian.Monitoring.Replay;

namespace Custodian.Monitoring.Tests.Evaluation;

public sealed class ReplayTests
{
    [Fact]
    public void Csv_rows_become_entries_with_subscribers_numbered_by_token()
    {
        var csv = """
            time,clerk,terminal,store,subscriber,task,purpose,fields,outcome
            2026-11-02T10:00:05+09:00,C1,T-1,S001,8340123498120001;8340123498120002,search,,name;phone,allowed
            2026-11-02T10:00:00+09:00,C1,T-1,S001,8340123498120002,view,plan-change,name;rrn,allowed
            2026-11-02T10:01:00Z,,,,,device-refused,,,denied
            """;
        var (rows, errors) = ReplayFile.Read(new StringReader(csv), json: false);
        Assert.Empty(errors);
        Assert.Equal([3, 2, 4], rows.Select(r => r.Line)); // sorted by time
        Assert.Equal([2L], rows[0].Entry.Subjects.Select(s => s.Value)); // the view (line 3) sorts first; tokens are numbered in file order
        Assert.Equal([1L, 2L], rows[1].Entry.Subjects.Select(s => s.Value));
        Assert.Equal(AccessTask.View, rows[0].Entry.Task);
        Assert.Equal(["name", "rrn"], rows[0].Entry.Fields);
        Assert.Equal("plan-change", rows[0].Entry.Purpose);
        Assert.Equal(AccessOutcome.Denied, rows[2].Entry.Outcome);
        Assert.Null(rows[2].Entry.Account);
    }

    [Fact]
    public void Every_bad_row_is_reported_with_its_line_and_never_its_value()
    {
        var json = """
            {"time":"2026-11-02T10:00:00+09:00","clerk":"C1","terminal":"T-1","store":"S001","subscribers":["tok-1"],"task":"view","purpose":"plan-change","fields":["name"],"outcome":"allowed"}
            {"time":"yesterday 9801011234567","clerk":"C1","task":"view","outcome":"allowed"}
            not json at all 9801011234567

            {"time":"2026-11-02T10:00:00+09:00","clerk":"C1","subscriber":"980101/1234567","task":"view","outcome":"allowed"}
            {"time":"2026-11-02T10:00:00+09:00","clerk":"C1","task":"peek","outcome":"allowed"}
            {"time":"2026-11-02T10:00:00+09:00","clerk":"C1","task":"view","outcome":"maybe"}
            {"time":"2026-11-02T10:00:00","clerk":"C1","task":"view","outcome":"allowed"}
            {"time":"2026-11-02T10:00:00+09:00","clerk":"C1","task":"view","outcome":"allowed","rrn":"9801011234567"}
            """;
        var (rows, errors) = ReplayFile.Read(new StringReader(json), json: true);
        Assert.Single(rows);
        Assert.Equal([2, 3, 5, 6, 7, 8, 9], errors.Select(e => e.Line));
        Assert.Equal("field 'time' must be an ISO 8601 date-time with an offset, e.g. 2026-11-02T10:15:00+09:00", errors[0].Message);
        Assert.Equal("the line is not valid JSON", errors[1].Message);
        Assert.StartsWith("field 'subscriber' must be tokens", errors[2].Message, StringComparison.Ordinal);
        Assert.StartsWith("field 'task' must be", errors[3].Message, StringComparison.Ordinal);
        Assert.Equal("field 'outcome' must be allowed or denied", errors[4].Message);
        Assert.StartsWith("unknown member 'rrn'", errors[6].Message, StringComparison.Ordinal);
        Assert.All(errors, e => Assert.DoesNotContain("9801011234567", e.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void Personal_data_as_subscriber_tokens_and_overlong_lines_are_refused_by_line()
    {
        var csv = string.Join('\n',
            "time,clerk,terminal,store,subscriber,task,purpose,fields,outcome",
            "2026-11-02T10:00:00+09:00,C1,T-1,S001,900101-1234567,view,plan-change,name,allowed",
            "2026-11-02T10:00:01+09:00,C1,T-1,S001,tok-1;010-1234-5600,view,plan-change,name,allowed",
            "2026-11-02T10:00:02+09:00,C1,T-1,S001,tok-2,view,plan-change," + new string('x', ReplayFile.MaxLineLength) + ",allowed",
            "2026-11-02T10:00:03+09:00,C1,T-1,S001,8340123498120001,view,plan-change,name,allowed");
        var (rows, errors) = ReplayFile.Read(new StringReader(csv), json: false);
        Assert.Equal([5], rows.Select(r => r.Line)); // a 16-digit token is not a phone number or an RRN
        Assert.Equal(
            [
                (2, "field 'subscriber' must be tokens, not phone numbers or resident registration numbers; export the log with subscriber tokens"),
                (3, "field 'subscriber' must be tokens, not phone numbers or resident registration numbers; export the log with subscriber tokens"),
                (4, "the line must be at most 65,536 characters; it was skipped and the lines after it were read"),
            ],
            errors.Select(e => (e.Line, e.Message)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_time_at_the_end_of_the_calendar_is_a_field_error_on_its_line_and_the_other_rows_replay(bool json)
    {
        string Row(string time) => json
            ? $$"""{"time":"{{time}}","clerk":"C1","terminal":"T-1","store":"S001","subscribers":["tok-1"],"task":"view","purpose":"plan-change","fields":["name"],"outcome":"allowed"}"""
            : $"{time},C1,T-1,S001,tok-1,view,plan-change,name,allowed";
        var lines = new List<string> { Row("2026-11-02T10:00:00+09:00"), Row("9999-12-31T23:59:59Z"), Row("9999-12-31T23:59:59+09:00"), Row("2099-12-31T12:00:00Z") };
        if (!json)
        {
            lines.Insert(0, "time,clerk,terminal,store,subscriber,task,purpose,fields,outcome");
        }

        var (rows, errors) = ReplayFile.Read(new StringReader(string.Join('\n', lines)), json);

        var first = json ? 1 : 2;
        Assert.Equal([first, first + 3], rows.Select(r => r.Line));
        Assert.Equal([(first + 1, ReplayFile.TimeRangeRule), (first + 2, ReplayFile.TimeRangeRule)], errors.Select(e => (e.Line, e.Message)));
        Assert.Equal("field 'time' must be from 2000-01-01T00:00:00Z up to, not including, 2100-01-01T00:00:00Z", ReplayFile.TimeRangeRule);
        Assert.Equal(2, ReplayRunner.Run(rows).Rows); // the orphan sweep after the 2099 row stays in range
    }

    [Fact]
    public void A_bad_csv_header_is_reported_on_line_1()
    {
        var (_, errors) = ReplayFile.Read(new StringReader("when,who\n"), json: false);
        var error = Assert.Single(errors);
        Assert.Equal(1, error.Line);
        Assert.StartsWith("the header must be 'time,clerk,terminal,store,subscriber,task,purpose,fields,outcome'", error.Message, StringComparison.Ordinal);
        Assert.True(error.FileLevel);
    }

    [Fact]
    public void Replaying_a_scraper_log_reports_when_it_would_have_been_suspended_and_what_would_have_been_refused()
    {
        var lines = new List<string> { string.Join(',', ReplayFile.CsvColumns.Take(9)) };
        var start = new DateTimeOffset(2026, 11, 2, 11, 0, 0, TimeSpan.FromHours(9));
        for (var i = 0; i < 30; i++)
        {
            var at = start.AddMinutes(i).ToString("yyyy-MM-dd'T'HH:mm:sszzz", System.Globalization.CultureInfo.InvariantCulture);
            lines.Add($"{at},C7,T-7,S002,tok{i},search,,name;phone,allowed");
        }

        var (rows, errors) = ReplayFile.Read(new StringReader(string.Join('\n', lines)), json: false);
        Assert.Empty(errors);
        var outcome = ReplayRunner.Run(rows);
        Assert.Equal(30, outcome.Rows);
        var suspended = outcome.Suspended.Select(s => (s.Principal.ToString(), s.At, s.Line)).ToList();
        Assert.Equal([("clerk:C7", start.AddMinutes(9), 11), ("terminal:T-7", start.AddMinutes(9), 11)], suspended);
        Assert.Equal(20, outcome.ReadsAfterSuspension[new Principal(PrincipalKind.Clerk, "C7")]);
        Assert.Equal(
            [(MonitorAction.Alert, 8), (MonitorAction.StepUp, 9), (MonitorAction.Suspend, 10)],
            outcome.Decisions.Where(d => d.Decision.Finding.Principal.Kind == PrincipalKind.Clerk).Select(d => (d.Decision.Action, d.Decision.Finding.Observed)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Reading_stops_at_the_next_line_once_cancelled(bool json)
    {
        var lines = new List<string>();
        if (!json)
        {
            lines.Add("time,clerk,terminal,store,subscriber,task,purpose,fields,outcome");
        }

        for (var i = 0; i < 100; i++)
        {
            lines.Add(json
                ? $"{{\"time\":\"2026-11-02T10:{i / 60:00}:{i % 60:00}+09:00\",\"clerk\":\"C1\",\"terminal\":\"T-1\",\"store\":\"S001\",\"subscribers\":[\"tok{i}\"],\"task\":\"search\",\"fields\":[\"name\"],\"outcome\":\"allowed\"}}"
                : $"2026-11-02T10:{i / 60:00}:{i % 60:00}+09:00,C1,T-1,S001,tok{i},search,,name,allowed");
        }

        using var cancel = new CancellationTokenSource();
        var reader = new CancelAtLine(string.Join('\n', lines), cancelAt: 40, cancel);

        Assert.Throws<OperationCanceledException>(() => ReplayFile.Read(reader, json, cancel.Token));
        Assert.Equal(40, reader.LinesRead); // line 40 cancelled the read; line 41 was never read
    }

    [Fact]
    public void A_cancelled_replay_processes_no_further_row()
    {
        var lines = new List<string> { "time,clerk,terminal,store,subscriber,task,purpose,fields,outcome" };
        for (var i = 0; i < 10; i++)
        {
            lines.Add($"2026-11-02T10:00:{i:00}+09:00,C1,T-1,S001,tok{i},search,,name,allowed");
        }

        var (rows, errors) = ReplayFile.Read(new StringReader(string.Join('\n', lines)), json: false);
        Assert.Empty(errors);

        Assert.Throws<OperationCanceledException>(() => ReplayRunner.Run(rows, cancellationToken: new CancellationToken(canceled: true)));
    }

    /// <summary>A reader over lines that cancels <paramref name="cancel"/> when it hands out line <paramref name="cancelAt"/>.</summary>
    private sealed class CancelAtLine(string text, int cancelAt, CancellationTokenSource cancel) : TextReader
    {
        private readonly StringReader _inner = new(text);

        public int LinesRead { get; private set; }

        public override string? ReadLine()
        {
            var line = _inner.ReadLine();
            if (line is not null && ++LinesRead == cancelAt)
            {
                cancel.Cancel();
            }

            return line;
        }
    }
}
