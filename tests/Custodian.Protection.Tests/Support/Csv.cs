using Custodian.Protection.Import;

namespace Custodian.Protection.Tests.Support;

internal static class Csv
{
    public const string Header = "name,rrn,phone,address,rate_plan,contract_start,contract_end,home_store";

    /// <summary>Joins lines with LF; the header is line 1.</summary>
    public static StringReader Of(params string[] lines) => new(string.Join("\n", lines) + "\n");

    public static Task<ImportReport> ImportAsync(this TestEnvironment env, ImportMode mode, params string[] lines) =>
        new SubscriberImporter(env.Database, env.Keys, env.Time).ImportAsync(Of(lines), mode);
}
