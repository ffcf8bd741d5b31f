using Custodian.Ledger;
using Custodian.Monitoring.Detection;
using Custodian.Monitoring.Evaluation;

namespace Custodian.Monitoring.Tests.Evaluation;

/// <summary>The evaluation's signals: the workload's number blocks and flags, the enumerator scenario, household snooping.</summary>
public sealed class SignalScenarioTests
{
    private static WorkloadOptions Short => new() { Days = 16, Clerks = 60, AttackDay = 9, Seed = 7 };

    [Fact]
    public void The_enumerator_is_stepped_up_by_the_number_block_rule_faster_than_by_not_found_searches_alone()
    {
        var result = Evaluator.Run(Short, Scenario.Enumerator);
        Assert.True(result.Contained);
        Assert.Equal((2, 0, 0), (result.ExposedMasked, result.ExposedUnmasked, result.FalseSuspensions));
        Assert.Equal(new TimeSpan(0, 6, 23), result.TimeToContainment);
        Assert.Equal(["enumeration"], result.AttackDetectors);

        // The same run with the block rule out of reach: only the not-found rule steps it up, later.
        var without = Evaluator.Run(Short, Scenario.Enumerator, new DetectionOptions { BlockSearchesAlert = 10_000 });
        Assert.True(without.Contained);
        Assert.True(without.TimeToContainment > result.TimeToContainment, $"{without.TimeToContainment} without the block rule");
    }

    [Fact]
    public void The_snooper_s_unserved_household_lookups_are_found_beside_the_watch_list()
    {
        var result = Evaluator.Run(Short, Scenario.Snooping);
        Assert.True(result.Contained);
        Assert.Equal(["watch-list", "household"], result.AttackDetectors);
        Assert.Equal((0, 0, TimeSpan.Zero), (result.ExposedUnmasked, result.FalseSuspensions, result.TimeToContainment!.Value));
    }

    [Fact]
    public void The_workload_sets_signals_as_documented_and_every_household_visit_is_served()
    {
        var workload = new Workload(Short, Scenario.Normal);
        long reads = 0, ending = 0, away = 0, searches = 0, withBlock = 0, household = 0, householdServed = 0;
        var pending = new Dictionary<(string, long), bool>();
        for (var d = 0; d < Short.Days; d++)
        {
            foreach (var r in workload.Day(d))
            {
                var e = r.Entry;
                if (e.Task == AccessTask.Search)
                {
                    searches++;
                    withBlock += e.Signals?.NumberBlock is { } b && AccessSignals.IsNumberBlock(b) ? 1 : 0;
                }

                if (e.Task.ReadsPersonalData() && e.Subjects.Count > 0)
                {
                    reads++;
                    ending += e.Signals?.ContractEnding == true ? 1 : 0;
                    away += e.Signals?.OtherArea == true ? 1 : 0;
                    if (e.Signals?.SameHousehold == true && e.Task == AccessTask.Search)
                    {
                        household++;
                        pending[(e.Account!, e.Subjects[0].Value)] = false;
                    }
                }

                if (e.Task == AccessTask.ServiceComplete && e.Subjects.Count > 0 && pending.TryGetValue((e.Account!, e.Subjects[0].Value), out var served) && !served)
                {
                    pending[(e.Account!, e.Subjects[0].Value)] = true;
                    householdServed++;
                }
            }
        }

        Assert.Equal(searches, withBlock); // every search carries its number's block, a mistype included
        Assert.InRange(100.0 * ending / reads, 8.5, 10.5); // 6 % of customers, 20 % of plan changes: about 9.5 %
        Assert.InRange(100.0 * away / reads, 8.5, 11.5); // the 10 % of customers from outside the store's area
        Assert.InRange(household, 1, 30); // about once per clerk in 60 working days: ~12 in 730 clerk-days
        Assert.Equal(household, householdServed);
    }

    [Fact]
    public void Number_blocks_are_16_hex_characters_equal_within_a_block_and_different_across()
    {
        Assert.Equal(Workload.BlockOf(12_345_600), Workload.BlockOf(12_345_699));
        Assert.NotEqual(Workload.BlockOf(12_345_699), Workload.BlockOf(12_345_700));
        Assert.True(AccessSignals.IsNumberBlock(Workload.BlockOf(0)));
        Assert.Equal(Workload.BlockOf(7), Workload.BlockOf(7)); // deterministic
    }
}
