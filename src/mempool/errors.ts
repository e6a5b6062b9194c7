import { ValidationError } from "../util/index.js";

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
  /** the mempool is not started */
  NOT_STARTED = "MEMPOOL_NOT_STARTED",
}

export type MempoolErrorType = { code: MempoolErrorCode };

/**
 * All policy refusals are `ignore`: another node with another tip or other limits may accept the
 * transaction. None costs the relaying peer anything (`PENALTIES` in the network layer).
 */
export class MempoolError extends ValidationError<MempoolErrorType> {
  constructor(type: MempoolErrorType, message?: string) {
    super(type, "ignore", message);
  }
}
