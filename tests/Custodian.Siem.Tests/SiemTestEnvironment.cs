using Custodian.Hosting;
using Custodian.Identity;
using Custodian.Ledger;
using Custodian.Monitoring;
using Custodian.Protection.Keys;
using Custodian.Siem.Export;
using Custodian.Siem.Ocsf;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Custodian.Siem.Tests;

/// <summary>A real data directory (SQLite, keyring, ledger) built with the server's own composition, deleted at dispose.</summary>
internal sealed class SiemTestEnvironment : IAsyncDisposable
{
    private readonly TempDirectory _dir;
    private readonly ServiceProvider _services;

    private SiemTestEnvironment(TempDirectory dir, ServiceProvider services)
    {
        _dir = dir;
        _services = services;
    }

    public string DataDirectory => _dir.Combine("data");

    public TempDirectory Directory => _dir;

    public IServiceProvider Services => _services;

    public IAccessLedger Ledger => _services.GetRequiredService<IAccessLedger>();

    public SqliteAccessLedger SqliteLedger => _services.GetRequiredService<SqliteAccessLedger>();

    public SiemExporter Exporter => _services.GetRequiredService<SiemExporter>();

    public SiemCursorStore Cursors => _services.GetRequiredService<SiemCursorStore>();

    public AlertStore Alerts => _services.GetRequiredService<AlertStore>();

    public OcsfMapper Mapper => _services.GetRequiredService<OcsfMapper>();

    /// <summary>The same FF1 tokenizer the server uses, for expected values.</summary>
    public Tokenizer Tokenizer => new(_services.GetRequiredService<ProtectionKeyring>());

    public static async Task<SiemTestEnvironment> CreateAsync()
    {
        var dir = new TempDirectory();
        var services = new ServiceCollection();
        services.AddLogging(l => l.AddFilter(_ => false));
        services.AddCustodianCore(new CustodianOptions { DataDirectory = dir.Combine("data"), PasswordIterations = 1000 }, TimeProvider.System);
        var env = new SiemTestEnvironment(dir, services.BuildServiceProvider());
        await CustodianComposition.InitialiseAsync(env._services);
        return env;
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        _dir.Dispose();
    }

    /// <summary>Appends entries durably, in order; returns their sequences.</summary>
    public async Task<IReadOnlyList<long>> AppendAsync(IReadOnlyList<AccessEntry> entries)
    {
        var committed = await SqliteLedger.AppendRangeAsync(entries);
        return [.. committed.Select(c => c.Sequence)];
    }

    /// <summary>A realistic mix of entries: reads, refusals and sign-ins (6005, 3002) and an administrator's staff change (6003).</summary>
    public static List<AccessEntry> Mixed(int count, DateTimeOffset start, int seed = 7)
    {
        var random = new Random(seed);
        AccessTask[] tasks =
        [
            AccessTask.Search, AccessTask.View, AccessTask.Unmask, AccessTask.Print, AccessTask.Download, AccessTask.ConsentRequest,
            AccessTask.SignIn, AccessTask.SignOut, AccessTask.Lockout, AccessTask.PasswordChange, AccessTask.Refused, AccessTask.StaffChanged,
        ];
        var list = new List<AccessEntry>(count);
        for (var i = 0; i < count; i++)
        {
            var task = tasks[i % tasks.Length];
            var reads = task.ReadsPersonalData() || task is AccessTask.ConsentRequest or AccessTask.Refused;
            var denied = task is AccessTask.Refused || (task is AccessTask.SignIn && i % 5 == 0);
            list.Add(new AccessEntry
            {
                Time = start.AddMilliseconds(i * 250),
                Task = task,
                Outcome = denied ? AccessOutcome.Denied : AccessOutcome.Allowed,
                Account = "C" + (1000 + (i % 7)).ToString(System.Globalization.CultureInfo.InvariantCulture),
                Role = StaffRole.Clerk,
                Terminal = "S001-counter-" + (1 + (i % 3)).ToString(System.Globalization.CultureInfo.InvariantCulture),
                Store = "S001",
                SourceIp = "10.1.2." + (1 + (i % 200)).ToString(System.Globalization.CultureInfo.InvariantCulture),
                Purpose = reads ? "plan-change" : null,
                Subjects = reads && !denied ? [SubscriberId.From(1 + random.NextInt64(long.MaxValue - 1))] : [],
                Fields = task is AccessTask.View or AccessTask.Unmask ? ["name", "phone", "rate-plan"] : [],
                UnmaskedFields = task is AccessTask.Unmask ? ["phone"] : [],
                ErrorCode = denied ? (task is AccessTask.SignIn ? "authentication-failed" : "purpose-required") : null,
                Target = task is AccessTask.StaffChanged ? "C1001" : null,
                Reason = task is AccessTask.Download ? "monthly reconciliation | store=S001 \\ ok\nline two" : null,
            });
        }

        return list;
    }
}
