import type { Libp2p } from "@libp2p/interface";
import type { Chain } from "../chain/index.js";

/** The part of a libp2p node the sync service uses (structural: any libp2p 3 node fits). */
export type SyncLibp2p = Pick<
  Libp2p,
  | "peerId"
  | "handle"
  | "unhandle"
  | "dialProtocol"
  | "hangUp"
  | "getPeers"
  | "addEventListener"
  | "removeEventListener"
>;

/** Peer reputation, owned by the network layer: one table maps codes to points. */
export interface PeerScorer {
  penalize(peerId: string, code: string, detail?: Record<string, unknown>): void;
}

/** One security-log line: what a peer sent that we refused. */
export interface SecurityLogEntry {
  peerId: string;
  code: string;
  kind: "batch" | "block" | "frame";
  detail?: Record<string, unknown>;
}

/** The network layer's persisted, bounded security log. */
export interface SecurityLog {
  record(entry: SecurityLogEntry): void;
}

/** The part of the Chain the sync service uses. */
export type SyncChain = Pick<
  Chain,
  | "tip"
  | "height"
  | "networkParams"
  | "getLocator"
  | "findForkPoint"
  | "mainChainRange"
  | "getBlock"
  | "getEntry"
  | "entryAtHeight"
  | "processBlock"
  | "prefetchSignatures"
  | "on"
  | "off"
>;
