using System.ComponentModel.DataAnnotations;

namespace Custodian.Ledger;

/// <summary>Settings of <see cref="SqliteAccessLedger"/>. Bind from configuration section <c>Ledger</c>; validated when the ledger is constructed.</summary>
public sealed class LedgerOptions
{
    /// <summary>Most entries written in one transaction (group commit).</summary>
    /// <value>1–65,536. The default is 2,048.</value>
    [Range(1, 65_536)]
    public int MaxBatchSize { get; set; } = 2_048;

    /// <summary>Most entries waiting for the writer; further callers of <c>AppendAsync</c> wait for room (back-pressure).</summary>
    /// <value>1–1,048,576. The default is 65,536.</value>
    [Range(1, 1_048_576)]
    public int QueueCapacity { get; set; } = 65_536;

    /// <summary>
    /// How long the writer waits for the database write lock (held by another process, e.g. the CLI)
    /// before the batch fails and its callers get <see cref="LedgerUnavailableException"/>. Rounded up to whole seconds.
    /// </summary>
    /// <value>1 second to 5 minutes. The default is 5 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often a background connection runs <c>PRAGMA wal_checkpoint(PASSIVE)</c>, copying committed
    /// WAL frames into the database file, so that the writer's own auto-checkpoint (every 16,384 pages,
    /// kept as the backstop that lets the WAL restart) finds little left to copy inside a commit
    /// (SQLite WAL, https://sqlite.org/wal.html, "Checkpointing"). Zero turns the background checkpoints off.
    /// </summary>
    /// <value>0 to 10 seconds. The default is 200 milliseconds.</value>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Throws when a value is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Naming the setting and its range.</exception>
    public void Validate()
    {
        if (MaxBatchSize is < 1 or > 65_536)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), "Custodian:Ledger:MaxBatchSize must be 1-65536.");
        }

        if (QueueCapacity is < 1 or > 1_048_576)
        {
            throw new ArgumentOutOfRangeException(nameof(QueueCapacity), "Custodian:Ledger:QueueCapacity must be 1-1048576.");
        }

        if (LockTimeout < TimeSpan.FromSeconds(1) || LockTimeout > TimeSpan.FromMinutes(5))
        {
            throw new ArgumentOutOfRangeException(nameof(LockTimeout), "Custodian:Ledger:LockTimeout must be 1 second to 5 minutes.");
        }

        if (CheckpointInterval < TimeSpan.Zero || CheckpointInterval > TimeSpan.FromSeconds(10))
        {
            throw new ArgumentOutOfRangeException(nameof(CheckpointInterval), "Custodian:Ledger:CheckpointInterval must be 0 to 10 seconds.");
        }
    }
}
