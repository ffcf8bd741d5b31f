namespace Custodian.Cli;

/// <summary>
/// The process exit codes every verb follows (README.md, "CLI exit codes"). A verb reading an input file gives
/// <see cref="Usage"/> when the file is missing or unreadable (a bad argument) and <see cref="RowsRefused"/> when the
/// file was read but rows in it were refused, whether or not the good rows were used.
/// </summary>
internal static class CliExitCodes
{
    /// <summary>0: the operation succeeded.</summary>
    public const int Ok = 0;

    /// <summary>1: a usage error or bad argument: unknown verb or option, a malformed or out-of-range value, a missing or unreadable input file, an output path that cannot be written.</summary>
    public const int Usage = 1;

    /// <summary>2: the operation failed (no data directory, server unreachable, refused in the current state).</summary>
    public const int Failed = 2;

    /// <summary>3: verification found a problem (ledger, receipt, storage audit, incident set).</summary>
    public const int VerificationFailed = 3;

    /// <summary>3, as <see cref="VerificationFailed"/>: an input file was read but rows in it were refused (bad values, a wrong header), whether nothing was applied or only the good rows were.</summary>
    public const int RowsRefused = 3;
}
