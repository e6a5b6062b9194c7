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

/** What a penalty is about, for the security log line it leaves. */
export interface PeerOffence {
  kind: "batch" | "frame";
  detail?: Record<string, unknown>;
}

/**
 * Peer reputation, owned by the network layer (`PeerReputation` fits): one table maps codes to
 * points; a charge with points also leaves a security-log line. Returns the points charged.
 */
export interface PeerScorer {
  penalize(peerId: string, code: string, offence?: PeerOffence): number;
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
  | "getBlockBytes"
  | "getEntry"
  | "entryAtHeight"
  | "processBlock"
  | "processBlocks"
  | "provenBranchWork"
  | "headerChainTip"
  | "isLowWork"
  | "prefetchSignatures"
  | "halted"
  | "settled"
  | "on"
  | "off"
>;
