using System.Diagnostics.CodeAnalysis;
using Custodian.Identity;

namespace Custodian.Monitoring;

/// <summary>What kind of actor the monitor counts and suspends. Stored by the names from <see cref="PrincipalKinds.ToName"/>.</summary>
public enum PrincipalKind
{
    /// <summary>A staff account (clerk or store manager), named by its account code (<see cref="Custodian.Ledger.AccessEntry.Account"/>).</summary>
    Clerk = 1,

    /// <summary>A terminal or VDI host, named by its terminal code (<see cref="Custodian.Ledger.AccessEntry.Terminal"/>).</summary>
    Terminal = 2,
}

/// <summary>Stable names of <see cref="PrincipalKind"/> values: <c>clerk</c> and <c>terminal</c>.</summary>
public static class PrincipalKinds
{
    /// <summary>The stable name: <c>clerk</c> or <c>terminal</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">For a value outside the enum.</exception>
    public static string ToName(this PrincipalKind kind) => kind switch
    {
        PrincipalKind.Clerk => "clerk",
        PrincipalKind.Terminal => "terminal",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Parses <c>clerk</c> or <c>terminal</c> (exact, lower case); false for anything else.</summary>
    public static bool TryParse(string? name, out PrincipalKind kind)
    {
        switch (name)
        {
            case "clerk": kind = PrincipalKind.Clerk; return true;
            case "terminal": kind = PrincipalKind.Terminal; return true;
            default: kind = default; return false;
        }
    }
}

/// <summary>
/// A clerk account or a terminal, as the monitor counts and suspends it. Its text form
/// <c>&lt;kind&gt;:&lt;code&gt;</c> (e.g. <c>clerk:C0042</c>, <c>terminal:counter-1</c>) is what the monitor writes
/// in <see cref="Custodian.Ledger.AccessEntry.Target"/> of <c>suspended</c> and <c>restored</c> ledger entries;
/// codes cannot contain <c>:</c> (<see cref="Codes"/>), so the form is unambiguous. Not personal data.
/// </summary>
/// <param name="Kind">Clerk or terminal.</param>
/// <param name="Id">The account or terminal code (<see cref="Codes"/> rules: 1–64 of letters, digits, <c>-</c>, <c>_</c>, <c>.</c>).</param>
public readonly record struct Principal(PrincipalKind Kind, string Id)
{
    /// <summary>Creates a principal, validating the code.</summary>
    /// <exception cref="ArgumentException">When <paramref name="id"/> is not a well-formed code or <paramref name="kind"/> is undefined.</exception>
    public static Principal Create(PrincipalKind kind, string id)
    {
        _ = kind.ToName();
        return new Principal(kind, Codes.Require(id, kind == PrincipalKind.Clerk ? "account" : "terminal"));
    }

    /// <summary>Parses the text form <c>&lt;kind&gt;:&lt;code&gt;</c>; false when malformed.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out Principal? principal)
    {
        principal = null;
        var colon = text?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        if (colon <= 0 || !PrincipalKinds.TryParse(text![..colon], out var kind))
        {
            return false;
        }

        var id = text[(colon + 1)..];
        if (!Codes.IsValid(id))
        {
            return false;
        }

        principal = new Principal(kind, id);
        return true;
    }

    /// <summary>The text form, e.g. <c>clerk:C0042</c>.</summary>
    public override string ToString() => Kind.ToName() + ":" + Id;
}
