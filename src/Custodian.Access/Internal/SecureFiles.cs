using System.Text;

namespace Custodian.Access.Internal;

/// <summary>Writes key and certificate files atomically, with owner-only permissions for secrets.</summary>
internal static class SecureFiles
{
    /// <summary>Owner read/write only (octal 0600).</summary>
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// Writes <paramref name="contents"/> to a temporary file beside <paramref name="path"/> (mode 0600 when
    /// <paramref name="secret"/>, flushed to disk) and renames it into place.
    /// </summary>
    /// <returns>False when <paramref name="overwrite"/> is false and the target already exists (nothing written).</returns>
    public static bool WriteAtomic(string path, string contents, bool secret, bool overwrite) =>
        WriteAtomic(path, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(contents), secret, overwrite);

    /// <summary>As <see cref="WriteAtomic(string, string, bool, bool)"/>, with the file's exact bytes.</summary>
    /// <returns>False when <paramref name="overwrite"/> is false and the target already exists (nothing written).</returns>
    public static bool WriteAtomic(string path, byte[] bytes, bool secret, bool overwrite)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        CreatePrivateDirectory(directory);
        var temp = Path.Combine(directory, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N") + ".tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = secret ? OwnerOnly : OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        }

        try
        {
            using (var stream = new FileStream(temp, options))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            if (secret && !OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temp, OwnerOnly);
            }

            try
            {
                File.Move(temp, full, overwrite);
            }
            catch (IOException) when (!overwrite && File.Exists(full))
            {
                return false;
            }

            return true;
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    /// <summary>Creates <paramref name="directory"/> if missing (mode 0700 on Unix); an existing directory is left as is.</summary>
    public static void CreatePrivateDirectory(string directory)
    {
        if (Directory.Exists(directory))
        {
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }
}
