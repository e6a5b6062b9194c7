import { QuarryError } from "../util/index.js";

/**
 * Stable codes for everything that can go wrong in request/response sync. They go to the peer
 * scorer as they are; the network layer's one table (`PENALTIES`) says what each costs the peer.
 */
export enum SyncErrorCode {
  /** a request went unanswered within its deadline (a stall) */
  TIMEOUT = "SYNC_TIMEOUT",
  /** a frame's length prefix or a count exceeded its ceiling */
  OVERSIZED = "SYNC_OVERSIZED",
  /** bytes that do not decode as the protocol's message */
  MALFORMED = "SYNC_MALFORMED",
  /** status handshake: other network name or genesis */
  WRONG_NETWORK = "SYNC_WRONG_NETWORK",
  /** a batch whose signature does not verify with the sender's identity key */
  BAD_BATCH_SIGNATURE = "SYNC_BAD_BATCH_SIGNATURE",
  /** a validly signed batch with invalid content (bad block, wrong hash, not linked): proof */
  INVALID_BATCH = "SYNC_INVALID_BATCH",
  /** a valid batch that does not hold the blocks we expected (the peer's chain moved): no proof */
  UNEXPECTED_BATCH = "SYNC_UNEXPECTED_BATCH",
  /** the peer answered with an error result code */
  REMOTE_ERROR = "SYNC_REMOTE_ERROR",
  /** dialling or the stream failed (peer gone, reset) */
  STREAM_FAILED = "SYNC_STREAM_FAILED",
  /** a request we sent was refused by our own handler (invalid request bounds) */
  INVALID_REQUEST = "SYNC_INVALID_REQUEST",
  /** a batch state machine was driven through a transition it does not allow (a bug) */
  BAD_BATCH_STATE = "SYNC_BAD_BATCH_STATE",
  /** the service stopped while the operation was running */
  STOPPED = "SYNC_STOPPED",
  /** a peer opened more request streams, or held more undecoded bytes, than its per-peer limit */
  STREAM_LIMIT = "SYNC_STREAM_LIMIT",
  /**
   * a peer kept failing us: its claimed work went undelivered (a round it anchored raised our
   * work by nothing) or its requests timed out, again since it last delivered
   */
  NOT_DELIVERING = "SYNC_NOT_DELIVERING",
  /**
   * headers-first sync: a header of the peer's main chain fails the header rules (linkage, bits,
   * proof of work, median time); caught before any body is requested
   */
  INVALID_HEADERS = "SYNC_INVALID_HEADERS",
  /**
   * headers-first sync: the peer's whole main chain of headers, checked, proves less work than its
   * status claimed; caught before any body is requested
   */
  WORK_NOT_PROVEN = "SYNC_WORK_NOT_PROVEN",
}

export interface SyncErrorType {
  code: SyncErrorCode;
}

/** Every error the sync folder raises on purpose. */
export class SyncError extends QuarryError<SyncErrorType> {
  constructor(code: SyncErrorCode, message?: string) {
    super({ code }, message);
  }
}

/** True when `err` is a SyncError with one of `codes` (any SyncError when none given). */
export function isSyncError(err: unknown, ...codes: SyncErrorCode[]): err is SyncError {
  return err instanceof SyncError && (codes.length === 0 || codes.includes(err.type.code));
}
