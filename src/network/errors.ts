import { type ErrorAction, ValidationError } from "../util/index.js";

/**
 * Stable codes for what the network layer detects itself in gossip and peer health. Consensus,
 * codec, sync and mempool failures keep their own codes; `PENALTIES` covers all of them.
 */
export enum NetworkErrorCode {
  /** a gossip message above its size ceiling */
  OVERSIZED = "NET_OVERSIZED",
  /** more gossip messages than the per-peer rate: ignored, not charged */
  THROTTLED = "NET_THROTTLED",
  /** more gossip messages than ten times the per-peer rate: abuse, charged per message */
  FLOOD = "NET_FLOOD",
  /** our queue of blocks waiting for validation is full: the block is dropped, not charged */
  BUSY = "NET_BUSY",
  /** the peer kept failing health-check pings */
  UNRESPONSIVE = "NET_UNRESPONSIVE",
  /** a gossip handler failed for a reason that is not the peer's fault (a bug or a store error) */
  HANDLER_FAILED = "NET_HANDLER_FAILED",
  /** the network host was used before `start()` or after `stop()` */
  NOT_STARTED = "NET_NOT_STARTED",
}

export interface NetworkErrorType {
  code: NetworkErrorCode;
}

/** An error about a peer's traffic (with the action gossip must take) or about host use. */
export class NetworkError extends ValidationError<NetworkErrorType> {
  constructor(code: NetworkErrorCode, message?: string, action: ErrorAction = "reject") {
    super({ code }, action, message);
  }
}
