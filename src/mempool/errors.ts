import { type ErrorAction, ValidationError } from "../util/errors.js";

/**
 * Why the mempool refused a transaction. Consensus failures (signature, network, overflow, funds)
 * are thrown as the consensus `TxError` with its `TxErrorCode`; these codes are pool policy.
 */
export enum MempoolErrorCode {
  /** the same transaction id is already in the pool */
  DUPLICATE = "MEMPOOL_DUPLICATE",
  /** nonce below the sender's account nonce: already spent (or mined meanwhile) */
  NONCE_TOO_LOW = "MEMPOOL_NONCE_TOO_LOW",
  /** nonce too far past the sender's next executable nonce to wait in the queue */
  NONCE_GAP_TOO_LARGE = "MEMPOOL_NONCE_GAP_TOO_LARGE",
  /** the sender already has the most transactions one sender may hold */
  SENDER_FULL = "MEMPOOL_SENDER_FULL",
  /** same sender and nonce as a pooled transaction, without the required fee bump */
  REPLACEMENT_UNDERPRICED = "MEMPOOL_REPLACEMENT_UNDERPRICED",
  /** the pool is full and the transaction does not pay more than what it would evict */
  FULL = "MEMPOOL_FULL",
  /** fee rate below the pool's minimum */
  FEE_TOO_LOW = "MEMPOOL_FEE_TOO_LOW",
  /** the relaying peer exceeded its rate; the transaction was not looked at */
  RATE_LIMITED = "MEMPOOL_RATE_LIMITED",
  /** the mempool is not started */
  NOT_STARTED = "MEMPOOL_NOT_STARTED",
}

export type MempoolErrorType =
  | { code: Exclude<MempoolErrorCode, MempoolErrorCode.RATE_LIMITED> }
  | { code: MempoolErrorCode.RATE_LIMITED; peer: string };

/**
 * Per code: the gossip action, and whether the relaying peer should be penalised. All policy
 * refusals are `ignore` (another node with another tip or other limits may accept the
 * transaction); only flooding is the peer's fault although the transaction itself is not invalid.
 */
export const MEMPOOL_ERROR_META: Readonly<
  Record<MempoolErrorCode, { action: ErrorAction; penalizePeer: boolean }>
> = Object.freeze({
  [MempoolErrorCode.DUPLICATE]: { action: "ignore", penalizePeer: false },
  [MempoolErrorCode.NONCE_TOO_LOW]: { action: "ignore", penalizePeer: false },
  [MempoolErrorCode.NONCE_GAP_TOO_LARGE]: { action: "ignore", penalizePeer: false },
  [MempoolErrorCode.SENDER_FULL]: { action: "ignore", penalizePeer: false },
  [MempoolErrorCode.REPLACEMENT_UNDERPRICED]: { action: "ignore", penalizePeer: false },
  [MempoolErrorCode.FULL]: { action: "ignore", penalizePeer: false },
  [MempoolErrorCode.FEE_TOO_LOW]: { action: "ignore", penalizePeer: false },
  [MempoolErrorCode.RATE_LIMITED]: { action: "ignore", penalizePeer: true },
  [MempoolErrorCode.NOT_STARTED]: { action: "ignore", penalizePeer: false },
});

export class MempoolError extends ValidationError<MempoolErrorType> {
  constructor(type: MempoolErrorType, message?: string) {
    super(type, MEMPOOL_ERROR_META[type.code].action, message);
  }

  /** true when the peer that relayed the transaction should be penalised (flooding) */
  get penalizePeer(): boolean {
    return MEMPOOL_ERROR_META[this.type.code].penalizePeer;
  }
}
