using System.Text.Json;

namespace Custodian.Ledger.Tests;

/// <summary>Locates /work/shared/testdata (../shared/testdata from the repository root).</summary>
internal static class TestData
{
    public static string Root { get; } = Locate();

    public static JsonDocument Load(string relativePath) => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Root, relativePath)));

    public static byte[] Hex(string hex) => Convert.FromHexString(hex);

    private static string Locate()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Custodian.sln")))
            {
                var shared = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "testdata"));
                if (Directory.Exists(shared))
                {
                    return shared;
                }

                throw new DirectoryNotFoundException($"Test data expected at {shared}.");
            }
        }

        throw new DirectoryNotFoundException("Repository root (Custodian.sln) not found above the test binaries.");
    }
}
