import type { TransferTx } from "../primitives/index.js";

/** Why a transaction left the pool. */
export type RemovalReason =
  /** a connected block contains it */
  | "included"
  /** a transaction with the same sender and nonce and a higher fee took its place */
  | "replaced"
  /** the pool was full and it paid the lowest fee rate */
  | "evicted"
  /** it waited longer than the expiry */
  | "expired"
  /** the sender's account nonce passed it (a conflicting transaction was mined) */
  | "nonce-too-low"
  /** the sender's balance no longer covers it together with the sender's lower nonces */
  | "unaffordable"
  /** it no longer passes the stateless rules (a persisted entry that fails on load) */
  | "invalid";

export interface TxAddedEvent {
  id: string;
  tx: TransferTx;
  /** executable now (contiguous from the account nonce) or waiting for a lower nonce */
  executable: boolean;
  /** the peer that relayed it (gossip), for logs; absent for local submissions */
  fromPeer?: string;
}

export interface TxRemovedEvent {
  id: string;
  tx: TransferTx;
  reason: RemovalReason;
}

export interface MempoolEvents {
  txAdded: TxAddedEvent;
  txRemoved: TxRemovedEvent;
}
