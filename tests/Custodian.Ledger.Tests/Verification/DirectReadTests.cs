using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Custodian.Ledger.Tests.Verification;

/// <summary>
/// The verifier reads rows through direct calls into e_sqlite3 (<see cref="SqliteColumnReader"/>). They
/// must give exactly what SQLitePCL gives for the same rows, including columns of an unexpected storage
/// class (SQLite columns are dynamically typed, and a forged row may hold anything), and the verifier's
/// failures must stay where they were.
/// </summary>
public sealed class DirectReadTests
{
    [Fact]
    public async Task Direct_reads_equal_sqlitepcl_reads_for_every_storage_class()
    {
        await using var f = await CreateAsync();
        await f.ExecuteAsync("UPDATE ledger_entries SET time_ms = 1.5, account = x'00ff' WHERE seq = 1");
        await f.ExecuteAsync("UPDATE ledger_entries SET leaf_hash = 'not a hash', store = 42 WHERE seq = 2");
        await f.ExecuteAsync("UPDATE ledger_entries SET payload = x'', terminal = '' WHERE seq = 3");
        await f.ExecuteAsync("UPDATE ledger_entries SET payload = 'text, not a blob', account = NULL, erased_by = 9 WHERE seq = 4");

        await using var connection = (SqliteConnection)await f.Db.OpenAsync();
        var handle = connection.Handle!;
        Assert.Equal(raw.SQLITE_OK, raw.sqlite3_prepare_v2(handle, EntryChunk.Query, out var viaPcl));
        Assert.Equal(raw.SQLITE_OK, raw.sqlite3_prepare_v2(handle, EntryChunk.Query, out var viaDirect));
        using (viaPcl)
        using (viaDirect)
        {
            var direct = SqliteColumnReader.For(handle, viaDirect);
            Assert.NotNull(direct); // e_sqlite3 is the provider here, as in the product
            var expected = new EntryChunk();
            var actual = new EntryChunk();
            var pclDone = false;
            var directDone = false;
            Assert.True(expected.Fill(handle, viaPcl, null, ref pclDone));
            Assert.True(actual.Fill(handle, viaDirect, direct, ref directDone));
            Assert.Equal(6, expected.Count);
            Assert.Equal(expected.Count, actual.Count);
            Assert.True(pclDone);
            Assert.True(directDone);
            for (var r = 0; r < expected.Count; r++)
            {
                Assert.Equal(expected.Seq[r], actual.Seq[r]);
                for (var c = 0; c < EntryChunk.Columns; c++)
                {
                    Assert.Equal(expected.Type(r, c), actual.Type(r, c));
                }

                Assert.Equal(expected.Values(r), actual.Values(r));
            }

            // The forged values arrived with their own storage class.
            Assert.Equal(raw.SQLITE_FLOAT, actual.Type(1, EntryChunk.Time));
            Assert.Equal(1.5, actual.Values(1)[EntryChunk.Time]);
            Assert.Equal(new byte[] { 0x00, 0xFF }, actual.Values(1)[EntryChunk.Account]);
            Assert.Equal(raw.SQLITE_TEXT, actual.Type(2, EntryChunk.LeafHashColumn));
            Assert.Equal("42", actual.Values(2)[EntryChunk.Store]); // the column's TEXT affinity stores the number as text
            Assert.Equal(raw.SQLITE_BLOB, actual.Type(3, EntryChunk.Payload));
            Assert.True(actual.Bytes(3, EntryChunk.Payload).IsEmpty);
            Assert.Equal(string.Empty, actual.Values(3)[EntryChunk.Terminal]);
            Assert.Equal(raw.SQLITE_TEXT, actual.Type(4, EntryChunk.Payload));
            Assert.Equal("text, not a blob", actual.Values(4)[EntryChunk.Payload]);
            Assert.Equal(raw.SQLITE_NULL, actual.Type(4, EntryChunk.Account));
            Assert.Equal(DBNull.Value, actual.Values(4)[EntryChunk.Account]);
            Assert.Equal(9L, actual.Values(4)[EntryChunk.ErasedBy]);

            // A finished statement is not stepped again.
            Assert.False(actual.Fill(handle, viaDirect, direct, ref directDone));
            Assert.Equal(0, actual.Count);
        }
    }

    [Fact]
    public async Task Verifier_reads_directly_and_names_the_first_bad_entry()
    {
        await using var f = await CreateAsync();
        await using (var connection = (SqliteConnection)await f.Db.OpenAsync())
        {
            using var source = SqliteEntrySource.Prepare(connection);
            Assert.True(source.IsDirect);
        }

        var valid = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.True(valid.IsValid, valid.Message);
        Assert.Equal(6, valid.TreeSize);

        await f.ExecuteAsync("UPDATE ledger_entries SET payload = CAST(REPLACE(CAST(payload AS TEXT), 'S001', 'S002') AS BLOB) WHERE seq = 4");
        var result = await new LedgerVerifier(f.Db).VerifyAsync();
        Assert.False(result.IsValid);
        Assert.Equal(VerificationFailures.LeafHashMismatch, result.Reason);
        Assert.Equal(4, result.FirstBadSequence);
    }

    private static async Task<LedgerFixture> CreateAsync()
    {
        var f = await LedgerFixture.CreateAsync();
        await using var ledger = f.NewLedger();
        for (var i = 0; i < 6; i++)
        {
            await ledger.AppendAsync(LedgerFixture.Entry(i, 100 + i));
        }

        return f;
    }
}
