using System.Globalization;
using Custodian.Ledger.Checkpoints;

namespace Custodian.Portal;

/// <summary>The server's check of a receipt, in plain words for the subscriber.</summary>
/// <param name="Verified">True when the log's signature, the inclusion proof and (when witnesses are configured) at least one witness's cosignature verified.</param>
/// <param name="Sequence">The entry's position in the ledger.</param>
/// <param name="TreeSize">The checkpoint's tree size.</param>
/// <param name="Witnesses">How many configured witnesses' cosignatures verified.</param>
/// <param name="SummaryKo">One or two sentences in Korean.</param>
/// <param name="SummaryEn">The same in English.</param>
/// <param name="ErrorCode">The failing check's error code when not verified for a reason other than a missing cosignature, else null.</param>
public sealed record ReceiptVerification(bool Verified, long Sequence, long TreeSize, int Witnesses, string SummaryKo, string SummaryEn, string? ErrorCode);

/// <summary>
/// Verifies a receipt on the server with the same checks as <c>custodian verify-receipt</c> (docs/ledger-format.md §11):
/// the log key this server signs with and every witness key it is configured with; at least one witness cosignature
/// is required when any witness is configured. This is a convenience for the subscriber: the receipt they download
/// can and should be checked independently with keys published out of band. Thread-safe.
/// </summary>
public sealed class ReceiptCheck(LedgerCheckpoints checkpoints)
{
    /// <summary>Checks <paramref name="receipt"/>.</summary>
    /// <param name="receipt">A receipt (withheld or full form).</param>
    /// <param name="cancellationToken">Cancels the read of the witness keys.</param>
    public async Task<ReceiptVerification> VerifyAsync(LedgerReceipt receipt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        var witnesses = await checkpoints.Store.ListWitnessesAsync(cancellationToken);
        var result = receipt.Verify(checkpoints.LogKey, witnesses, 0);
        var seq = receipt.Sequence;
        var size = receipt.TreeSize;
        if (!result.IsSuccess)
        {
            return new ReceiptVerification(
                false, seq, size, 0,
                "확인되지 않음: 이 영수증은 원장의 서명 또는 포함 증명 검사를 통과하지 못했습니다. 개인정보보호책임자에게 문의하세요.",
                "Not verified: this receipt failed the ledger's signature or inclusion-proof check. Please contact the privacy office.",
                result.Error!.Code);
        }

        var cosigned = result.Value.Cosignatures.Count;
        if (witnesses.Count > 0 && cosigned == 0)
        {
            return new ReceiptVerification(
                false, seq, size, 0,
                "아직 확인되지 않음: 원장의 서명과 포함 증명은 맞지만, 아직 독립 증인이 이 체크포인트를 확인하지 않았습니다. 잠시 후 다시 받아 보세요.",
                "Not verified yet: the ledger's signature and the inclusion proof check out, but no independent witness has vouched for this checkpoint yet. Download the receipt again in a minute.",
                null);
        }

        var ko = witnesses.Count == 0
            ? string.Create(CultureInfo.InvariantCulture, $"확인됨: 이 기록은 원장의 {seq}번 항목이며, 항목 {size}개의 서명된 체크포인트에 포함되어 있습니다. (독립 증인은 설정되어 있지 않습니다.)")
            : string.Create(CultureInfo.InvariantCulture, $"확인됨: 이 기록은 원장의 {seq}번 항목이며, 항목 {size}개의 서명된 체크포인트에 포함되어 있고, 독립 증인 {cosigned}곳이 그 체크포인트를 확인했습니다.");
        var en = witnesses.Count == 0
            ? string.Create(CultureInfo.InvariantCulture, $"Verified: this record is entry {seq} of the ledger and is included in the signed checkpoint of {size} entries. (No independent witness is configured.)")
            : string.Create(CultureInfo.InvariantCulture, $"Verified: this record is entry {seq} of the ledger, included in the signed checkpoint of {size} entries, and {cosigned} independent witness(es) vouched for that checkpoint.");
        return new ReceiptVerification(true, seq, size, cosigned, ko, en, null);
    }
}
