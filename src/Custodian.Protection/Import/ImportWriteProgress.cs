namespace Custodian.Protection.Import;

/// <summary>
/// Progress of the write phase of an import beside a running server (<see cref="ImportConcurrency.BesideServer"/> on
/// SQLite), which follows the check of the whole file: the rows copied into <c>subscribers</c> so far, in committed
/// transactions, out of the rows that passed the check.
/// </summary>
/// <param name="RowsWritten">Rows committed so far (0 ≤ <paramref name="RowsWritten"/> ≤ <paramref name="RowsToWrite"/>, except
/// that a skip-bad-rows import stops short when a phone number became taken meanwhile).</param>
/// <param name="RowsToWrite">Rows that passed the check and are to be written (≥ 0).</param>
public readonly record struct ImportWriteProgress(long RowsWritten, long RowsToWrite);
