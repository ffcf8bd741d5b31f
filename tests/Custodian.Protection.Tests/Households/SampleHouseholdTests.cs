using Custodian.Protection.Households;
using Custodian.Protection.Sample;
using Xunit.Abstractions;

namespace Custodian.Protection.Tests.Households;

public sealed class SampleHouseholdTests(ITestOutputHelper output)
{
    private static readonly DateOnly Today = new(2026, 3, 1);

    [Fact]
    public void Households_share_surname_and_address_and_family_plans_are_groups_of_two_to_five_in_one_household()
    {
        var people = new SampleGenerator().Generate(10_000, 40, 1, Today).ToList();

        var households = people.GroupBy(p => (HouseholdIndex.Surname(p.Name), HouseholdIndex.NormalizeAddress(p.Address))).ToList();
        var shared = households.Where(h => h.Count() >= 2).Sum(h => h.Count());
        var plans = people.Where(p => p.FamilyPlan is not null).GroupBy(p => p.FamilyPlan!).ToList();
        output.WriteLine($"shared {shared}, plans {plans.Count}, members {plans.Sum(p => p.Count())}, largest {households.Max(h => h.Count())}");

        Assert.Equal(SharedExpected, shared);
        Assert.Equal(PlansExpected, plans.Count);
        Assert.Equal(PlanMembersExpected, plans.Sum(p => p.Count()));
        Assert.All(plans, plan =>
        {
            Assert.InRange(plan.Count(), 2, 5);
            Assert.Single(plan.Select(p => (HouseholdIndex.Surname(p.Name), p.Address)).Distinct());
            Assert.Matches("^FP-00000001-[0-9]{7}$", plan.Key);
            Assert.True(HouseholdIndex.IsFamilyPlanCode(plan.Key));
        });
        Assert.Equal(plans.Count, plans.Select(p => p.Key).Distinct().Count());
    }

    [Fact]
    public void Households_and_plans_are_the_same_for_a_seed_and_leave_the_other_fields_as_they_were()
    {
        var first = new SampleGenerator().Generate(2_000, 5, 42, Today).ToList();
        var second = new SampleGenerator().Generate(2_000, 5, 42, Today).ToList();
        var other = new SampleGenerator().Generate(2_000, 5, 43, Today).ToList();

        Assert.Equal(first, second);
        Assert.NotEqual(first.Select(p => p.FamilyPlan), other.Select(p => p.FamilyPlan));
        Assert.All(other.Where(p => p.FamilyPlan is not null), p => Assert.StartsWith("FP-0000002B-", p.FamilyPlan, StringComparison.Ordinal));
    }

    private const int SharedExpected = 3_717; // 37 %: the documented household sizes
    private const int PlansExpected = 723;
    private const int PlanMembersExpected = 1_935; // 19 %
}
