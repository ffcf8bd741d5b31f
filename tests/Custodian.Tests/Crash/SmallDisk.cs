using System.ComponentModel;
using System.Diagnostics;

namespace Custodian.Tests.Crash;

/// <summary>
/// A real, small filesystem for full-disk tests: a tmpfs of a few MiB mounted on a fresh temporary
/// directory (needs root with mount permission, as on the project's machines and in CI), unmounted on
/// dispose. <see cref="FillAsync"/> takes every free block, so the next write that needs a new block
/// fails with ENOSPC.
/// </summary>
public sealed class SmallDisk : IAsyncDisposable
{
    private SmallDisk(string path) => Path = path;

    /// <summary>Mount point.</summary>
    public string Path { get; }

    /// <summary>Mounts a tmpfs of <paramref name="megabytes"/> MiB; fails the test with a clear message when that is not permitted.</summary>
    public static async Task<SmallDisk> MountAsync(int megabytes)
    {
        Assert.True(OperatingSystem.IsLinux(), "The full-disk test mounts a tmpfs and runs on Linux only.");
        var directory = Directory.CreateTempSubdirectory("custodian-disk-");
        var (code, text) = await RunAsync("mount", "-t", "tmpfs", "-o", $"size={megabytes}m,mode=0700", "tmpfs", directory.FullName);
        if (code != 0)
        {
            directory.Delete();
            Assert.Fail(
                $"The full-disk test mounts a {megabytes} MiB tmpfs and needs root with permission to mount (CAP_SYS_ADMIN), " +
                $"as on the project's machines and in CI. 'mount -t tmpfs' exited with {code}: {text.Trim()}");
        }

        return new SmallDisk(directory.FullName);
    }

    /// <summary>Writes a filler file until the filesystem is full; disposing the result deletes it (frees the space).</summary>
    public async Task<IAsyncDisposable> FillAsync()
    {
        var path = System.IO.Path.Combine(Path, "filler");
        var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
        foreach (var chunk in new[] { 1 << 20, 4096, 512 })
        {
            var buffer = new byte[chunk];
            try
            {
                while (true)
                {
                    await stream.WriteAsync(buffer);
                }
            }
            catch (IOException)
            {
                // ENOSPC: go on with smaller chunks until not even 512 bytes fit.
            }
        }

        await stream.DisposeAsync();
        var free = new DriveInfo(Path).AvailableFreeSpace;
        Assert.True(free == 0, $"the filler left {free} bytes free");
        return new Filler(path);
    }

    public async ValueTask DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var (code, _) = await RunAsync("umount", Path);
        if (code != 0)
        {
            // A handle still open somewhere in the test process: detach now, the kernel frees it when closed.
            await RunAsync("umount", "-l", Path);
        }

        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Left for the temp cleaner; empty once unmounted.
        }
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        try
        {
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            return (process.ExitCode, await stdout + await stderr);
        }
        catch (Win32Exception ex)
        {
            return (-1, $"'{file}' could not be started: {ex.Message}");
        }
    }

    private sealed class Filler(string path) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            File.Delete(path);
            return ValueTask.CompletedTask;
        }
    }
}
