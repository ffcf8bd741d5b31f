using Xunit.Abstractions;

namespace Custodian.Tests.Crash;

/// <summary>
/// kill -9 of the real server while lookups are in flight (see <see cref="CrashRun"/> for what is
/// checked after every kill). The 20-kill run is long (<c>scripts/test.sh --long</c>); a 3-kill run is
/// in the default suite.
/// </summary>
[Collection(nameof(CrashCollection))]
public sealed class CrashTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Three_kills_during_lookups_lose_tear_and_duplicate_nothing()
    {
        await using var run = new CrashRun(kills: 3, seed: 3, output);
        await run.RunAsync();
    }

    [Fact]
    [Trait("Category", "Long")]
    public async Task Twenty_kills_during_lookups_lose_tear_and_duplicate_nothing()
    {
        await using var run = new CrashRun(kills: 20, seed: 20, output);
        await run.RunAsync();
    }
}

/// <summary>Crash runs start and kill server processes; they do not run beside each other.</summary>
[CollectionDefinition(nameof(CrashCollection), DisableParallelization = true)]
public sealed class CrashCollection;
