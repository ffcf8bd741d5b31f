using System.Globalization;
using Custodian.Identity;
using Custodian.Protection.Keys;
using Custodian.Protection.Subscribers;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;

namespace Custodian.Tests.Backends;

/// <summary>
/// <c>custodian audit-storage</c> on both backends, run as its own process with the server's environment: clean after
/// import and lookups, and a phone number and an RRN written in clear into a table are found — on SQLite in the database
/// file, on PostgreSQL by reading every table's values through SQL, each finding naming table, column and row.
/// </summary>
public sealed class AuditStorageParityTests
{
    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task Audit_storage_is_clean_and_then_finds_a_phone_number_and_an_rrn_stored_in_clear_in_a_table(TestBackend backend)
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 20, backend: backend);
        var db = host.Get<CustodianDatabase>();
        var environment = backend == TestBackend.Postgres
            ? new Dictionary<string, string> { ["Custodian__Storage"] = host.Get<StorageSettings>().ConnectionString! }
            : [];
        var data = host.Directory.FullName;

        var clean = await CliProcess.RunAsync(environment, "audit-storage", "--data", data);
        Assert.Equal(0, clean.Exit);
        Assert.Contains(backend == TestBackend.Postgres ? " PostgreSQL tables (" : " files (", clean.Output, StringComparison.Ordinal);
        Assert.Contains("for the RRNs and phone numbers of 20 subscribers: 0 findings.", clean.Output, StringComparison.Ordinal);

        // What a careless integration might do: keep a note and a raw copy beside the protected tables.
        var subscriber = host.Population[7];
        var note = "looked up " + subscriber.Phone;
        await using (var connection = await db.OpenAsync())
        {
            await using (var create = connection.Command(db.Dialect.TranslateDdl("CREATE TABLE leak_test (note TEXT, raw BLOB)")))
            {
                await create.ExecuteNonQueryAsync();
            }

            await using var insert = connection.Command("INSERT INTO leak_test (note, raw) VALUES (@note, @raw)", ("@note", note), ("@raw", System.Text.Encoding.ASCII.GetBytes(subscriber.Rrn)));
            await insert.ExecuteNonQueryAsync();
        }

        var found = await CliProcess.RunAsync(environment, "audit-storage", "--data", data);
        Assert.Equal(3, found.Exit);
        Assert.DoesNotContain(subscriber.Rrn, found.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(subscriber.Phone, found.Output, StringComparison.Ordinal);
        if (backend == TestBackend.Postgres)
        {
            var lines = found.Output.Split('\n');
            Assert.Contains($"FOUND phone at offset {note.AsSpan().IndexOfAnyInRange('0', '9')} in {db.Path}: table leak_test, column note, row (0,1)", lines);
            Assert.Contains($"FOUND rrn at offset 0 in {db.Path}: table leak_test, column raw, row (0,1)", lines);
        }
        else
        {
            Assert.Contains("FOUND phone at offset ", found.Output, StringComparison.Ordinal);
            Assert.Contains("FOUND rrn at offset ", found.Output, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    public async Task Audit_storage_does_not_read_a_phone_number_into_an_integer_subscriber_id_holding_its_digits(TestBackend backend)
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 20, backend: backend);
        var db = host.Get<CustodianDatabase>();
        var environment = backend == TestBackend.Postgres
            ? new Dictionary<string, string> { ["Custodian__Storage"] = host.Get<StorageSettings>().ConnectionString! }
            : [];

        // A random 63-bit id like 1673401062205624644 holds 01062205624: give subscriber 7 an id whose decimal form holds
        // its own national phone number, its fields re-encrypted for the new id (the id is their associated data).
        var subscriber = host.Population[7];
        Assert.Matches(@"^\+8210[0-9]{8}$", subscriber.Phone);
        var digits = "0" + subscriber.Phone[3..];
        var newId = long.Parse("16734" + digits + "644", NumberStyles.None, CultureInfo.InvariantCulture);
        Assert.Contains(digits, newId.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var cipher = new FieldCipher(host.Get<ProtectionKeyring>());
        await using (var connection = await db.OpenAsync())
        {
            var rows = new List<(long Id, byte[] Name, byte[] Rrn, byte[] Phone, byte[] Address)>();
            await using (var select = connection.Command("SELECT id, name_ct, rrn_ct, phone_ct, address_ct FROM subscribers"))
            await using (var reader = await select.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    rows.Add((reader.GetInt64(0), (byte[])reader.GetValue(1), (byte[])reader.GetValue(2), (byte[])reader.GetValue(3), (byte[])reader.GetValue(4)));
                }
            }

            var row = Assert.Single(rows, r => cipher.DecryptString(new SubscriberId(r.Id), SubscriberFields.Phone, r.Phone) == subscriber.Phone);
            var (oldId, id) = (new SubscriberId(row.Id), new SubscriberId(newId));
            byte[] Reseal(string field, byte[] ciphertext) => cipher.EncryptString(id, field, cipher.DecryptString(oldId, field, ciphertext));
            await using var update = connection.Command(
                "UPDATE subscribers SET id = @id, name_ct = @n, rrn_ct = @r, phone_ct = @p, address_ct = @a WHERE id = @old",
                ("@id", newId),
                ("@n", Reseal(SubscriberFields.Name, row.Name)),
                ("@r", Reseal(SubscriberFields.Rrn, row.Rrn)),
                ("@p", Reseal(SubscriberFields.Phone, row.Phone)),
                ("@a", Reseal(SubscriberFields.Address, row.Address)),
                ("@old", row.Id));
            Assert.Equal(1, await update.ExecuteNonQueryAsync());
        }

        var clean = await CliProcess.RunAsync(environment, "audit-storage", "--data", host.Directory.FullName);
        Assert.Equal([], clean.Output.Split('\n').Where(line => line.StartsWith("FOUND", StringComparison.Ordinal)));
        Assert.Contains("for the RRNs and phone numbers of 20 subscribers: 0 findings.", clean.Output, StringComparison.Ordinal);
        Assert.Equal(0, clean.Exit);
    }
}
