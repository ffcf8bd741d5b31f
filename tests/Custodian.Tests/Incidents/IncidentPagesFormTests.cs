using Custodian.Pages.Console.Incidents;

namespace Custodian.Tests.Incidents;

/// <summary>The console's declare form: a time that is present but malformed is refused, never dropped into an open scope.</summary>
public sealed class IncidentPagesFormTests
{
    [Theory]
    [InlineData(null, null)]
    [InlineData("", " ")]
    [InlineData("2026-11-01T09:00", "2026-11-02T09:00:30")]
    public void Empty_or_well_formed_times_are_accepted(string? from, string? to) => Assert.Null(IncidentPages.CheckTimes(from, to));

    [Theory]
    [InlineData("garbage", null, "from")]
    [InlineData("2026-11-01", null, "from")]
    [InlineData(null, "2026-13-01T09:00", "to")]
    public void A_malformed_time_names_its_field(string? from, string? to, string field) =>
        Assert.StartsWith(field + ": must be", IncidentPages.CheckTimes(from, to), StringComparison.Ordinal);
}
