using Custodian.Problems;

namespace Custodian.Protection.Validation;

/// <summary>Builds validation errors that name the field and the rule, never the value.</summary>
internal static class FieldRule
{
    /// <summary>A 400 error with <paramref name="code"/> whose message is <c>"field: rule"</c> and whose <see cref="CustodianError.Errors"/> maps the field to the rule.</summary>
    public static CustodianError Error(string code, string field, string rule) =>
        new(code, 400, $"{field}: {rule}")
        {
            Errors = new Dictionary<string, string[]>(StringComparer.Ordinal) { [field] = [rule] },
        };

    /// <summary>The rule text of an error built by <see cref="Error"/>.</summary>
    public static string RuleOf(CustodianError error, string field) =>
        error.Errors is not null && error.Errors.TryGetValue(field, out var rules) && rules.Length > 0 ? rules[0] : error.Message;
}
