using System.Reflection;
using Microsoft.Extensions.Compliance.Classification;

namespace Custodian.Tests.Conventions;

/// <summary>
/// Design rule as a test (NodaTime style): every public type in a Custodian assembly with a property
/// named like a personal field — name, RRN, phone, address — carries a data classification
/// (Microsoft.Extensions.Compliance) on that property, so logging redaction and reviews can see it.
/// </summary>
public sealed class ClassificationConventionTests
{
    /// <summary>Property names (case-insensitive) that denote a personal field.</summary>
    private static readonly string[] PersonalNames =
    [
        "name", "fullname", "subscribername", "customername",
        "rrn", "residentregistrationnumber",
        "phone", "phonenumber", "msisdn", "mobile", "e164",
        "address", "postaladdress",
    ];

    /// <summary>
    /// Properties named like a personal field that hold no personal data, each with the reason.
    /// Keep this list short; a new entry needs a reviewer's agreement.
    /// </summary>
    private static readonly Dictionary<string, string> NotPersonal = new(StringComparer.Ordinal)
    {
        ["Custodian.Access.Terminals.EnrollmentCode.Name"] = "a terminal's name within its store, e.g. counter-1",
        ["Custodian.Access.Terminals.TerminalInfo.Name"] = "a terminal's name within its store, e.g. counter-1",
        ["Custodian.Access.Terminals.TerminalStatus.Name"] = "the name of a terminal state",
        ["Custodian.Protection.Masking.MaskingOptions.Name"] = "the rule that masks names (an enum), not a name",
        ["Custodian.Protection.Masking.MaskingOptions.Phone"] = "the rule that masks phone numbers (an enum), not a number",
    };

    public static TheoryData<string> Assemblies() =>
    [
        "Custodian.Core", "Custodian.Protection", "Custodian.Ledger", "Custodian.Monitoring", "Custodian.Access", "custodian",
    ];

    [Theory]
    [MemberData(nameof(Assemblies))]
    public void Every_public_property_named_like_a_personal_field_is_classified(string assembly)
    {
        var unclassified = new List<string>();
        foreach (var type in Assembly.Load(assembly).GetExportedTypes())
        {
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            {
                if (!PersonalNames.Contains(property.Name, StringComparer.OrdinalIgnoreCase))
                {
                    continue;
                }

                var key = $"{type.FullName}.{property.Name}";
                if (property.GetCustomAttributes<DataClassificationAttribute>(inherit: true).Any() || NotPersonal.ContainsKey(key))
                {
                    continue;
                }

                unclassified.Add(key);
            }
        }

        Assert.Empty(unclassified);
    }
}
