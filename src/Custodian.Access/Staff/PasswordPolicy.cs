using System.Text;

namespace Custodian.Access.Staff;

/// <summary>
/// The staff password policy, after NIST SP 800-63B §5.1.1.2 (memorized secret verifiers): length
/// 12–128 characters (Unicode code points after NFKC normalization; all printable characters and
/// spaces allowed, no composition rules), and refusal of context-specific choices: the account ID, the
/// service name, the current password, and a single repeated character.
/// </summary>
public static class PasswordPolicy
{
    /// <summary>Shortest accepted password, in Unicode code points.</summary>
    public const int MinLength = 12;

    /// <summary>Longest accepted password, in Unicode code points.</summary>
    public const int MaxLength = 128;

    /// <summary>Checks <paramref name="newPassword"/>; returns the rules it breaks (empty when acceptable). Messages never contain the password.</summary>
    /// <param name="accountId">The account the password is for.</param>
    /// <param name="newPassword">The proposed password.</param>
    /// <param name="currentPassword">The password being replaced, or null.</param>
    public static IReadOnlyList<string> Check(string accountId, string newPassword, string? currentPassword)
    {
        ArgumentNullException.ThrowIfNull(newPassword);
        var broken = new List<string>();
        string normalized;
        try
        {
            normalized = newPassword.Normalize(NormalizationForm.FormKC);
        }
        catch (ArgumentException)
        {
            broken.Add("must be valid Unicode text");
            return broken;
        }

        var length = normalized.EnumerateRunes().Count();
        if (length < MinLength || length > MaxLength)
        {
            broken.Add($"must be {MinLength} to {MaxLength} characters long");
        }

        if (!string.IsNullOrEmpty(accountId) && normalized.Contains(accountId, StringComparison.OrdinalIgnoreCase))
        {
            broken.Add("must not contain the account ID");
        }

        if (normalized.Contains("custodian", StringComparison.OrdinalIgnoreCase))
        {
            broken.Add("must not contain the service name");
        }

        if (length > 0 && normalized.EnumerateRunes().Distinct().Count() == 1)
        {
            broken.Add("must not be one repeated character");
        }

        if (currentPassword is not null && PasswordHasher.Encode(currentPassword) is { } current
            && PasswordHasher.Encode(newPassword) is { } proposed && current.AsSpan().SequenceEqual(proposed))
        {
            broken.Add("must differ from the current password");
        }

        return broken;
    }
}
