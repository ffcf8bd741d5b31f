using System.Text.Json.Nodes;

namespace Custodian.Siem.Tests;

/// <summary>Locates the repository and the third-party vectors in ../shared/testdata.</summary>
internal static class TestData
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string Shared(params string[] parts) =>
        Path.GetFullPath(Path.Combine([RepositoryRoot, "..", "shared", "testdata", .. parts]));

    public static JsonNode Json(params string[] parts) => JsonNode.Parse(File.ReadAllText(Shared(parts)))!;

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Custodian.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Custodian.sln not found above the test directory.");
    }
}

/// <summary>A temporary directory deleted at dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "custodian-siem-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A child process may still hold a file for a moment; the OS temp cleaner takes the rest.
        }
    }
}
