import { NetworkErrorCode } from "../network/errors.js";
import type { PeerReputation } from "../network/reputation.js";
import { SyncErrorCode } from "../sync/errors.js";
import type { PeerScorer } from "../sync/types.js";

/**
 * Sync reports misbehaviour with its own SYNC_* codes; the reputation table (one table for gossip
 * and request/response) is keyed by NET_* codes. This adapter is that mapping, so a forged batch
 * from sync costs exactly what the table says (a ban), not the unknown-code default.
 * Codes with no penalty (UNEXPECTED_BATCH, STREAM_FAILED, …) map to nothing and cost nothing.
 */
export const SYNC_TO_NETWORK_CODE: Readonly<Partial<Record<SyncErrorCode, NetworkErrorCode>>> = {
  [SyncErrorCode.BAD_BATCH_SIGNATURE]: NetworkErrorCode.BAD_BATCH_SIGNATURE,
  [SyncErrorCode.INVALID_BATCH]: NetworkErrorCode.INVALID_BATCH,
  [SyncErrorCode.TIMEOUT]: NetworkErrorCode.TIMEOUT,
  [SyncErrorCode.OVERSIZED]: NetworkErrorCode.OVERSIZED,
  [SyncErrorCode.MALFORMED]: NetworkErrorCode.MALFORMED,
  [SyncErrorCode.WRONG_NETWORK]: NetworkErrorCode.WRONG_NETWORK,
  [SyncErrorCode.INVALID_REQUEST]: NetworkErrorCode.INVALID_REQUEST,
  [SyncErrorCode.REMOTE_ERROR]: NetworkErrorCode.REMOTE_ERROR,
};

export function syncScorer(reputation: Pick<PeerReputation, "penalize">): PeerScorer {
  return {
    penalize(peerId, code, detail) {
      const mapped = SYNC_TO_NETWORK_CODE[code as SyncErrorCode];
      if (mapped) reputation.penalize(peerId, mapped, { ...detail, syncCode: code });
      else if (!code.startsWith("SYNC_")) reputation.penalize(peerId, code, detail);
    },
  };
}
