using Custodian.Identity;
using Custodian.Protection.Import;
using Custodian.Protection.Sample;
using Custodian.Storage;

namespace Custodian.Protection.Tests.Support;

/// <summary>Imports a generated population and lists what was stored.</summary>
internal static class Population
{
    public static async Task<List<SampleSubscriber>> ImportAsync(TestEnvironment env, int count, int seed = 7)
    {
        var people = new SampleGenerator().Generate(count, 5, seed, TestEnvironment.Today).ToList();
        var csv = new StringWriter();
        SampleGenerator.WriteCsv(csv, people);
        var report = await new SubscriberImporter(env.Database, env.Keys, env.Time).ImportAsync(new StringReader(csv.ToString()));
        Assert.Equal(count, report.RowsImported);
        return people;
    }

    public static async Task<List<SubscriberId>> IdsAsync(CustodianDatabase database)
    {
        var ids = new List<SubscriberId>();
        await using var connection = await database.OpenAsync();
        await using var command = connection.Command("SELECT id FROM subscribers ORDER BY id");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(new SubscriberId(reader.GetInt64(0)));
        }

        return ids;
    }

    public static async Task<long> ScalarAsync(CustodianDatabase database, string sql)
    {
        await using var connection = await database.OpenAsync();
        await using var command = connection.Command(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>Reports on the caller's thread, at once (System.Progress posts to the thread pool).</summary>
internal sealed class InlineProgress<T>(Action<T> handler) : IProgress<T>
{
    public void Report(T value) => handler(value);
}
