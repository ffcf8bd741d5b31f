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

        Assert.Equal(["access-001", "access-002", "access-003", "access-004", "access-005", "access-006", "access-007"], migrations.Select(m => m.Id).ToArray());
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

    [Fact]
    public async Task Access_005_keeps_every_privileged_request_and_admits_only_the_withdrawn_status_beside_the_old_ones()
    {
        var dir = Directory.CreateTempSubdirectory("custodian-access005-");
        try
        {
            var db = new CustodianDatabase(Path.Combine(dir.FullName, "custodian.db"));
            var migrations = new AccessMigrations().Migrations.ToList();
            var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
            await db.MigrateAsync(migrations.Take(4), time);
            await using (var connection = await db.OpenAsync())
            {
                await using var insert = connection.Command(
                    "INSERT INTO privileged_requests (id, action, target, reason, requested_by, requested_ms, expires_ms, status, decided_by, decided_ms, decision_reason) VALUES " +
                    "('00000000000000a1', 'restore-clerk', 'C0001', 'r1', 'O0001', 1000, 2000, 'pending', NULL, NULL, NULL), " +
                    "('00000000000000a2', 'enroll-vdi-host', 'VDI/v', 'r2', 'O0001', 1001, 2001, 'rejected', 'O0002', 1500, 'no')");
                await insert.ExecuteNonQueryAsync();
            }

            await db.MigrateAsync(migrations, time);
            await using (var connection = await db.OpenAsync())
            {
                await using var select = connection.Command("SELECT id, action, target, reason, requested_by, requested_ms, expires_ms, status, decided_by, decided_ms, decision_reason FROM privileged_requests ORDER BY id");
                await using var reader = await select.ExecuteReaderAsync();
                var rows = new List<string>();
                while (await reader.ReadAsync())
                {
                    rows.Add(string.Join('|', Enumerable.Range(0, 11).Select(i => reader.IsDBNull(i) ? "null" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
                }

                Assert.Equal(["00000000000000a1|restore-clerk|C0001|r1|O0001|1000|2000|pending|null|null|null", "00000000000000a2|enroll-vdi-host|VDI/v|r2|O0001|1001|2001|rejected|O0002|1500|no"], rows);
                await using var withdrawn = connection.Command("UPDATE privileged_requests SET status = 'withdrawn' WHERE id = '00000000000000a1'");
                Assert.Equal(1, await withdrawn.ExecuteNonQueryAsync());
                await using var bogus = connection.Command("UPDATE privileged_requests SET status = 'cancelled' WHERE id = '00000000000000a2'");
                await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => bogus.ExecuteNonQueryAsync());
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }
}
