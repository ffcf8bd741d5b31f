using Custodian.Hosting;
using Custodian.Storage;
using Custodian.Tests.Infrastructure;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Custodian.Tests.Backends;

/// <summary>
/// The PostgreSQL server lock survives the loss of its session (docs/storage.md, "A server runs on the database"), on a real
/// PostgreSQL server with fake time: the lock's backend is terminated with <c>pg_terminate_backend</c> from another
/// session; at the next check the server takes the shared lock again and a verb's exclusive attempt is refused, or, when
/// a verb took the lock exclusively before that check, the server logs Critical and asks its host to stop.
/// </summary>
public sealed class ServerLockWatchTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_terminated_lock_session_is_noticed_at_the_next_check_and_the_shared_lock_taken_again()
    {
        await using var schema = await TestStorage.CreateSchemaAsync();
        await using var db = CustodianDatabase.ForPostgres(schema.Settings);
        await using var verbDb = CustodianDatabase.ForPostgres(schema.Settings);
        await using var held = (await DatabaseServerLock.HoldSharedAsync(db, CancellationToken.None))!;
        var first = Assert.Single(await LocksAsync(schema));
        Assert.Equal("ShareLock", first.Mode);
        Assert.Equal(ServerLockCheck.Held, await held.CheckAsync(CancellationToken.None)); // a live session: nothing done

        await TerminateAsync(schema, first.Pid);
        Assert.Empty(await LocksAsync(schema)); // the lock ended with its session: nothing held it until the check
        var time = new FakeTimeProvider();
        var lifetime = new RecordingLifetime();
        var logger = new FakeLogger<SharedServerLock>();
        held.Watch(time, Interval, lifetime, logger);

        time.Advance(Interval - TimeSpan.FromMilliseconds(1));
        Assert.Empty(await LocksAsync(schema)); // not yet due: nothing checked
        time.Advance(TimeSpan.FromMilliseconds(1));
        await WaitForAsync(() => logger.Collector.Count > 0);

        var again = Assert.Single(await LocksAsync(schema));
        Assert.Equal("ShareLock", again.Mode);
        Assert.NotEqual(first.Pid, again.Pid); // a new session
        var record = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal((5700, LogLevel.Warning), (record.Id.Id, record.Level));
        Assert.Equal(0, lifetime.StopCalls);
        Assert.False(held.LostToVerb);

        var (taken, handle) = await DatabaseServerLock.TryHoldExclusiveAsync(verbDb, CancellationToken.None);
        Assert.Equal((false, (IAsyncDisposable?)null), (taken, handle)); // 'masking adopt' is refused again

        await held.DisposeAsync();
        Assert.Empty(await LocksAsync(schema)); // released on stop
    }

    [Fact]
    public async Task A_verb_that_took_the_lock_after_the_session_was_lost_stops_the_server_at_the_next_check()
    {
        await using var schema = await TestStorage.CreateSchemaAsync();
        await using var db = CustodianDatabase.ForPostgres(schema.Settings);
        await using var verbDb = CustodianDatabase.ForPostgres(schema.Settings);
        await using var held = (await DatabaseServerLock.HoldSharedAsync(db, CancellationToken.None))!;
        var first = Assert.Single(await LocksAsync(schema));
        await TerminateAsync(schema, first.Pid);

        var (taken, verb) = await DatabaseServerLock.TryHoldExclusiveAsync(verbDb, CancellationToken.None);
        Assert.True(taken); // the verb believes that no server runs
        await using var verbHeld = verb!;
        var exclusive = Assert.Single(await LocksAsync(schema));
        Assert.Equal("ExclusiveLock", exclusive.Mode);

        var time = new FakeTimeProvider();
        var lifetime = new RecordingLifetime();
        var logger = new FakeLogger<SharedServerLock>();
        held.Watch(time, Interval, lifetime, logger);
        time.Advance(Interval);
        await lifetime.Stopped.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, lifetime.StopCalls);
        Assert.True(held.LostToVerb);
        var record = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal((5701, LogLevel.Critical), (record.Id.Id, record.Level));
        Assert.Equal(
            "The PostgreSQL session holding the server lock was gone and a verb that must not run beside a server (masking adopt) now holds the lock exclusively; the server is stopping (fail closed).",
            record.Message);
        Assert.Equal([(exclusive.Pid, "ExclusiveLock")], (await LocksAsync(schema)).Select(l => (l.Pid, l.Mode))); // the server holds nothing

        time.Advance(Interval); // the watch ended: no second stop, no second event
        await Task.Delay(200);
        Assert.Equal((1, 1), (lifetime.StopCalls, logger.Collector.Count));
        Assert.Equal(ServerLockCheck.TakenByVerb, await held.CheckAsync(CancellationToken.None));
    }

    [Fact]
    public async Task While_the_database_is_unreachable_each_check_logs_and_retries_and_the_lock_is_taken_again_once_it_is_back()
    {
        await using var schema = await TestStorage.CreateSchemaAsync();
        var server = new NpgsqlConnectionStringBuilder(schema.ConnectionString);
        await using var proxy = await TcpProxy.StartAsync(server.Host!, server.Port);
        var relayed = new NpgsqlConnectionStringBuilder(schema.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 3 }.ConnectionString;
        await using var db = CustodianDatabase.ForPostgres(StorageSettings.Parse(relayed).Value!);
        await using var held = (await DatabaseServerLock.HoldSharedAsync(db, CancellationToken.None))!;
        Assert.Single(await LocksAsync(schema));
        var time = new FakeTimeProvider();
        var lifetime = new RecordingLifetime();
        var logger = new FakeLogger<SharedServerLock>();
        held.Watch(time, Interval, lifetime, logger);

        proxy.Cut(); // the lock's session is reset by the network, and the database cannot be reached
        await WaitForAsync(() => LocksAsync(schema).GetAwaiter().GetResult().Count == 0); // PostgreSQL saw the session end
        time.Advance(Interval);
        await WaitForAsync(() => logger.Collector.Count == 1);
        time.Advance(Interval);
        await WaitForAsync(() => logger.Collector.Count == 2);
        Assert.Equal(
            [(5702, LogLevel.Error, "The PostgreSQL session holding the server lock was gone and the database cannot be reached to take it again; retried in 5 s.")],
            logger.Collector.GetSnapshot().Select(r => (r.Id.Id, r.Level, r.Message)).Distinct());
        Assert.Empty(await LocksAsync(schema));

        proxy.Restore();
        time.Advance(Interval);
        await WaitForAsync(() => logger.Collector.Count == 3);
        Assert.Equal((5700, LogLevel.Warning), (logger.Collector.LatestRecord.Id.Id, logger.Collector.LatestRecord.Level));
        Assert.Equal("ShareLock", Assert.Single(await LocksAsync(schema)).Mode);
        Assert.Equal(0, lifetime.StopCalls); // an outage alone never stops the server (its requests are refused with 503 meanwhile)
    }

    [Fact]
    public async Task After_a_network_cut_that_ended_every_session_the_lock_is_taken_again_at_the_first_check_not_tried_on_a_dead_pooled_connection()
    {
        await using var schema = await TestStorage.CreateSchemaAsync();
        var server = new NpgsqlConnectionStringBuilder(schema.ConnectionString);
        await using var proxy = await TcpProxy.StartAsync(server.Host!, server.Port);
        var relayed = new NpgsqlConnectionStringBuilder(schema.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 3 }.ConnectionString;
        await using var db = CustodianDatabase.ForPostgres(StorageSettings.Parse(relayed).Value!);
        await using var held = (await DatabaseServerLock.HoldSharedAsync(db, CancellationToken.None))!;
        var idle = new List<System.Data.Common.DbConnection>();
        for (var i = 0; i < 3; i++)
        {
            idle.Add(await db.OpenAsync()); // three sessions at once, then back to the pool, idle: as a serving server's pool is
        }

        foreach (var connection in idle)
        {
            await connection.DisposeAsync();
        }

        proxy.Cut(); // every session of the server ends, the idle pooled ones too
        await WaitForAsync(() => LocksAsync(schema).GetAwaiter().GetResult().Count == 0);
        proxy.Restore(); // the database is reachable again before the check

        var time = new FakeTimeProvider();
        var logger = new FakeLogger<SharedServerLock>();
        held.Watch(time, Interval, new RecordingLifetime(), logger);
        time.Advance(Interval);
        await WaitForAsync(() => logger.Collector.Count > 0);
        var record = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal((5700, LogLevel.Warning), (record.Id.Id, record.Level)); // not 5702: no dead pooled connection was tried
        Assert.Equal("ShareLock", Assert.Single(await LocksAsync(schema)).Mode);
    }

    /// <summary>The granted advisory locks on this schema's server-lock key, from any session.</summary>
    private static async Task<List<(int Pid, string Mode)>> LocksAsync(PostgresSchema schema)
    {
        await using var connection = new NpgsqlConnection(schema.ServerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT pid, mode FROM pg_locks WHERE locktype = 'advisory' AND classid = @class AND objid = hashtext(@schema)::oid AND objsubid = 2 AND granted ORDER BY pid",
            connection);
        command.Parameters.AddWithValue("class", (long)DatabaseServerLock.KeyClass);
        command.Parameters.AddWithValue("schema", schema.Name);
        var locks = new List<(int, string)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            locks.Add((reader.GetInt32(0), reader.GetString(1)));
        }

        return locks;
    }

    private static async Task TerminateAsync(PostgresSchema schema, int pid)
    {
        await using var connection = new NpgsqlConnection(schema.ServerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pg_terminate_backend(@pid, 10000)", connection); // waits until it has ended
        command.Parameters.AddWithValue("pid", pid);
        Assert.Equal(true, await command.ExecuteScalarAsync());
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "timed out waiting for the server lock's check");
            await Task.Delay(20);
        }
    }

    private sealed class RecordingLifetime : IHostApplicationLifetime
    {
        private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _stopCalls;

        public int StopCalls => Volatile.Read(ref _stopCalls);

        public Task Stopped => _stopped.Task;

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
            Interlocked.Increment(ref _stopCalls);
            _stopped.TrySetResult();
        }
    }
}
