using System.Globalization;
using Custodian.Identity;
using Custodian.Protection.Keys;
using Custodian.Protection.Subscribers;
using Custodian.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Custodian.Protection.Audit;

/// <summary>
/// Plaintext scan of storage: looks for any resident registration number or phone number of the
/// stored population in files — database files (including <c>-wal</c> and <c>-shm</c>), backups,
/// logs, exports. It decrypts the population's RRNs and phone numbers into memory (as numbers in hash
/// sets; nothing is written or logged) and streams every file once.
/// <para>
/// What counts as a match: a run of ASCII digits, in which single <c>-</c> or space separators between
/// digits are ignored, containing an RRN as 13 digits (<c>7112311234567</c>, <c>711231-1234567</c>) or a
/// phone number as E.164 digits (<c>+821012345678</c>, <c>821012345678</c>) or as a national number
/// (<c>01012345678</c>, <c>010-1234-5678</c>, <c>010 1234 5678</c>). Digits adjacent to other digits
/// (values packed side by side in a database page) are found too: every 10- to 13-digit window is
/// checked. UTF-16 text is not scanned. Findings name the file, the byte offset of the first digit and
/// the kind — never the value.
/// </para>
/// <para>Cost: one pass over each file (rolling decimal values per window length, one hash lookup per
/// digit and length); memory about 100 bytes per subscriber for the sets. Not thread-safe per call.</para>
/// </summary>
public sealed partial class StorageAudit
{
    /// <summary>Most findings listed in a report; further ones are only counted.</summary>
    public const int MaxReportedFindings = 10_000;

    private const int MinWindow = 10;
    private const int MaxWindow = 13;
    private static readonly long[] Modulus = [.. Enumerable.Range(0, MaxWindow + 1).Select(n => (long)Math.Pow(10, n))];

    private readonly CustodianDatabase _database;
    private readonly FieldCipher _cipher;
    private readonly ILogger _logger;

    /// <summary>Creates the audit.</summary>
    /// <param name="database">The database holding the population.</param>
    /// <param name="keys">The keyring (the population is decrypted in memory).</param>
    /// <param name="logger">Optional logger (events 3401–3409); counts and paths only.</param>
    public StorageAudit(CustodianDatabase database, ProtectionKeyring keys, ILogger<StorageAudit>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(keys);
        _database = database;
        _cipher = new FieldCipher(keys);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>Scans every file under <paramref name="paths"/> (files, or directories scanned recursively).</summary>
    /// <param name="paths">Files and directories; missing ones are reported in <see cref="StorageAuditReport.Missing"/>.</param>
    /// <param name="bytesScanned">Receives the running byte count after each 1 MiB read.</param>
    /// <param name="cancellationToken">Cancels the scan.</param>
    /// <returns>The report.</returns>
    /// <exception cref="System.Security.Cryptography.CryptographicException">When a stored field fails authentication while loading the population.</exception>
    public Task<StorageAuditReport> ScanAsync(IEnumerable<string> paths, IProgress<long>? bytesScanned = null, CancellationToken cancellationToken = default) =>
        ScanCoreAsync(paths, tables: false, bytesScanned, cancellationToken);

    private async Task<StorageAuditReport> ScanCoreAsync(IEnumerable<string> paths, bool tables, IProgress<long>? bytesScanned, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var population = await LoadPopulationAsync(cancellationToken);
        var findings = new List<PlaintextFinding>();
        var missing = new List<string>();
        var unreadable = new List<string>();
        long total = 0, bytes = 0;
        var files = 0;
        var buffer = new byte[1 << 20];
        foreach (var path in paths.Select(Path.GetFullPath).Distinct(StringComparer.Ordinal))
        {
            IEnumerable<string> targets = File.Exists(path) ? [path]
                : Directory.Exists(path) ? Directory.EnumerateFiles(path, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = false, AttributesToSkip = FileAttributes.ReparsePoint })
                : [];
            if (!File.Exists(path) && !Directory.Exists(path))
            {
                missing.Add(path);
            }

            foreach (var file in targets.Order(StringComparer.Ordinal))
            {
                cancellationToken.ThrowIfCancellationRequested();
                try
                {
                    await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
                    var scanner = new Scanner(population, file, findings);
                    int read;
                    while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
                    {
                        scanner.Feed(buffer.AsSpan(0, read));
                        bytes += read;
                        bytesScanned?.Report(bytes);
                    }

                    total += scanner.Matches;
                    files++;
                }
                catch (FileNotFoundException)
                {
                    // Deleted while scanning (e.g. a -shm file at checkpoint): nothing left to leak.
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    unreadable.Add(file);
                }
            }
        }

        var tablesScanned = 0;
        if (tables && !_database.IsSqlite)
        {
            (tablesScanned, var tableBytes, var tableMatches) = await ScanTablesAsync(population, findings, bytes, bytesScanned, cancellationToken);
            bytes += tableBytes;
            total += tableMatches;
        }

        if (findings.Count > MaxReportedFindings)
        {
            findings.RemoveRange(MaxReportedFindings, findings.Count - MaxReportedFindings);
        }

        Log.ScanFinished(_logger, population.Subscribers, files, bytes, total);
        return new StorageAuditReport(population.Subscribers, files, bytes, total, findings, missing, unreadable, tablesScanned);
    }

    private async Task<Population> LoadPopulationAsync(CancellationToken cancellationToken)
    {
        var sets = new HashSet<long>[MaxWindow + 1];
        for (var i = MinWindow; i <= MaxWindow; i++)
        {
            sets[i] = [];
        }

        long subscribers = 0;
        await using var connection = await _database.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT id, rrn_ct, phone_ct FROM subscribers");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var id = new SubscriberId(reader.GetInt64(0));
            var rrn = _cipher.DecryptString(id, SubscriberFields.Rrn, (byte[])reader.GetValue(1));
            var phone = _cipher.DecryptString(id, SubscriberFields.Phone, (byte[])reader.GetValue(2));
            Add(sets, rrn);
            var international = phone.TrimStart('+');
            Add(sets, international);
            if (international.StartsWith("82", StringComparison.Ordinal))
            {
                Add(sets, "0" + international[2..]);
            }

            subscribers++;
        }

        return new Population(subscribers, sets);
    }

    private static void Add(HashSet<long>[] sets, string digits)
    {
        if (digits.Length is >= MinWindow and <= MaxWindow && long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            sets[digits.Length].Add(value);
        }
    }

    private sealed record Population(long Subscribers, HashSet<long>[] Sets);

    /// <summary>Streaming matcher: rolling values of the last 10–13 digits of the current digit run.</summary>
    private sealed class Scanner(Population population, string path, List<PlaintextFinding> findings)
    {
        private string _path = path;

        private readonly long[] _values = new long[MaxWindow + 1];
        private readonly long[] _offsets = new long[16];
        private long _position;
        private int _run;
        private bool _separator;

        public long Matches { get; private set; }

        public void Feed(ReadOnlySpan<byte> data)
        {
            var sets = population.Sets;
            foreach (var b in data)
            {
                if (b is >= (byte)'0' and <= (byte)'9')
                {
                    var digit = b - '0';
                    _offsets[_run & 15] = _position;
                    _run++;
                    _separator = false;
                    for (var length = MinWindow; length <= MaxWindow; length++)
                    {
                        _values[length] = ((_values[length] * 10) + digit) % Modulus[length];
                        if (_run >= length && sets[length].Contains(_values[length]))
                        {
                            Matches++;
                            if (findings.Count <= MaxReportedFindings)
                            {
                                findings.Add(new PlaintextFinding(_path, _offsets[(_run - length) & 15], length == 13 ? PlaintextKind.Rrn : PlaintextKind.Phone));
                            }
                        }
                    }
                }
                else if (b is (byte)'-' or (byte)' ' && _run > 0 && !_separator)
                {
                    _separator = true;
                }
                else
                {
                    Reset();
                }

                _position++;
            }
        }

        /// <summary>Starts a new, separate input (one stored value of a table) named <paramref name="name"/>: offsets count from 0 again and no digit run continues across inputs.</summary>
        public void Restart(string name)
        {
            _path = name;
            _position = 0;
            Reset();
        }

        private void Reset()
        {
            _run = 0;
            _separator = false;
            Array.Clear(_values);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3401, Level = LogLevel.Information, Message = "Storage audit of {Subscribers} subscribers' RRNs and phone numbers: {Files} files, {Bytes} bytes scanned, {Findings} plaintext findings.")]
        public static partial void ScanFinished(ILogger logger, long subscribers, int files, long bytes, long findings);
    }
}

/// <summary>What a plaintext finding is.</summary>
public enum PlaintextKind
{
    /// <summary>A resident registration number of the population.</summary>
    Rrn = 1,

    /// <summary>A phone number of the population (E.164 digits or national form).</summary>
    Phone = 2,
}

/// <summary>One plaintext value found in a file or a table. Carries no value.</summary>
/// <param name="Path">Absolute path of the file; for a PostgreSQL table, the database (without credentials), table, column and row (<c>ctid</c>).</param>
/// <param name="Offset">Byte offset of the value's first digit in the file, or in the stored value (0-based).</param>
/// <param name="Kind">What was found.</param>
public sealed record PlaintextFinding(string Path, long Offset, PlaintextKind Kind);

/// <summary>The outcome of <see cref="StorageAudit.ScanAsync"/>.</summary>
/// <param name="Subscribers">Subscribers whose RRN and phone number were looked for.</param>
/// <param name="FilesScanned">Files read completely.</param>
/// <param name="BytesScanned">Bytes read.</param>
/// <param name="TotalFindings">All matches, including those beyond <see cref="StorageAudit.MaxReportedFindings"/>.</param>
/// <param name="Findings">The first <see cref="StorageAudit.MaxReportedFindings"/> matches, by file then offset.</param>
/// <param name="Missing">Given paths that do not exist.</param>
/// <param name="Unreadable">Files that could not be read (permissions, locks).</param>
/// <param name="TablesScanned">PostgreSQL tables whose contents were read (<see cref="StorageAudit.ScanWithDatabaseAsync"/>); 0 for a scan of files only.</param>
public sealed record StorageAuditReport(
    long Subscribers,
    int FilesScanned,
    long BytesScanned,
    long TotalFindings,
    IReadOnlyList<PlaintextFinding> Findings,
    IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unreadable,
    int TablesScanned = 0)
{
    /// <summary>Whether the scan found nothing and read everything it was given.</summary>
    public bool IsClean => TotalFindings == 0 && Missing.Count == 0 && Unreadable.Count == 0;
}
