using Custodian.Identity;

namespace Custodian.Siem.Ocsf;

/// <summary>
/// Turns an internal subscriber ID into the token that SIEM events carry instead. The host supplies
/// the FF1 tokenizer of Protection (<c>Tokenizer.TokenizeSubscriber</c>: 19 decimal digits, NIST SP
/// 800-38G Rev.1 FF1 under the keyring's token key); the SIEM assembly itself never references
/// Protection, so the dependency graph shows it cannot reach the decryption API. Implementations
/// must be thread-safe and deterministic (the same subscriber always gives the same token).
/// </summary>
public interface ISubjectTokenizer
{
    /// <summary>The token of <paramref name="subscriber"/>: never the internal ID itself.</summary>
    string Tokenize(SubscriberId subscriber);
}
