using Custodian.Access.Tests.Support;
using Custodian.Storage;

namespace Custodian.Access.Tests;

public sealed class AccessMigrationsTests
{
    [Fact]
    public async Task Migrations_are_prefixed_create_both_tables_and_apply_once()
    {
        using var env = await TestEnvironment.CreateAsync();
        var migrations = new AccessMigrations().Migrations.ToList();

        Assert.Equal(["access-001", "access-002", "access-003", "access-004"], migrations.Select(m => m.Id).ToArray());
        await env.Db.MigrateAsync(migrations, env.Time); // second time: nothing to do

        await using var connection = await env.Db.OpenAsync();
        await using var command = connection.Command("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('terminals', 'staff_accounts') ORDER BY name");
        await using var reader = await command.ExecuteReaderAsync();
        var tables = new List<string>();
        while (await reader.ReadAsync())
        {
            tables.Add(reader.GetString(0));
        }

        Assert.Equal(["staff_accounts", "terminals"], tables);
    }
}
