namespace Custodian.Hosting;

/// <summary>
/// Makes the first start of a data directory all-or-nothing (docs/storage.md, "First start is all or nothing"): taken
/// before <c>serve</c> or <c>init</c> creates anything, it remembers whether the directory existed and which entries it
/// held (recursively); when that start fails, <see cref="RollBack"/> removes exactly what the start created (the directory itself when
/// it created it), so the next start is a first start again instead of finding a half-initialised directory (a database
/// without its first officer, a keyring without a database, a checkpoint key whose stream binding was refused).
/// Does nothing for a directory that was already initialised: a later start never deletes anything.
/// </summary>
public sealed class FirstStart
{
    private readonly DataPaths _paths;
    private readonly bool _rootExisted;
    private readonly HashSet<string> _existing;

    private FirstStart(DataPaths paths, bool isFirstStart, bool rootExisted, HashSet<string> existing)
    {
        _paths = paths;
        IsFirstStart = isFirstStart;
        _rootExisted = rootExisted;
        _existing = existing;
    }

    /// <summary>Whether the directory was not initialised when <see cref="Begin"/> looked (<see cref="StorageRecord.Read"/> found nothing).</summary>
    public bool IsFirstStart { get; }

    /// <summary>Looks at the data directory before a start creates anything.</summary>
    /// <param name="paths">The data directory.</param>
    /// <returns>The guard.</returns>
    /// <exception cref="InvalidOperationException">When the directory's storage record is not valid.</exception>
    public static FirstStart Begin(DataPaths paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var rootExisted = Directory.Exists(paths.Root);
        if (StorageRecord.Read(paths) is not null)
        {
            return new FirstStart(paths, isFirstStart: false, rootExisted, []); // initialised: nothing will be rolled back, nothing to list
        }

        var existing = rootExisted ? Entries(paths.Root).ToHashSet(StringComparer.Ordinal) : [];
        return new FirstStart(paths, isFirstStart: true, rootExisted, existing);
    }

    /// <summary>
    /// After a failed first start: removes what the start created (entries of the data directory that were not there at
    /// <see cref="Begin"/>, or the whole directory when it did not exist). Nothing when the start was not a first start.
    /// Close the start's database connections first (SQLite's pool is cleared here).
    /// </summary>
    /// <returns>True when something was removed.</returns>
    public bool RollBack()
    {
        if (!IsFirstStart || !Directory.Exists(_paths.Root))
        {
            return false;
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (!_rootExisted)
        {
            Directory.Delete(_paths.Root, recursive: true);
            return true;
        }

        var removed = false;
        foreach (var entry in Entries(_paths.Root).Where(e => !_existing.Contains(e)).OrderByDescending(e => e.Length).ToList())
        {
            var full = Path.Combine(_paths.Root, entry);
            if (Directory.Exists(full) && !File.GetAttributes(full).HasFlag(FileAttributes.ReparsePoint))
            {
                Directory.Delete(full, recursive: true);
            }
            else if (File.Exists(full) || Directory.Exists(full))
            {
                File.Delete(full);
            }

            removed = true;
        }

        return removed;
    }

    // Every file and directory below root (not following links), as paths relative to it.
    private static IEnumerable<string> Entries(string root) =>
        Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true })
            .Select(e => Path.GetRelativePath(root, e));
}
