using Custodian.Access.Certificates;
using Custodian.Access.Sessions;
using Custodian.Access.Staff;
using Custodian.Access.Terminals;
using Custodian.Events;
using Custodian.Incidents;
using Custodian.Ledger;
using Custodian.Lookup;
using Custodian.Messaging;
using Custodian.Monitoring;
using Custodian.Protection;
using Custodian.Protection.Keys;
using Custodian.Protection.Masking;
using Custodian.Protection.Subscribers;
using Custodian.Review;
using Custodian.Siem;
using Custodian.Storage;
using Custodian.Transparency;

namespace Custodian.Hosting;

/// <summary>
/// Registers Custodian's services: one place used by the server, the CLI and the simulator so
/// they share the same storage, keys and ledger. The embedded default: SQLite under the data
/// directory and the in-process access event stream.
/// </summary>
public static class CustodianComposition
{
    /// <summary>Registers every capability for the data directory in <paramref name="options"/>.</summary>
    /// <param name="services">The collection to add to.</param>
    /// <param name="options">Validated options.</param>
    /// <param name="time">The clock; a fake one in simulation and tests.</param>
    public static IServiceCollection AddCustodianCore(this IServiceCollection services, CustodianOptions options, TimeProvider time)
    {
        var paths = DataPaths.For(options.DataDirectory);
        services.AddSingleton(options);
        services.AddSingleton(paths);
        services.AddSingleton(time);
        services.AddSingleton(_ => new CustodianDatabase(paths.Database));

        // Protection: the only path to plaintext.
        services.AddSingleton(sp => ProtectionKeyring.LoadOrCreate(paths.Keys, time));
        services.AddSingleton(new MaskingPolicy(options.Masking)); // the deployment's one policy
        services.AddSingleton<MaskingPolicyRecord>();
        services.AddSingleton<SubscriberVault>();
        services.AddSingleton<Protection.Import.SubscriberImporter>();
        services.AddSingleton<Protection.Rotation.KeyRotation>();
        services.AddSingleton<Protection.Audit.StorageAudit>();
        services.AddSingleton<Protection.Backup.SnapshotBackup>();

        // Access.
        services.AddSingleton(_ => CertificateAuthority.LoadOrCreate(paths.CertificateAuthority, time, Gateway.DeviceCertificateApi.CaOptions(options)));
        services.AddSingleton<TerminalRegistry>();
        services.AddSingleton(_ => SecretProtector.LoadOrCreate(paths.AccessSecretsKey));
        services.AddSingleton(new StaffOptions { PasswordIterations = options.PasswordIterations });
        services.AddSingleton<StaffDirectory>();
        services.AddSingleton(new Access.Sessions.SessionOptions());
        services.AddSingleton<SessionStore>();

        // Ledger and its event stream.
        services.AddSingleton<IAccessEventStream, InProcessAccessEventStream>();
        services.AddSingleton<SqliteAccessLedger>();
        services.AddSingleton<IAccessLedger>(sp => sp.GetRequiredService<SqliteAccessLedger>());
        services.AddSingleton<IAccessLedgerReader>(sp => sp.GetRequiredService<SqliteAccessLedger>());
        services.AddSingleton<ILedgerProofs>(sp => new LedgerProofs(sp.GetRequiredService<CustodianDatabase>(), sp.GetRequiredService<SqliteAccessLedger>()));
        services.AddLedgerCheckpoints(paths);
        services.AddSingleton<LedgerSubjectProjector>(); // subject index after commit (docs/ledger-format.md §3); run by LedgerSubjectProjectorService

        // Monitoring.
        services.AddSingleton(new MonitorOptions());
        services.AddSingleton<AlertStore>();
        services.AddSingleton<SuspensionRegistry>();
        services.AddSingleton(sp => Approvals.QuotaRaises.Honour(ActivatorUtilities.CreateInstance<DistinctSubjectsDetector>(sp), sp)); // hard limits, with officers' quota raises (docs/access.md §7)
        services.AddSingleton(_ => DetectionSettings.FromEnvironment()); // Custodian__Detection__* (docs/monitoring.md, "Settings")
        services.AddSingleton(sp => Approvals.DetectorSwitches.Honour(Monitoring.Detection.MonitorEngine.CreateDefault(sp.GetRequiredService<Monitoring.Detection.DetectionOptions>()), sp)); // detectors beside the hard limits (docs/monitoring.md); officers' switches (docs/access.md §7)
        services.AddSingleton<AccessMonitor>();

        // Messaging, lookup guard, transparency.
        services.AddSingleton<SmsBodyCipher>(); // outbox bodies encrypted at rest (docs/storage.md, "The SMS outbox")
        services.AddSingleton(SmsBodyCipher.Column); // ...so key rotation re-encrypts them and keeps their data keys
        services.AddSingleton<ISmsSender, OutboxSmsSender>();
        services.AddSingleton<AccessRecorder>();
        services.AddSingleton<Gateway.StaffSignIn>();
        services.AddSingleton(sp => new ConsentAttemptBudget(sp.GetRequiredService<CustodianDatabase>(), time)); // in the database: shared by every node, kept across restarts
        services.AddSingleton<StoreAreas>(); // store areas for the 'away' signal, cached (docs/ledger-format.md §1.1)
        services.AddSingleton<Access.IListedStoreCodes>(sp => sp.GetRequiredService<StoreAreas>()); // terminals and accounts follow the listed spellings (docs/access.md §6.3)
        services.AddSingleton<ReadSignals>(); // the signals of a read's ledger entry, computed before the append
        services.AddSingleton<Protection.Households.StaffHouseholds>(); // household: clerks' own subscriptions (docs/households.md)
        services.AddSingleton<HouseholdSignal>();
        services.AddSingleton<LookupGuard>();
        services.AddSingleton<PortalSignIn>();
        services.AddSingleton<AccessHistory>();
        services.AddCustodianReview(); // ledger retention and the access-log review (src/Custodian/Review)
        Portal.PortalServices.AddSubscriberPortal(services); // subscriber portal: inbox, notices, disclosure requests (src/Custodian/Portal)
        Approvals.ApprovalServiceCollectionExtensions.AddCustodianApprovals(services); // four-eyes workflow (docs/access.md §7)

        services.AddSingleton<IMigrationSource, ProtectionMigrations>();
        services.AddSingleton<IMigrationSource, Access.AccessMigrations>();
        services.AddSingleton<IMigrationSource, LedgerMigrations>();
        services.AddSingleton<IMigrationSource, MonitoringMigrations>();
        services.AddSingleton<IMigrationSource, MessagingMigrations>();
        services.AddSingleton<IMigrationSource, LookupMigrations>(); // the consent budget, shared by the deployment's nodes
        services.AddCustodianIncidents(); // incident response (src/Custodian/Incidents); after the ledger's migrations
        services.AddSingleton<IMigrationSource, DeploymentMigrations>(); // what the database says about its deployment (docs/storage.md)

        // SIEM export (works on FF1 subscriber tokens; the background export is added by the server when configured).
        services.AddSingleton<Siem.Ocsf.ISubjectTokenizer, Siem.FpeSubjectTokenizer>();
        services.AddSiemExport();
        services.AddStorageBackend(options); // SQLite (above) or PostgreSQL: replaces the database and the ledger (src/Custodian/Storage, docs/storage.md)
        Events.EventsComposition.AddEventsBackend(services, options); // embedded or NATS JetStream: the ledger becomes a projection of the stream (src/Custodian/Events, docs/events.md)
        return services;
    }

    /// <summary>
    /// <see cref="InitialiseAsync(IServiceProvider, bool, CancellationToken)"/> for a server or simulation: the masking
    /// policy is enforced.
    /// </summary>
    /// <param name="services">The composed services.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <remarks>
    /// Unlike the administrative verbs' overload, this one also records the configured event log of a data directory whose
    /// <c>storage.json</c> has none yet (a directory initialised before the event log was recorded; docs/events.md, "One
    /// event log per deployment"): the server's configuration is the deployment's.
    /// </remarks>
    public static Task<Access.Staff.NewAccount?> InitialiseAsync(IServiceProvider services, CancellationToken cancellationToken = default) =>
        InitialiseCoreAsync(services, enforceMaskingPolicy: true, recordEvents: true, cancellationToken);

    /// <summary>
    /// Creates the data directory, creates or loads the keyring and the CA, applies migrations, starts the event log, and
    /// on first start creates the first security-officer account; last, records the storage backend in the data
    /// directory (<see cref="StorageRecord"/>). A failed first start is undone by the caller (<see cref="FirstStart"/>). Returns the officer's credentials when they were
    /// just created (to be printed once), else null.
    /// </summary>
    /// <param name="services">The composed services.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <param name="enforceMaskingPolicy">
    /// True (servers, simulations): refuse to go on when the configured masking policy differs from the one this data
    /// directory shows (<see cref="MaskingPolicyRecord"/>). False for the administrative verbs, which show no subscriber data.
    /// </param>
    /// <exception cref="Problems.CustodianException">With <see cref="MaskingPolicyRecord.PolicyChanged"/> when the policy changed.</exception>
    /// <remarks>The event log is recorded (<see cref="EventLogRecord"/>) only on a first start; an existing directory's record is completed by the next server start.</remarks>
    public static Task<Access.Staff.NewAccount?> InitialiseAsync(IServiceProvider services, bool enforceMaskingPolicy, CancellationToken cancellationToken = default) =>
        InitialiseCoreAsync(services, enforceMaskingPolicy, recordEvents: false, cancellationToken);

    /// <summary>
    /// <see cref="InitialiseAsync(IServiceProvider, bool, CancellationToken)"/> for a verb that only reads the ledger
    /// (<c>ledger verify</c>): the JetStream event log is not started, so no projector writes the tables while they are
    /// verified and compared with the stream. An append (only the first officer's, on a first start) still starts it.
    /// </summary>
    internal static Task<Access.Staff.NewAccount?> InitialiseWithoutEventLogAsync(IServiceProvider services, CancellationToken cancellationToken = default) =>
        InitialiseCoreAsync(services, enforceMaskingPolicy: false, recordEvents: false, cancellationToken, startEvents: false);

    private static async Task<Access.Staff.NewAccount?> InitialiseCoreAsync(IServiceProvider services, bool enforceMaskingPolicy, bool recordEvents, CancellationToken cancellationToken, bool startEvents = true)
    {
        var paths = services.GetRequiredService<DataPaths>();
        paths.EnsureCreated();
        var db = services.GetRequiredService<CustodianDatabase>();
        var time = services.GetRequiredService<TimeProvider>();
        if (!db.IsSqlite)
        {
            await db.CheckAvailableAsync(cancellationToken); // PostgreSQL: unreachable or refused stops the start in one line (docs/storage.md)
        }

        // A data directory that has neither its storage record nor its CA yet is new: this start creates its keys.
        var newDirectory = StorageRecord.Read(paths) is null && !(Directory.Exists(paths.CertificateAuthority) && Directory.EnumerateFileSystemEntries(paths.CertificateAuthority).Any());

        // Touch the key material so that first start creates it, not the first request; and before the database and the
        // event log, so that a bad master key stops the start before anything else is created or bound (docs/storage.md).
        _ = services.GetRequiredService<ProtectionKeyring>();
        _ = services.GetRequiredService<CertificateAuthority>();

        if (db.IsSqlite && !OperatingSystem.IsWindows() && !File.Exists(paths.Database))
        {
            // Created owner-only before SQLite opens it, so the -wal and -shm files SQLite creates next get mode 0600 too.
            using (new FileStream(paths.Database, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
            {
            }
        }

        await db.MigrateAsync(services.GetServices<IMigrationSource>().SelectMany(s => s.Migrations), time, cancellationToken);

        // PostgreSQL: the database is shared by the deployment's nodes and says which event log its ledger belongs to; a
        // start or verb configured for another one, or a new data directory with keys of its own, would write around the
        // deployment (docs/storage.md, "One database, one deployment"). Checked before anything is written.
        var options = services.GetRequiredService<CustodianOptions>();
        var configuredEvents = EventLogRecord.For(Events.EventsComposition.Resolve(options).Value!);
        EventLogRecord? databaseEvents = null;
        if (!db.IsSqlite)
        {
            databaseEvents = await DatabaseDeployment.ReadEventLogAsync(db, cancellationToken);
            if (databaseEvents?.Refusal(db, configuredEvents) is { } refusal)
            {
                throw new InvalidOperationException(refusal);
            }

            if (newDirectory && (await services.GetRequiredService<StaffDirectory>().ListAsync()).Any(a => a.Role == Identity.StaffRole.SecurityOfficer))
            {
                throw new InvalidOperationException(
                    $"the database {db.Path} already holds a deployment, and this data directory ({paths.Root}) is new, with keys of its own: make each node's data directory a copy of the deployment's first one (docs/events.md, \"Several API nodes\"); nothing was changed.");
            }
        }

        // An all-or-nothing import written beside a server whose process died midway is removed (docs/storage.md).
        await services.GetRequiredService<Protection.Import.SubscriberImporter>().RecoverAsync(cancellationToken);
        if (startEvents)
        {
            await Events.EventsComposition.StartAsync(services, cancellationToken); // JetStream: connect, ensure the stream, start the projector (docs/events.md)
        }

        if (db.IsSqlite && !OperatingSystem.IsWindows())
        {
            // Owner-only, like the directory; SQLite gives the -wal and -shm files the same mode.
            File.SetUnixFileMode(paths.Database, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        // One masking policy per data directory: the first start adopts the configured one; a different one
        // later is refused until adopted on purpose ('custodian masking adopt'). Administrative verbs skip the
        // check so that they, and the adoption itself, still run.
        if (enforceMaskingPolicy)
        {
            var masking = await services.GetRequiredService<MaskingPolicyRecord>().EnsureAsync(services.GetRequiredService<MaskingPolicy>(), cancellationToken);
            if (!masking.IsSuccess)
            {
                throw new Problems.CustodianException(masking.Error!);
            }
        }

        var staff = services.GetRequiredService<StaffDirectory>();
        var officers = (await staff.ListAsync()).Where(a => a.Role == Identity.StaffRole.SecurityOfficer).ToList();
        var record = StorageRecord.For(db.IsSqlite ? StorageSettings.Sqlite : StorageComposition.Resolve(options).Value!) with
        {
            Events = EventLogRecord.For(Events.EventsComposition.Resolve(options).Value!), // the event log too (docs/events.md)
        };
        if (officers.Count > 0)
        {
            if (!db.IsSqlite && databaseEvents is null && recordEvents)
            {
                // A database initialised before the record existed: the server's configuration is the deployment's, as for storage.json.
                await DatabaseDeployment.RecordEventLogAsync(db, configuredEvents, cancellationToken);
            }

            record.WriteIfMissing(paths, recordEvents); // a data directory initialised before the record existed gets it now; a server start adds the event log
            return null;
        }

        if (!db.IsSqlite && (await DatabaseDeployment.RecordEventLogAsync(db, configuredEvents, cancellationToken)).Refusal(db, configuredEvents) is { } raced)
        {
            throw new InvalidOperationException(raced); // another first start on this database recorded another event log first
        }

        var created = await staff.CreateAsync(FirstOfficerId, Identity.StaffRole.SecurityOfficer, null);
        if (!created.IsSuccess)
        {
            throw new InvalidOperationException(created.Error!.Message);
        }

        await services.GetRequiredService<IAccessLedger>().AppendAsync(
            new AccessEntry
            {
                Time = time.GetUtcNow(),
                Task = AccessTask.StaffCreated,
                Outcome = AccessOutcome.Allowed,
                Account = "system",
                Target = FirstOfficerId,
                Reason = "first start: initial security officer",
            },
            cancellationToken);
        record.WriteIfMissing(paths, recordEvents: true); // last: the data directory is initialised only when everything above succeeded (docs/storage.md)
        return created.Value;
    }

    /// <summary>Account ID of the security officer created on first start.</summary>
    public const string FirstOfficerId = "officer";
}
