using Microsoft.Extensions.Compliance.Classification;

namespace Custodian.Classification;

/// <summary>
/// Custodian's data-classification taxonomy (Microsoft.Extensions.Compliance). Every property,
/// parameter or log argument that carries subscriber data is annotated with one of the attributes
/// below; the logging pipeline erases anything classified that has no explicit redactor.
/// </summary>
public static class CustodianTaxonomy
{
    /// <summary>Taxonomy name.</summary>
    public const string Name = "Custodian";

    /// <summary>Personal data (PIPA Art. 2): name, phone number, address, rate plan, contract dates.</summary>
    public static DataClassification PersonalData { get; } = new(Name, nameof(PersonalData));

    /// <summary>Unique identification information (PIPA Art. 24): resident registration, passport, driver licence and alien registration numbers. Always encrypted at rest.</summary>
    public static DataClassification UniqueIdentifier { get; } = new(Name, nameof(UniqueIdentifier));

    /// <summary>Authentication secrets: passwords, one-time codes, TOTP seeds, session tokens, key material.</summary>
    public static DataClassification Secret { get; } = new(Name, nameof(Secret));

    /// <summary>Pseudonymous identifiers: internal subscriber IDs, blind indexes, tokens. Not personal in isolation but linkable.</summary>
    public static DataClassification Pseudonymous { get; } = new(Name, nameof(Pseudonymous));
}

/// <summary>Marks personal data (name, phone, address, plan).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field | AttributeTargets.Parameter | AttributeTargets.ReturnValue, AllowMultiple = false)]
public sealed class PersonalDataAttribute : DataClassificationAttribute
{
    /// <summary>Creates the attribute.</summary>
    public PersonalDataAttribute()
        : base(CustodianTaxonomy.PersonalData)
    {
    }
}

/// <summary>Marks unique identification information (RRN and similar).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field | AttributeTargets.Parameter | AttributeTargets.ReturnValue, AllowMultiple = false)]
public sealed class UniqueIdentifierAttribute : DataClassificationAttribute
{
    /// <summary>Creates the attribute.</summary>
    public UniqueIdentifierAttribute()
        : base(CustodianTaxonomy.UniqueIdentifier)
    {
    }
}

/// <summary>Marks secrets (passwords, codes, keys, tokens).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field | AttributeTargets.Parameter | AttributeTargets.ReturnValue, AllowMultiple = false)]
public sealed class SecretAttribute : DataClassificationAttribute
{
    /// <summary>Creates the attribute.</summary>
    public SecretAttribute()
        : base(CustodianTaxonomy.Secret)
    {
    }
}

/// <summary>Marks pseudonymous identifiers.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field | AttributeTargets.Parameter | AttributeTargets.ReturnValue, AllowMultiple = false)]
public sealed class PseudonymousAttribute : DataClassificationAttribute
{
    /// <summary>Creates the attribute.</summary>
    public PseudonymousAttribute()
        : base(CustodianTaxonomy.Pseudonymous)
    {
    }
}
