using Custodian.Lookup;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Lookup;

/// <summary><see cref="StoreAreas.FindCaseVariantAsync"/> on both backends: the listed spelling of a store code written in other letter case.</summary>
public sealed class StoreCaseVariantTests
{
    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))] // on SQLite and PostgreSQL (docs/storage.md)
    [Trait("Backend", "Both")]
    public async Task A_code_differing_only_in_letter_case_from_a_listed_store_gives_the_listed_spelling(TestBackend backend)
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 1, backend: backend);
        var stores = host.Get<StoreAreas>();
        Assert.True((await stores.ImportAsync(new StringReader("store,area\nS001,seoul-gangnam\nhq-B,seoul-mapo\n"))).Applied);

        Assert.Equal<IEnumerable<string?>>(
            ["S001", "hq-B", null, null, null],
            [await stores.FindCaseVariantAsync("s001"), await stores.FindCaseVariantAsync("HQ-b"), await stores.FindCaseVariantAsync("S001"), await stores.FindCaseVariantAsync("hq-B"), await stores.FindCaseVariantAsync("S002")]);
    }
}
