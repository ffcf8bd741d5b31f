namespace Custodian.Hosting;

/// <summary>
/// Layout of the data directory. Everything Custodian keeps lives below one directory so that a
/// backup, an audit scan or a wipe has one place to look:
/// <code>
/// custodian.db (+ -wal, -shm)   SQLite database: subscribers (encrypted), ledger, staff, terminals, alerts, outbox
/// keys/                         protection keyring (wrapped data and blind-index keys), master.key when no env secret
/// ca/                           device CA: ca.crt, ca.key
/// access/secrets.key            key protecting TOTP seeds at rest
/// </code>
/// </summary>
/// <param name="Root">Absolute path of the data directory.</param>
public sealed record DataPaths(string Root)
{
    /// <summary>Creates the layout for <paramref name="directory"/> (made absolute).</summary>
    public static DataPaths For(string directory) => new(Path.GetFullPath(directory));

    /// <summary>SQLite database file.</summary>
    public string Database => Path.Combine(Root, "custodian.db");

    /// <summary>Protection keyring directory.</summary>
    public string Keys => Path.Combine(Root, "keys");

    /// <summary>Certificate authority directory.</summary>
    public string CertificateAuthority => Path.Combine(Root, "ca");

    /// <summary>Key file protecting staff TOTP seeds.</summary>
    public string AccessSecretsKey => Path.Combine(Root, "access", "secrets.key");

    /// <summary>Whether the directory has been initialised (the database exists).</summary>
    public bool IsInitialised => File.Exists(Database);

    /// <summary>Lock file held by a running server so that two servers never share one data directory.</summary>
    public string ServerLock => Path.Combine(Root, "server.lock");

    /// <summary>
    /// Takes <see cref="ServerLock"/> (creating it owner-only when missing) exclusively: held by a server for its
    /// lifetime, by <c>init</c> and <c>masking adopt</c> while they work, and probed by <c>import</c>.
    /// </summary>
    /// <returns>The open lock file (dispose it to release the lock), or null when another process holds it.</returns>
    /// <remarks>Which process holds it cannot be read (the lock file cannot be opened while held), so a refusal names every possible holder: <see cref="HeldByAnother"/>.</remarks>
    public FileStream? TryHoldServerLock()
    {
        var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // owner-only, like the data directory
        }

        try
        {
            return new FileStream(ServerLock, options);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// The one-line refusal when <see cref="TryHoldServerLock"/> found the lock held: <c>another Custodian process holds
    /// the data directory /path (a running server, or init or masking adopt at work)</c>, without a final period. The
    /// holder is not known (the lock file cannot be read while held), so every process that takes the lock is named.
    /// </summary>
    public string HeldByAnother => $"another Custodian process holds the data directory {Root} (a running server, or init or masking adopt at work)";

    /// <summary>
    /// The terminal API's base URL (one line, e.g. <c>https://127.0.0.1:7443</c>) as the last <c>serve</c> on this
    /// directory listened on it; written at each start, read by <c>terminals enroll</c> for the command it prints.
    /// </summary>
    public string TerminalUrl => Path.Combine(Root, "terminal-url");

    /// <summary>
    /// Checks that the data directory is usable: not a file, and readable and writable by this
    /// process where it exists. Returns a one-line problem, or null when it is usable (or absent and
    /// to be created).
    /// </summary>
    public string? CheckAccess()
    {
        if (File.Exists(Root))
        {
            return $"--data must be a directory; {Root} is a file.";
        }

        try
        {
            foreach (var dir in new[] { Root, Keys, CertificateAuthority, Path.GetDirectoryName(AccessSecretsKey)! }.Where(Directory.Exists))
            {
                _ = Directory.EnumerateFileSystemEntries(dir).Any();
            }

            if (File.Exists(Database))
            {
                using var probe = new FileStream(Database, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            }
        }
        catch (UnauthorizedAccessException)
        {
            return $"cannot read and write the data directory {Root}: permission denied (run as the user that owns it).";
        }
        catch (IOException ex)
        {
            return $"cannot use the data directory {Root}: {ex.Message}";
        }

        return null;
    }

    /// <summary>Creates the directories with owner-only permissions where the platform supports it.</summary>
    /// <exception cref="UnauthorizedAccessException">When a directory cannot be created for lack of permission; the
    /// message names the data directory and says to run as its owner, as <see cref="CheckAccess"/> does.</exception>
    public void EnsureCreated()
    {
        foreach (var dir in new[] { Root, Keys, CertificateAuthority, Path.GetDirectoryName(AccessSecretsKey)! })
        {
            if (!Directory.Exists(dir))
            {
                try
                {
                    if (OperatingSystem.IsWindows())
                    {
                        Directory.CreateDirectory(dir);
                    }
                    else
                    {
                        Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                    }
                }
                catch (UnauthorizedAccessException ex)
                {
                    throw new UnauthorizedAccessException($"cannot create {dir} in the data directory {Root}: permission denied (run as the user that owns it).", ex);
                }
            }
        }
    }
}
