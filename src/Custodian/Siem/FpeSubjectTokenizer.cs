using Custodian.Identity;
using Custodian.Protection.Keys;
using Custodian.Siem.Ocsf;

namespace Custodian.Siem;

/// <summary>SIEM subscriber tokens from Protection's FF1 <see cref="Tokenizer.TokenizeSubscriber"/> (19 digits, NIST SP 800-38G Rev.1).</summary>
/// <param name="keys">The keyring holding the token key.</param>
internal sealed class FpeSubjectTokenizer(ProtectionKeyring keys) : ISubjectTokenizer
{
    private readonly Tokenizer _tokenizer = new(keys);

    /// <inheritdoc />
    public string Tokenize(SubscriberId subscriber) => _tokenizer.TokenizeSubscriber(subscriber);
}
