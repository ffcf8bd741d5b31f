using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Custodian.Protection.Backup;

/// <summary>
/// A directory written all or nothing (docs/storage.md, "Backup and restore"): everything goes into a hidden staging
/// directory on the same file system, named <c>.&lt;target name&gt;.partial-&lt;16 hex&gt;</c>, which <see cref="Commit"/>
/// fsyncs and moves into place. Disposed without <see cref="Commit"/> (a failure, a cancellation, Ctrl-C), the staging
/// directory is deleted and the target is as it was.
/// <para>
/// A target that does not exist is staged beside it (in its parent) and renamed into place in one step. A target that
/// exists and is empty is kept — an operator may have created it with its own owner, mode or mount — so the staging
/// directory is made inside it and its entries are moved up one by one on commit; should a move fail, the entries
/// already moved are removed again. A target that exists and is not empty is refused (<see cref="IOException"/>).
/// </para>
/// </summary>
internal sealed class StagedDirectory : IDisposable
{
    private const string PartialMarker = ".partial-";

    private readonly bool _targetExisted;
    private bool _committed;

    private StagedDirectory(string target, string staging, bool targetExisted)
    {
        Target = target;
        Path = staging;
        _targetExisted = targetExisted;
    }

    /// <summary>The full path of the directory that appears on <see cref="Commit"/>.</summary>
    public string Target { get; }

    /// <summary>The staging directory to write into (mode 0700 on Unix).</summary>
    public string Path { get; }

    /// <summary>Creates the staging directory for <paramref name="target"/>.</summary>
    /// <param name="target">The directory to fill: missing (its parent must exist) or empty.</param>
    /// <returns>The staging directory; dispose it.</returns>
    /// <exception cref="IOException">When <paramref name="target"/> is a file, or a directory that is not empty, or its parent does not exist.</exception>
    public static StagedDirectory Begin(string target)
    {
        ArgumentException.ThrowIfNullOrEmpty(target);
        var full = System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(target));
        var name = System.IO.Path.GetFileName(full);
        var parent = System.IO.Path.GetDirectoryName(full);
        if (string.IsNullOrEmpty(name) || parent is null)
        {
            throw new IOException($"'{full}' cannot be written as a directory.");
        }

        if (File.Exists(full))
        {
            throw new IOException($"'{full}' is a file, not a directory.");
        }

        var existed = Directory.Exists(full);
        if (existed && Directory.EnumerateFileSystemEntries(full).Any())
        {
            throw new IOException($"'{full}' exists and is not empty.");
        }

        if (!existed && !Directory.Exists(parent))
        {
            throw new IOException($"The directory to create '{full}' in does not exist: {parent}");
        }

        var staging = System.IO.Path.Combine(existed ? full : parent, $".{name}{PartialMarker}{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}");
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(staging);
        }
        else
        {
            Directory.CreateDirectory(staging, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return new StagedDirectory(full, staging, existed);
    }

    /// <summary>
    /// Flushes every directory of the staging tree to disk (files are expected to be flushed by their writers) and moves
    /// the content into place: the staging directory becomes the target, or, for an existing empty target, its entries
    /// move up into it. Not cancellable: it is a few renames.
    /// </summary>
    /// <exception cref="IOException">When the target appeared (or was written to) meanwhile, or a rename fails; nothing is left in the target then.</exception>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        foreach (var directory in Directory.EnumerateDirectories(Path, "*", SearchOption.AllDirectories).Append(Path))
        {
            SyncDirectory(directory);
        }

        if (!_targetExisted)
        {
            Directory.Move(Path, Target); // refused when the target appeared meanwhile
            _committed = true;
            SyncDirectory(System.IO.Path.GetDirectoryName(Target)!);
            return;
        }

        if (Directory.EnumerateFileSystemEntries(Target).Any(e => !string.Equals(e, Path, StringComparison.Ordinal)))
        {
            throw new IOException($"'{Target}' is no longer empty: something else wrote into it meanwhile.");
        }

        var moved = new List<string>();
        try
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(Path).ToList())
            {
                var destination = System.IO.Path.Combine(Target, System.IO.Path.GetFileName(entry));
                if (Directory.Exists(entry))
                {
                    Directory.Move(entry, destination);
                }
                else
                {
                    File.Move(entry, destination, overwrite: false);
                }

                moved.Add(destination);
            }

            Directory.Delete(Path);
            _committed = true;
            SyncDirectory(Target);
        }
        catch when (!_committed)
        {
            foreach (var destination in moved)
            {
                Delete(destination);
            }

            throw;
        }
    }

    /// <summary>Deletes the staging directory unless <see cref="Commit"/> succeeded.</summary>
    public void Dispose()
    {
        if (!_committed)
        {
            _committed = true;
            Delete(Path);
        }
    }

    private static void Delete(string path)
    {
        try
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools(); // a database file written by VACUUM INTO may still be open in the pool
            if (Directory.Exists(path) && !File.GetAttributes(path).HasFlag(FileAttributes.ReparsePoint))
            {
                Directory.Delete(path, recursive: true);
            }
            else if (File.Exists(path) || Directory.Exists(path))
            {
                File.Delete(path);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort on the way out of a failure: the first error is the one reported.
        }
    }

    // fsync(2) of a directory makes the names in it (the renames) durable. .NET cannot open a directory as a file, so libc
    // is called; where it is not available (Windows) the rename's own durability is what there is.
    private static void SyncDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        try
        {
            var fd = NativeMethods.Open(System.Text.Encoding.UTF8.GetBytes(path + "\0"), 0); // O_RDONLY
            if (fd < 0)
            {
                return;
            }

            try
            {
                _ = NativeMethods.Fsync(fd);
            }
            finally
            {
                _ = NativeMethods.Close(fd);
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // No libc by that name: the renames are durable at the file system's next commit.
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Open(byte[] path, int flags); // a NUL-terminated UTF-8 path

        [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Fsync(int fd);

        [DllImport("libc", EntryPoint = "close")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Close(int fd);
    }
}
