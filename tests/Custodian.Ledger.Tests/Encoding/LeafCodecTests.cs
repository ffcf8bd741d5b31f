using Custodian.Identity;

namespace Custodian.Ledger.Tests.Encoding;

public sealed class LeafCodecTests
{
    // Expected bytes and hash computed outside .NET (Python: json.loads checks the JSON; hashlib the leaf hash).
    private const string ExpectedJson =
        "{\"v\":1,\"time\":1709284530123,\"task\":\"unmask\",\"outcome\":\"allowed\",\"account\":\"C0042\",\"role\":\"store-manager\"," +
        "\"terminal\":\"T-17\",\"store\":\"S001\",\"ip\":\"10.1.2.3\",\"purpose\":\"in-store-service\",\"subjects\":[123456789012345,42]," +
        "\"fields\":[\"name\",\"phone\",\"rrn\"],\"unmasked\":[\"phone\"],\"reason\":\"고객 요청 \\\"확인\\\"\\n\\u001f\"}";

    private const string ExpectedLeafHash = "8e9d9fe2038c96653b82fdf2f6dc375090dea38e5c03b8ea027904c238feb517";

    internal static AccessEntry FullEntry() => new()
    {
        Time = new DateTimeOffset(2024, 3, 1, 18, 15, 30, 123, TimeSpan.FromHours(9)), // 09:15:30.123Z
        Task = AccessTask.Unmask,
        Outcome = AccessOutcome.Allowed,
        Account = "C0042",
        Role = StaffRole.StoreManager,
        Terminal = "T-17",
        Store = "S001",
        SourceIp = "10.1.2.3",
        Purpose = "in-store-service",
        Subjects = [new SubscriberId(123456789012345), new SubscriberId(42)],
        Fields = ["name", "phone", "rrn"],
        UnmaskedFields = ["phone"],
        Reason = "고객 요청 \"확인\"\n\u001f",
    };

    [Fact]
    public void Encodes_exact_canonical_bytes()
    {
        var bytes = LeafCodec.Encode(FullEntry());
        Assert.Equal(ExpectedJson, System.Text.Encoding.UTF8.GetString(bytes));
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(ExpectedJson), bytes);
        Assert.Equal(ExpectedLeafHash, Convert.ToHexStringLower(MerkleTree.HashLeaf(bytes)));
    }

    [Fact]
    public void Round_trips_every_field()
    {
        var entry = FullEntry();
        var decoded = LeafCodec.Decode(LeafCodec.Encode(entry));

        Assert.Equal(entry.Time, decoded.Time);
        Assert.Equal(TimeSpan.Zero, decoded.Time.Offset);
        Assert.Equal(entry.Task, decoded.Task);
        Assert.Equal(entry.Outcome, decoded.Outcome);
        Assert.Equal(entry.Account, decoded.Account);
        Assert.Equal(entry.Role, decoded.Role);
        Assert.Equal(entry.Terminal, decoded.Terminal);
        Assert.Equal(entry.Store, decoded.Store);
        Assert.Equal(entry.SourceIp, decoded.SourceIp);
        Assert.Equal(entry.Purpose, decoded.Purpose);
        Assert.Equal(entry.Subjects, decoded.Subjects);
        Assert.Equal(entry.Fields, decoded.Fields);
        Assert.Equal(entry.UnmaskedFields, decoded.UnmaskedFields);
        Assert.Null(decoded.ErrorCode);
        Assert.Null(decoded.Target);
        Assert.Equal(entry.Reason, decoded.Reason);
        Assert.Equal(LeafCodec.Encode(entry), LeafCodec.Encode(decoded));
    }

    [Fact]
    public void Omits_nulls_and_empty_lists()
    {
        var entry = new AccessEntry
        {
            Time = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000),
            Task = AccessTask.DeviceRefused,
            Outcome = AccessOutcome.Denied,
            ErrorCode = "device-certificate-required",
            SourceIp = "2001:db8::1",
        };

        var json = System.Text.Encoding.UTF8.GetString(LeafCodec.Encode(entry));
        Assert.Equal("{\"v\":1,\"time\":1700000000000,\"task\":\"device-refused\",\"outcome\":\"denied\",\"ip\":\"2001:db8::1\",\"error\":\"device-certificate-required\"}", json);

        var decoded = LeafCodec.Decode(System.Text.Encoding.UTF8.GetBytes(json));
        Assert.Empty(decoded.Subjects);
        Assert.Empty(decoded.Fields);
        Assert.Null(decoded.Role);
        Assert.Equal("device-certificate-required", decoded.ErrorCode);
    }

    [Fact]
    public void Drops_sub_millisecond_ticks_and_keeps_the_instant()
    {
        var time = new DateTimeOffset(2024, 3, 1, 9, 15, 30, TimeSpan.Zero).AddTicks(1_234_567);
        var entry = new AccessEntry { Time = time, Task = AccessTask.SignIn, Outcome = AccessOutcome.Allowed, Target = "acct.1" };
        var decoded = LeafCodec.Decode(LeafCodec.Encode(entry));
        Assert.Equal(new DateTimeOffset(2024, 3, 1, 9, 15, 30, 123, TimeSpan.Zero), decoded.Time);
    }

    [Theory]
    [InlineData("\u0000", "\\u0000")]
    [InlineData("\u0008\u0009\u000a\u000c\u000d", "\\b\\t\\n\\f\\r")]
    [InlineData("a\\b", "a\\\\b")]
    [InlineData("</script>&'+\u007f\u2028", "</script>&'+\u007f\u2028")]
    [InlineData("😀", "😀")]
    public void Escapes_strings_as_rfc8785(string reason, string expectedInner)
    {
        var entry = new AccessEntry { Time = DateTimeOffset.UnixEpoch, Task = AccessTask.Suspended, Outcome = AccessOutcome.Allowed, Reason = reason };
        var json = System.Text.Encoding.UTF8.GetString(LeafCodec.Encode(entry));
        Assert.Equal("{\"v\":1,\"time\":0,\"task\":\"suspended\",\"outcome\":\"allowed\",\"reason\":\"" + expectedInner + "\"}", json);
        Assert.Equal(reason, LeafCodec.Decode(LeafCodec.Encode(entry)).Reason);
    }

    [Fact]
    public void Every_task_and_role_round_trips_by_name()
    {
        foreach (var task in Enum.GetValues<AccessTask>())
        {
            foreach (var role in Enum.GetValues<StaffRole>())
            {
                var entry = new AccessEntry { Time = DateTimeOffset.UnixEpoch, Task = task, Outcome = AccessOutcome.Denied, Role = role };
                var bytes = LeafCodec.Encode(entry);
                Assert.Contains($"\"task\":\"{task.ToName()}\"", System.Text.Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
                var decoded = LeafCodec.Decode(bytes);
                Assert.Equal(task, decoded.Task);
                Assert.Equal(role, decoded.Role);
            }
        }
    }

    [Fact]
    public void Rejects_entries_that_cannot_be_encoded()
    {
        var ok = new AccessEntry { Time = DateTimeOffset.UnixEpoch, Task = AccessTask.View, Outcome = AccessOutcome.Allowed };
        Assert.Throws<ArgumentOutOfRangeException>(() => LeafCodec.Encode(ok with { Task = (AccessTask)999 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => LeafCodec.Encode(ok with { Outcome = (AccessOutcome)0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => LeafCodec.Encode(ok with { Role = (StaffRole)9 }));
        Assert.Throws<ArgumentException>(() => LeafCodec.Encode(ok with { Reason = new string('x', 501) }));
        Assert.Throws<ArgumentException>(() => LeafCodec.Encode(ok with { Purpose = "bad\ud800" }));
        Assert.Throws<ArgumentException>(() => LeafCodec.Encode(ok with { Subjects = [new SubscriberId(0)] }));
        Assert.Equal(500, LeafCodec.Decode(LeafCodec.Encode(ok with { Reason = new string('x', 500) })).Reason!.Length);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("{\"v\":1,\"time\":0,\"task\":\"view\"")]
    [InlineData("{\"v\":2,\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\"}")]
    [InlineData("{\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\"}")]
    [InlineData("{\"v\":1,\"task\":\"view\",\"outcome\":\"allowed\"}")]
    [InlineData("{\"v\":1,\"time\":0,\"task\":\"peek\",\"outcome\":\"allowed\"}")]
    [InlineData("{\"v\":1,\"time\":0,\"task\":\"view\",\"outcome\":\"maybe\"}")]
    [InlineData("{\"v\":1,\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\",\"role\":\"boss\"}")]
    [InlineData("{\"v\":1,\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\",\"name\":\"x\"}")]
    [InlineData("{\"v\":1,\"time\":0,\"time\":1,\"task\":\"view\",\"outcome\":\"allowed\"}")]
    [InlineData("{\"v\":1,\"time\":\"0\",\"task\":\"view\",\"outcome\":\"allowed\"}")]
    [InlineData("{\"v\":1,\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\",\"subjects\":[0]}")]
    [InlineData("{\"v\":1,\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\",\"subjects\":[\"1\"]}")]
    [InlineData("{\"v\":1,\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\",\"fields\":[1]}")]
    [InlineData("{\"v\":1,\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\",\"account\":7}")]
    [InlineData("{\"v\":1,\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\"}{}")]
    [InlineData("{\"v\":1,\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\",\"fields\":[[\"a\"]]}")]
    [InlineData("{\"v\":1,\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\",\"signals\":{}}")]
    [InlineData("{\"v\":1,\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\",\"signals\":[]}")]
    [InlineData("{\"v\":1,\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\",\"signals\":{\"away\":false}}")]
    [InlineData("{\"v\":1,\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\",\"signals\":{\"away\":1}}")]
    [InlineData("{\"v\":1,\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\",\"signals\":{\"away\":true,\"away\":true}}")]
    [InlineData("{\"v\":1,\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\",\"signals\":{\"phone\":true}}")]
    [InlineData("{\"v\":1,\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\",\"signals\":{\"block\":\"0123456789ABCDEF\"}}")]
    [InlineData("{\"v\":1,\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\",\"signals\":{\"block\":\"0123456789abcde\"}}")]
    [InlineData("{\"v\":1,\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\",\"signals\":{\"block\":12345678901234567}}")]
    [InlineData("{\"v\":1,\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\",\"signals\":{\"away\":true},\"signals\":{\"away\":true}}")]
    public void Rejects_malformed_payloads_with_FormatException(string json)
    {
        Assert.Throws<FormatException>(() => LeafCodec.Decode(System.Text.Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void Decode_errors_do_not_echo_values()
    {
        var ex = Assert.Throws<FormatException>(() => LeafCodec.Decode("{\"v\":1,\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\",\"010-1234-5678\":1}"u8));
        Assert.DoesNotContain("010-1234-5678", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<FormatException>(() => LeafCodec.Decode("{\"v\":1,\"time\":0,\"task\":\"711231-1234567\",\"outcome\":\"allowed\"}"u8));
        Assert.DoesNotContain("711231", ex.Message, StringComparison.Ordinal);
    }

    // Computed outside .NET as ExpectedJson above.
    private const string ExpectedSignalsJson =
        "{\"v\":1,\"time\":1709284530123,\"task\":\"search\",\"outcome\":\"allowed\",\"account\":\"C0042\",\"role\":\"clerk\",\"terminal\":\"T-17\"," +
        "\"store\":\"S001\",\"subjects\":[42],\"fields\":[\"name\",\"phone\"]," +
        "\"signals\":{\"block\":\"0123456789abcdef\",\"ending\":true,\"away\":true,\"household\":true}}";

    private static AccessEntry SignalsEntry() => new()
    {
        Time = DateTimeOffset.FromUnixTimeMilliseconds(1709284530123),
        Task = AccessTask.Search,
        Outcome = AccessOutcome.Allowed,
        Account = "C0042",
        Role = StaffRole.Clerk,
        Terminal = "T-17",
        Store = "S001",
        Subjects = [new SubscriberId(42)],
        Fields = ["name", "phone"],
        Signals = new AccessSignals { NumberBlock = "0123456789abcdef", ContractEnding = true, OtherArea = true, SameHousehold = true },
    };

    [Fact]
    public void Encodes_signals_last_in_canonical_order()
    {
        var bytes = LeafCodec.Encode(SignalsEntry());
        Assert.Equal(ExpectedSignalsJson, System.Text.Encoding.UTF8.GetString(bytes));
        Assert.Equal("2c8072397030e7c383b26d8b25d65597271fa366b83fcaa2ee0c477bcf35fdf9", Convert.ToHexStringLower(MerkleTree.HashLeaf(bytes)));

        var decoded = LeafCodec.Decode(bytes);
        Assert.Equal(SignalsEntry().Signals, decoded.Signals);
        Assert.Equal(bytes, LeafCodec.Encode(decoded));
    }

    [Theory]
    [InlineData(null, false, true, false, "{\"away\":true}")]
    [InlineData(null, true, false, true, "{\"ending\":true,\"household\":true}")]
    [InlineData("ffffffffffffffff", false, false, true, "{\"block\":\"ffffffffffffffff\",\"household\":true}")]
    [InlineData("0000000000000000", false, false, false, "{\"block\":\"0000000000000000\"}")]
    public void Writes_only_the_signals_that_are_set(string? block, bool ending, bool away, bool household, string expected)
    {
        var entry = new AccessEntry
        {
            Time = DateTimeOffset.UnixEpoch,
            Task = AccessTask.View,
            Outcome = AccessOutcome.Allowed,
            Signals = new AccessSignals { NumberBlock = block, ContractEnding = ending, OtherArea = away, SameHousehold = household },
        };
        var bytes = LeafCodec.Encode(entry);
        Assert.Equal("{\"v\":1,\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\",\"signals\":" + expected + "}", System.Text.Encoding.UTF8.GetString(bytes));
        Assert.Equal(entry.Signals, LeafCodec.Decode(bytes).Signals);
    }

    [Fact]
    public void Empty_signals_encode_as_no_signals_and_decode_as_null()
    {
        var plain = new AccessEntry { Time = DateTimeOffset.UnixEpoch, Task = AccessTask.View, Outcome = AccessOutcome.Allowed };
        var bytes = LeafCodec.Encode(plain with { Signals = new AccessSignals() });
        Assert.Equal(LeafCodec.Encode(plain), bytes);
        Assert.Equal("{\"v\":1,\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\"}", System.Text.Encoding.UTF8.GetString(bytes));
        Assert.Null(LeafCodec.Decode(bytes).Signals);
        Assert.True(new AccessSignals().IsEmpty);
    }

    [Theory]
    [InlineData("0123456789ABCDEF")]
    [InlineData("0123456789abcde")]
    [InlineData("0123456789abcdef0")]
    [InlineData("0123456789abcdeg")]
    [InlineData("")]
    public void Refuses_to_encode_a_malformed_number_block(string block)
    {
        var entry = new AccessEntry { Time = DateTimeOffset.UnixEpoch, Task = AccessTask.Search, Outcome = AccessOutcome.Allowed, Signals = new AccessSignals { NumberBlock = block } };
        var ex = Assert.Throws<ArgumentException>(() => LeafCodec.Encode(entry));
        Assert.Equal("The signal 'block' must be 16 lowercase hexadecimal characters. (Parameter 'entry')", ex.Message);
    }

    [Fact]
    public void Decodes_signal_members_in_another_order_to_the_same_signals()
    {
        var decoded = LeafCodec.Decode("{\"v\":1,\"time\":0,\"task\":\"view\",\"outcome\":\"allowed\",\"signals\":{\"household\":true,\"ending\":true}}"u8);
        Assert.Equal(new AccessSignals { ContractEnding = true, SameHousehold = true }, decoded.Signals);
    }
}
