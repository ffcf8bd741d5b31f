using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Custodian.Identity;
using Custodian.Messaging;
using Custodian.Protection.Keys;
using Custodian.Protection.Rotation;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;
using Custodian.Tests.Lookup;
using Custodian.Tests.Transparency;

namespace Custodian.Tests.Messaging;

/// <summary>
/// The SMS outbox stores bodies encrypted (docs/storage.md, "The SMS outbox"): no consent or sign-in code and no body
/// text in the database (SQLite: the file and its WAL; PostgreSQL: the table's values), a body moved to another row
/// fails to decrypt, and key rotation re-encrypts the bodies before it retires the old data key.
/// </summary>
public sealed class OutboxEncryptionTests
{
    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    [Trait("Backend", "Both")] // each row names its backend; the PostgreSQL pass skips it (scripts/test.sh)
    public async Task No_consent_or_sign_in_code_is_stored_in_clear_and_the_outbox_reader_still_reads_them(TestBackend backend)
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 20, backend: backend);
        var (clerk, _, _) = await host.ClerkAsync("C0001");
        var subscriber = host.Population[4];
        var handle = await GuardedLookupTests.SearchAsync(clerk, subscriber.Phone);
        var beforeConsent = await StoredTextAsync(host); // what the database held before the code existed
        using (var consent = await clerk.PostAsJsonAsync($"/api/v1/subscribers/{handle}/consent", new { purpose = "identity-verification" }))
        {
            Assert.Equal(HttpStatusCode.OK, consent.StatusCode);
        }

        var consentCode = await GuardedLookupTests.ConsentCodeAsync(host, subscriber.Phone);
        var beforePortal = await StoredTextAsync(host);
        using var portal = await PortalTests.SignInAsync(host, host.Population[7].Phone);
        var portalCode = await PortalTests.PortalCodeAsync(host, host.Population[7].Phone);
        Assert.Matches("^[0-9]{6}$", consentCode);
        Assert.Matches("^[0-9]{6}$", portalCode);

        var outbox = (OutboxSmsSender)host.Get<ISmsSender>();
        var bodies = (await outbox.ReadAsync(null, null, 10)).Select(m => m.Body).ToList();
        Assert.Equal(2, bodies.Count);
        Assert.Contains(bodies, b => b.StartsWith($"[Custodian] 동의 코드 {consentCode}. 매장 S001", StringComparison.Ordinal));
        Assert.Contains(bodies, b => b.StartsWith($"[Custodian] 개인정보 이용내역 조회 인증번호 {portalCode} (5분간 유효)", StringComparison.Ordinal));

        var after = await StoredTextAsync(host);
        foreach (var needle in bodies.Concat(["[Custodian]", "동의 코드", "인증번호"]))
        {
            Assert.False(Holds(after, needle), $"the database holds a body fragment of length {needle.Length} in clear");
        }

        // Six digits anywhere in the bytes, unless they were already there before the code was issued (then they are
        // something else, e.g. part of a stored time or a hex ID, and prove nothing).
        Assert.False(Holds(after, consentCode) && !Holds(beforeConsent, consentCode), "the database holds the consent code");
        Assert.False(Holds(after, portalCode) && !Holds(beforePortal, portalCode), "the database holds the portal sign-in code");
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    [Trait("Backend", "Both")]
    public async Task A_body_moved_to_another_row_fails_to_decrypt(TestBackend backend)
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5, backend: backend);
        var sms = host.Get<ISmsSender>();
        var outbox = (OutboxSmsSender)sms;
        var a = await GuardedLookupTests.IdOf(host, host.Population[0].Phone);
        var b = await GuardedLookupTests.IdOf(host, host.Population[1].Phone);
        await sms.SendAsync(a, SmsKind.ConsentCode, "[Custodian] 동의 코드 482913.");
        host.Time.Advance(TimeSpan.FromSeconds(1));
        await sms.SendAsync(a, SmsKind.ConsentCode, "[Custodian] 동의 코드 111111.");
        host.Time.Advance(TimeSpan.FromSeconds(1));
        await sms.SendAsync(b, SmsKind.PortalCode, "[Custodian] 인증번호 222222.");
        var rows = await RowsAsync(host);
        Assert.Equal(3, rows.Count);
        var (first, second, third) = (rows[0], rows[1], rows[2]);
        Assert.Equal(["[Custodian] 동의 코드 111111.", "[Custodian] 동의 코드 482913."], (await outbox.ReadAsync(a, null, 10)).Select(m => m.Body));

        // The first body into the second row (same recipient, another id) and into the third (another recipient).
        await ExecuteAsync(host, "UPDATE sms_outbox SET body_ct = @b WHERE id = @id", ("@b", first.Body), ("@id", second.Id));
        await ExecuteAsync(host, "UPDATE sms_outbox SET body_ct = @b WHERE id = @id", ("@b", first.Body), ("@id", third.Id));

        await Assert.ThrowsAsync<AuthenticationTagMismatchException>(() => outbox.ReadAsync(a, null, 10));
        await Assert.ThrowsAsync<AuthenticationTagMismatchException>(() => outbox.ReadAsync(b, null, 10));
        var cipher = host.Get<SmsBodyCipher>();
        Assert.Throws<AuthenticationTagMismatchException>(() => cipher.Open(a, second.Id, first.Body));
        Assert.Throws<AuthenticationTagMismatchException>(() => cipher.Open(b, third.Id, first.Body));
        Assert.Throws<AuthenticationTagMismatchException>(() => cipher.Open(b, first.Id, first.Body)); // its id, another recipient
        Assert.Equal("[Custodian] 동의 코드 482913.", cipher.Open(a, first.Id, first.Body)); // still fine in its own row

        // 'custodian outbox list' (run in the server's process on its data directory): one line, exit 2, no body.
        var originalError = Console.Error;
        var captured = new StringWriter();
        Console.SetError(captured);
        try
        {
            Assert.Equal(2, await Custodian.Cli.CustodianCli.RunAsync(["outbox", "list", "--last", "3", "--data", host.Directory.FullName]));
        }
        finally
        {
            Console.SetError(originalError);
        }

        Assert.Equal(
            "error: an outbox message body failed to decrypt: it was altered, moved from another row, or is under a data key this keyring does not hold.",
            captured.ToString().Trim());
    }

    [Theory]
    [MemberData(nameof(TestStorage.Backends), MemberType = typeof(TestStorage))]
    [Trait("Backend", "Both")]
    public async Task Key_rotation_reencrypts_the_bodies_before_it_retires_the_old_data_key(TestBackend backend)
    {
        await using var host = await CustodianTestHost.StartAsync(subscribers: 5, backend: backend);
        var sms = host.Get<ISmsSender>();
        var outbox = (OutboxSmsSender)sms;
        var a = await GuardedLookupTests.IdOf(host, host.Population[0].Phone);
        await sms.SendAsync(a, SmsKind.ConsentCode, "[Custodian] 동의 코드 482913.");
        var keys = host.Get<ProtectionKeyring>();
        var old = keys.CurrentDataKeyId;
        Assert.Equal([old], (await RowsAsync(host)).Select(r => FieldCipher.KeyIdOf(r.Body)));

        var fresh = keys.RotateDataKey();
        host.Time.Advance(TimeSpan.FromSeconds(3)); // the retirement waits until the new key has been current for 2 s
        host.Time.Advance(TimeSpan.FromSeconds(1));
        await sms.SendAsync(a, SmsKind.PortalCode, "[Custodian] 인증번호 222222.");
        var report = await host.Get<KeyRotation>().ReencryptAsync();

        Assert.Equal([old], report.RetiredKeyIds);
        Assert.Equal([fresh, fresh], (await RowsAsync(host)).Select(r => FieldCipher.KeyIdOf(r.Body)));
        Assert.Equal(["[Custodian] 인증번호 222222.", "[Custodian] 동의 코드 482913."], (await outbox.ReadAsync(a, null, 10)).Select(m => m.Body));
    }

    /// <summary>The outbox's rows in time order: id and ciphertext.</summary>
    private static async Task<List<(string Id, byte[] Body)>> RowsAsync(CustodianTestHost host)
    {
        var rows = new List<(string, byte[])>();
        await using var connection = await host.Get<CustodianDatabase>().OpenAsync();
        await using var command = connection.Command("SELECT id, body_ct FROM sms_outbox ORDER BY created_ms, id");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetString(0), (byte[])reader.GetValue(1)));
        }

        return rows;
    }

    private static async Task ExecuteAsync(CustodianTestHost host, string sql, params (string, object?)[] parameters)
    {
        await using var connection = await host.Get<CustodianDatabase>().OpenAsync();
        await using var command = connection.Command(sql, parameters);
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }

    /// <summary>
    /// What the database stores, as text to search: on SQLite every file of the data directory (the database and its WAL)
    /// as Latin-1 and as UTF-8; on PostgreSQL every column of the outbox read through SQL, bytes as Latin-1 and UTF-8.
    /// </summary>
    private static async Task<string> StoredTextAsync(CustodianTestHost host)
    {
        var text = new StringBuilder();
        if (host.Backend == TestBackend.Sqlite)
        {
            Assert.Contains(Directory.EnumerateFiles(host.Directory.FullName), f => f.EndsWith("custodian.db-wal", StringComparison.Ordinal));
            foreach (var file in Directory.EnumerateFiles(host.Directory.FullName, "*", SearchOption.AllDirectories))
            {
                var bytes = await File.ReadAllBytesAsync(file);
                text.Append(Encoding.Latin1.GetString(bytes)).Append('\0').Append(Encoding.UTF8.GetString(bytes)).Append('\0');
            }

            return text.ToString();
        }

        await using var connection = await host.Get<CustodianDatabase>().OpenAsync();
        await using var command = connection.Command("SELECT * FROM sms_outbox");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            for (var i = 0; i < reader.FieldCount; i++)
            {
                var value = reader.GetValue(i);
                text.Append(value is byte[] bytes ? Encoding.Latin1.GetString(bytes) + "\0" + Encoding.UTF8.GetString(bytes) : Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)).Append('\0');
            }
        }

        return text.ToString();
    }

    private static bool Holds(string text, string needle) => text.Contains(needle, StringComparison.Ordinal);
}
