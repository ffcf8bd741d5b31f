namespace Custodian.Ledger.Tests;

public sealed class DesignRulesTests
{
    [Fact]
    public void Ledger_assembly_does_not_reference_the_decryption_capability()
    {
        // DESIGN.md "Only the lookup path decrypts": the dependency graph shows where plaintext can appear.
        var references = typeof(SqliteAccessLedger).Assembly.GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.Contains("Custodian.Core", references);
        Assert.DoesNotContain(references, name => name!.StartsWith("Custodian.Protection", StringComparison.Ordinal));
    }
}
