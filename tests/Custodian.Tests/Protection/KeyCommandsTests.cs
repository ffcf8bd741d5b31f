using Custodian.Cli;
using Custodian.Protection.Keys;
using Custodian.Protection.Rotation;
using Custodian.Protection.Subscribers;
using Custodian.Storage;
using Custodian.Tests.Cli;
using Microsoft.Data.Sqlite;

namespace Custodian.Tests.Protection;

/// <summary><c>keys status</c>, <c>keys rotate</c> and <c>keys reencrypt</c> through the real command line.</summary>
[Collection(nameof(CliCollection))]
public sealed class KeyCommandsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("custodian-keys-");

    private string Data => Path.Combine(_dir.FullName, "data");

    [Fact]
    public async Task Rotate_then_reencrypt_moves_every_row_to_the_new_data_key_and_rebuilds_the_blind_index()
    {
        var csv = Path.Combine(_dir.FullName, "subscribers.csv");
        Assert.Equal(0, await CustodianCli.RunAsync(["sample", "--subscribers", "300", "--out", csv]));
        Assert.Equal(0, await CustodianCli.RunAsync(["init", "--data", Data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["import", csv, "--data", Data]));
        var phone = File.ReadLines(csv).Skip(1).First().Split(',')[2];

        Assert.Equal(0, await CustodianCli.RunAsync(["keys", "rotate", "--data", Data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["keys", "status", "--data", Data]));
        Assert.Equal(new Dictionary<uint, long> { [1] = 300 }, await CountsAsync());
        Assert.Equal(0, await CustodianCli.RunAsync(["keys", "reencrypt", "--data", Data]));
        Assert.Equal(new Dictionary<uint, long> { [4] = 300 }, await CountsAsync());

        Assert.Equal(0, await CustodianCli.RunAsync(["keys", "rotate", "--blind-index", "--data", Data]));
        Assert.Equal(0, await CustodianCli.RunAsync(["keys", "reencrypt", "--data", Data]));

        var keys = Keys();
        Assert.Equal([4u], keys.DataKeyIds.ToArray());
        Assert.Equal(5u, keys.BlindIndexKeyId);
        Assert.Null(keys.PendingBlindIndexKeyId);
        var e164 = Custodian.Protection.Validation.PhoneNumbers.NormalizeKoreanMobile(phone).Value!;
        Assert.Single(await new SubscriberVault(new CustodianDatabase(Path.Combine(Data, "custodian.db")), keys).FindByPhoneAsync(e164));
        Assert.Equal(0, await CustodianCli.RunAsync(["ledger", "verify", "--data", Data]));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            _dir.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private ProtectionKeyring Keys() => ProtectionKeyring.LoadOrCreate(Path.Combine(Data, "keys"), TimeProvider.System);

    private async Task<IReadOnlyDictionary<uint, long>> CountsAsync()
    {
        var counts = await new KeyRotation(new CustodianDatabase(Path.Combine(Data, "custodian.db")), Keys(), TimeProvider.System).CountRowsByKeyAsync();
        SqliteConnection.ClearAllPools();
        return counts;
    }
}
