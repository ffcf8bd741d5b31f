using System.Collections.Concurrent;
using Custodian.Hosting;
using Microsoft.AspNetCore.Builder;

namespace Custodian.Cli;

/// <summary>
/// The storage setting of each server built in this process, by data directory, so that an administrative verb run in
/// the same process against that data directory uses the server's database — as a verb run in its own process does
/// through the server's environment (docs/storage.md). Only the functional tests run verbs inside the server's process
/// (several servers at once, each on its own PostgreSQL schema, where one process-wide environment variable cannot
/// name them all); <c>custodian</c> itself never does. A server is forgotten when it stops. Thread-safe.
/// </summary>
internal static class InProcessServers
{
    private static readonly ConcurrentDictionary<string, (string Storage, string? StorageFile)> Storage = new(StringComparer.Ordinal);

    /// <summary>Remembers <paramref name="options"/>' storage for its data directory until <paramref name="app"/> stops.</summary>
    /// <param name="app">The server.</param>
    /// <param name="options">Its validated options.</param>
    public static void Register(WebApplication app, CustodianOptions options)
    {
        var root = DataPaths.For(options.DataDirectory).Root;
        var storage = (options.Storage, options.StorageFile);
        Storage[root] = storage;
        app.Lifetime.ApplicationStopped.Register(() => Storage.TryRemove(new KeyValuePair<string, (string, string?)>(root, storage)));
    }

    /// <summary>Applies the storage of a server running in this process on <paramref name="options"/>' data directory, if there is one.</summary>
    /// <param name="options">The verb's options, after the environment was bound.</param>
    public static void ApplyTo(CustodianOptions options)
    {
        if (Storage.TryGetValue(DataPaths.For(options.DataDirectory).Root, out var storage))
        {
            (options.Storage, options.StorageFile) = storage;
        }
    }
}
