using System.Text.RegularExpressions;
using Custodian.Monitoring.Tests.Support;
using Custodian.Problems;
using Custodian.Storage;
using Microsoft.Extensions.Time.Testing;

namespace Custodian.Monitoring.Tests.Alerts;

public sealed partial class AlertStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 3, 0, 0, 0, 123, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(T0);
    private TestDatabase _db = null!;
    private AlertStore _store = null!;

    public async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync();
        _store = new AlertStore(_db.Db, _time);
    }

    public Task DisposeAsync()
    {
        _db.Dispose();
        return Task.CompletedTask;
    }

    private static NewAlert Draft(string clerk = "C0001", int observed = 13) => new(
        DistinctSubjectsDetector.DetectorName,
        new Principal(PrincipalKind.Clerk, clerk),
        "S001",
        TimeSpan.FromMinutes(10),
        observed,
        12,
        new AlertEvidence(3, 40, [3, 5, 40], 3),
        AlertSeverity.High);

    [GeneratedRegex("^A-[0-9A-HJKMNP-TV-Z]{26}$")]
    private static partial Regex IdPattern();

    [Fact]
    public async Task Create_then_get_round_trips_every_field()
    {
        var created = await _store.CreateAsync(Draft());
        Assert.Matches(IdPattern(), created.Id);
        var expected = new Alert(
            created.Id, T0, "distinct-subjects", new Principal(PrincipalKind.Clerk, "C0001"), "S001", TimeSpan.FromMinutes(10), 13, 12,
            new AlertEvidence(3, 40, [3, 5, 40], 3), AlertSeverity.High, AlertState.Open, T0, "monitor", null);
        var loaded = await _store.GetAsync(created.Id);
        Assert.NotNull(loaded);
        Assert.Equal(expected, loaded);
    }

    [Fact]
    public async Task Rows_are_stored_in_the_documented_shape()
    {
        var created = await _store.CreateAsync(Draft());
        await using var connection = await _db.Db.OpenAsync();
        await using var command = connection.Command(
            "SELECT raised_ms, principal_kind, principal_id, window_seconds, observed, limit_value, evidence, severity, state, updated_by FROM alerts WHERE id = @id",
            ("@id", created.Id));
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(T0.ToUnixTimeMilliseconds(), reader.GetInt64(0));
        Assert.Equal("clerk", reader.GetString(1));
        Assert.Equal("C0001", reader.GetString(2));
        Assert.Equal(600, reader.GetInt64(3));
        Assert.Equal(13, reader.GetInt64(4));
        Assert.Equal(12, reader.GetInt64(5));
        Assert.Equal("""{"first":3,"last":40,"total":3,"sequences":[3,5,40]}""", reader.GetString(6));
        Assert.Equal("high", reader.GetString(7));
        Assert.Equal("open", reader.GetString(8));
        Assert.Equal("monitor", reader.GetString(9));
    }

    [Fact]
    public async Task Ids_sort_by_time_and_are_unique()
    {
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await _store.CreateAsync(Draft())).Id);
            _time.Advance(TimeSpan.FromMilliseconds(1));
        }

        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
        Assert.Equal(5, ids.Distinct().Count());
    }

    [Fact]
    public async Task List_is_newest_first_and_filters_by_state()
    {
        var a = await _store.CreateAsync(Draft("C0001"));
        _time.Advance(TimeSpan.FromMinutes(1));
        var b = await _store.CreateAsync(Draft("C0002"));
        _time.Advance(TimeSpan.FromMinutes(1));
        var c = await _store.CreateAsync(Draft("C0003"));
        Assert.True((await _store.SetStateAsync(b.Id, AlertState.Acknowledged, "SO01", "looking")).IsSuccess);

        Assert.Equal([c.Id, b.Id, a.Id], (await _store.ListAsync(null)).Select(x => x.Id));
        Assert.Equal([c.Id, a.Id], (await _store.ListAsync(AlertState.Open)).Select(x => x.Id));
        Assert.Equal([b.Id], (await _store.ListAsync(AlertState.Acknowledged)).Select(x => x.Id));
        Assert.Empty(await _store.ListAsync(AlertState.Confirmed));
        Assert.Equal([c.Id], (await _store.ListAsync(null, limit: 1)).Select(x => x.Id));
        Assert.Equal([b.Id], (await _store.ListForPrincipalAsync(new Principal(PrincipalKind.Clerk, "C0002"))).Select(x => x.Id));
    }

    [Fact]
    public async Task Set_state_records_officer_time_and_note()
    {
        var created = await _store.CreateAsync(Draft());
        _time.Advance(TimeSpan.FromMinutes(30));
        var result = await _store.SetStateAsync(created.Id, AlertState.Confirmed, "SO01", "Confirmed with the store manager.");
        Assert.True(result.IsSuccess);
        var expected = created with { State = AlertState.Confirmed, UpdatedAt = T0.AddMinutes(30), UpdatedBy = "SO01", Note = "Confirmed with the store manager." };
        Assert.Equal(expected, result.Value);
        var loaded = await _store.GetAsync(created.Id);
        Assert.Equal(expected, loaded);
    }

    [Fact]
    public async Task Final_states_refuse_further_transitions()
    {
        var created = await _store.CreateAsync(Draft());
        Assert.True((await _store.SetStateAsync(created.Id, AlertState.FalsePositive, "SO01", null)).IsSuccess);
        var again = await _store.SetStateAsync(created.Id, AlertState.Confirmed, "SO01", null);
        Assert.Equal(MonitoringErrorCodes.AlertStateConflict, again.Error!.Code);
        Assert.Equal(409, again.Error.Status);
        Assert.Equal("The alert is already false-positive, a final state.", again.Error.Message);
    }

    [Theory]
    [InlineData(AlertState.Open, "state")]
    [InlineData(AlertState.Restored, "state")]
    public async Task Open_and_restored_cannot_be_set_directly(AlertState state, string field)
    {
        var created = await _store.CreateAsync(Draft());
        var result = await _store.SetStateAsync(created.Id, state, "SO01", null);
        Assert.Equal(ErrorCodes.ValidationFailed, result.Error!.Code);
        Assert.Equal([field], result.Error.Errors!.Keys);
    }

    [Fact]
    public async Task Bad_officer_long_note_and_unknown_id_are_errors_without_echoing_values()
    {
        var created = await _store.CreateAsync(Draft());
        var badOfficer = await _store.SetStateAsync(created.Id, AlertState.Acknowledged, "bad officer!", null);
        Assert.Equal(ErrorCodes.ValidationFailed, badOfficer.Error!.Code);
        Assert.DoesNotContain("bad officer!", badOfficer.Error.Message, StringComparison.Ordinal);

        var longNote = await _store.SetStateAsync(created.Id, AlertState.Acknowledged, "SO01", new string('x', 501));
        Assert.Equal(["note"], longNote.Error!.Errors!.Keys);

        var missing = await _store.SetStateAsync("A-00000000000000000000000000", AlertState.Acknowledged, "SO01", null);
        Assert.Equal((ErrorCodes.NotFound, 404), (missing.Error!.Code, missing.Error.Status));
        Assert.Null(await _store.GetAsync("A-00000000000000000000000000"));
    }

    [Fact]
    public async Task Mark_restored_changes_only_open_and_acknowledged_alerts_of_that_principal()
    {
        var open = await _store.CreateAsync(Draft("C0001"));
        var acknowledged = await _store.CreateAsync(Draft("C0001"));
        var confirmed = await _store.CreateAsync(Draft("C0001"));
        var other = await _store.CreateAsync(Draft("C0002"));
        await _store.SetStateAsync(acknowledged.Id, AlertState.Acknowledged, "SO01", null);
        await _store.SetStateAsync(confirmed.Id, AlertState.Confirmed, "SO01", null);

        Assert.Equal(2, await _store.MarkRestoredAsync(new Principal(PrincipalKind.Clerk, "C0001"), "SO02", "Customer event day."));
        Assert.Equal(AlertState.Restored, (await _store.GetAsync(open.Id))!.State);
        Assert.Equal(("SO02", "Customer event day."), ((await _store.GetAsync(acknowledged.Id))!.UpdatedBy, (await _store.GetAsync(acknowledged.Id))!.Note));
        Assert.Equal(AlertState.Confirmed, (await _store.GetAsync(confirmed.Id))!.State);
        Assert.Equal(AlertState.Open, (await _store.GetAsync(other.Id))!.State);
    }

    [Fact]
    public void State_and_severity_names_are_stable()
    {
        Assert.Equal(["open", "acknowledged", "false-positive", "confirmed", "restored"], Enum.GetValues<AlertState>().Select(s => s.ToName()));
        Assert.Equal(["low", "medium", "high", "critical"], Enum.GetValues<AlertSeverity>().Select(s => s.ToName()));
        Assert.True(AlertStates.TryParse("false-positive", out var fp));
        Assert.Equal(AlertState.FalsePositive, fp);
        Assert.False(AlertStates.TryParse("Open", out _));
    }

    [Fact]
    public void The_id_encodes_the_millisecond_time_in_its_first_ten_characters()
    {
        // ULID spec: 48-bit time, Crockford base 32; 1741046400123 ms → "01JNDVXRVV" (computed independently below).
        var id = AlertStore.NewId(T0);
        var ms = T0.ToUnixTimeMilliseconds();
        var expected = new string([.. Enumerable.Range(0, 10).Select(i => "0123456789ABCDEFGHJKMNPQRSTVWXYZ"[(int)((ms >> (45 - (5 * i))) & 31)])]);
        Assert.Equal(expected, id.Substring(2, 10));
    }
}
