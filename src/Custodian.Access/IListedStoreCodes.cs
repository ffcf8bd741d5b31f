namespace Custodian.Access;

/// <summary>
/// Store codes listed outside the access tables — the host's store list (table <c>stores</c>, written by
/// <c>custodian stores import</c>) — that a terminal's or a staff account's store must be spelt like. Store codes are
/// compared exactly wherever they meet, so a code that differs from a listed one only in letter case names a store that
/// is not the listed one (docs/access.md §6.3). <see cref="Terminals.TerminalRegistry"/> and
/// <see cref="Staff.StaffDirectory"/> ask it before the terminals' and accounts' own codes, so every path that enrolls a
/// terminal or gives an account a store (CLI, HTTP, console, a four-eyes <c>enroll-vdi-host</c> request, the HR feed)
/// refuses such a code. Implementations are thread-safe.
/// </summary>
public interface IListedStoreCodes
{
    /// <summary>
    /// The listed code that equals <paramref name="store"/> ignoring letter case but is spelt differently, or null (also
    /// when one is listed spelt exactly so).
    /// </summary>
    /// <param name="store">A well-formed store code.</param>
    /// <param name="cancellationToken">Cancels the look-up.</param>
    /// <returns>The listed spelling, or null.</returns>
    Task<string?> FindCaseVariantAsync(string store, CancellationToken cancellationToken = default);
}
