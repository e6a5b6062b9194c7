import { type ErrorAction, ValidationError } from "../util/errors.js";

/**
 * Stable codes for peer misbehaviour the network layer detects itself (or that request/response
 * sync reports through the composition root). Consensus and codec failures keep their own codes
 * (`BlockErrorCode`, `TxErrorCode`, `CodecErrorCode`); `PENALTIES` covers all of them.
 */
export enum NetworkErrorCode {
  /** a sync batch whose signature does not verify with the sender's identity key */
  BAD_BATCH_SIGNATURE = "NET_BAD_BATCH_SIGNATURE",
  /** a validly signed batch with invalid content: proof against the signer */
  INVALID_BATCH = "NET_INVALID_BATCH",
  /** a request went unanswered within its deadline */
  TIMEOUT = "NET_TIMEOUT",
  /** a message or frame above its size ceiling */
  OVERSIZED = "NET_OVERSIZED",
  /** more messages than the per-peer rate allows */
  FLOOD = "NET_FLOOD",
  /** bytes that do not decode as the protocol's message (outside the primitives codecs) */
  MALFORMED = "NET_MALFORMED",
  /** the peer is on another network or genesis */
  WRONG_NETWORK = "NET_WRONG_NETWORK",
  /** the peer sent a request outside the protocol's bounds */
  INVALID_REQUEST = "NET_INVALID_REQUEST",
  /** the peer answered a request with an error result */
  REMOTE_ERROR = "NET_REMOTE_ERROR",
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
