using Custodian.Messaging;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Custodian.Tests.Backends;

/// <summary>
/// Migration <c>messaging-003</c> on an outbox that already holds bodies in clear, on both backends: the rows are purged
/// (a migration is SQL only and holds no key to encrypt them; docs/storage.md, "The SMS outbox") and the table has the
/// encrypted column <c>body_ct</c> and no <c>body</c>.
/// </summary>
public sealed class OutboxMigrationTests
{
    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task Rows_written_in_clear_are_purged_and_the_body_column_is_replaced_by_the_ciphertext_column(TestBackend backend)
    {
        var directory = Directory.CreateTempSubdirectory("custodian-outbox-");
        PostgresSchema? schema = backend == TestBackend.Postgres ? await TestStorage.CreateSchemaAsync() : null;
        try
        {
            await using var database = schema is null ? new CustodianDatabase(Path.Combine(directory.FullName, "custodian.db")) : CustodianDatabase.ForPostgres(schema.Settings);
            var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 3, 1, 0, 0, TimeSpan.Zero));
            var migrations = new MessagingMigrations().Migrations.ToList();
            await database.MigrateAsync(migrations.TakeWhile(m => m.Id != "messaging-003"), time);
            await using (var connection = await database.OpenAsync())
            await using (var insert = connection.Command(
                "INSERT INTO sms_outbox (id, subscriber_id, kind, body, created_ms) VALUES ('0193', 7, 1, '[Custodian] 동의 코드 482913.', 1)"))
            {
                Assert.Equal(1, await insert.ExecuteNonQueryAsync());
            }

            await database.MigrateAsync(migrations, time);
            await database.MigrateAsync(migrations, time); // recorded: not applied twice

            await using (var connection = await database.OpenAsync())
            {
                await using (var count = connection.Command("SELECT COUNT(*) FROM sms_outbox"))
                {
                    Assert.Equal(0L, Convert.ToInt64(await count.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture));
                }

                await using var insert = connection.Command(
                    "INSERT INTO sms_outbox (id, subscriber_id, kind, body_ct, created_ms) VALUES ('0194', 7, 1, @b, 2)", ("@b", new byte[] { 1, 2, 3 }));
                Assert.Equal(1, await insert.ExecuteNonQueryAsync());
                await using var old = connection.Command("INSERT INTO sms_outbox (id, subscriber_id, kind, body, created_ms) VALUES ('0195', 7, 1, 'x', 3)");
                await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => old.ExecuteNonQueryAsync());
            }
        }
        finally
        {
            if (schema is not null)
            {
                await schema.DisposeAsync();
            }

            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }
}
