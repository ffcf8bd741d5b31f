using Custodian.Problems;
using Custodian.Storage;

namespace Custodian.Protection.Masking;

/// <summary>
/// Remembers which masking policy a data directory shows (table <c>masking_policy</c>, one row), so that a
/// deployment cannot drift from one mask to another by a changed environment variable: two masks of the
/// same value combine to reveal it. The first start adopts the configured policy; a later start with a
/// different one is refused until an operator adopts it on purpose (<c>custodian masking adopt</c>).
/// </summary>
public sealed class MaskingPolicyRecord(CustodianDatabase db, TimeProvider time)
{
    /// <summary>Error code: the configured masking policy differs from the one this data directory shows (409).</summary>
    public const string PolicyChanged = "masking-policy-changed";

    /// <summary>The adopted policy's descriptor and when it was adopted, or null before the first start.</summary>
    public async Task<(string Descriptor, DateTimeOffset AdoptedAt)?> GetAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT descriptor, adopted_at FROM masking_policy WHERE id = 1");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? (reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)))
            : null;
    }

    /// <summary>
    /// Adopts <paramref name="policy"/> when none is recorded yet; otherwise checks that it is the recorded one.
    /// </summary>
    /// <returns>Success, or <see cref="PolicyChanged"/> (409) naming both policies (descriptors hold no personal data).</returns>
    public async Task<Result<string>> EnsureAsync(MaskingPolicy policy, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        await using var connection = await db.OpenAsync(cancellationToken);
        await using (var insert = connection.Command(
            "INSERT INTO masking_policy (id, descriptor, adopted_at) VALUES (1, @d, @t) ON CONFLICT (id) DO NOTHING",
            ("@d", policy.Descriptor),
            ("@t", time.GetUtcNow().ToUnixTimeMilliseconds())))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var select = connection.Command("SELECT descriptor FROM masking_policy WHERE id = 1");
        var recorded = (string)(await select.ExecuteScalarAsync(cancellationToken))!;
        return string.Equals(recorded, policy.Descriptor, StringComparison.Ordinal)
            ? recorded
            : new CustodianError(
                PolicyChanged,
                409,
                $"The configured masking policy ({policy.Descriptor}) differs from the one this data directory shows ({recorded}). " +
                "Two masks of the same value combine to reveal it; to change the policy on purpose, run 'custodian masking adopt' with the new configuration.");
    }

    /// <summary>
    /// Records <paramref name="policy"/> as the one this data directory shows from now on. When it is already the
    /// recorded policy nothing is written: its adoption time stays the time it was first adopted.
    /// </summary>
    /// <returns>The descriptor recorded before (equal to <paramref name="policy"/>'s when nothing changed), or null when none was recorded.</returns>
    public async Task<string?> AdoptAsync(MaskingPolicy policy, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var previous = await GetAsync(cancellationToken);
        await using var connection = await db.OpenAsync(cancellationToken);
        await using var upsert = connection.Command(
            "INSERT INTO masking_policy (id, descriptor, adopted_at) VALUES (1, @d, @t) ON CONFLICT (id) DO UPDATE SET descriptor = excluded.descriptor, adopted_at = excluded.adopted_at WHERE masking_policy.descriptor <> excluded.descriptor",
            ("@d", policy.Descriptor),
            ("@t", time.GetUtcNow().ToUnixTimeMilliseconds()));
        await upsert.ExecuteNonQueryAsync(cancellationToken);
        return previous?.Descriptor;
    }
}
