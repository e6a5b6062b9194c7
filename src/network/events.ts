import type { BanRecord } from "./records.js";

export interface PeerEvent {
  peerId: string;
}

/** A gossiped block whose parent we lack: sync should fetch `missingAncestor` from `fromPeerId`. */
export interface OrphanBlockEvent {
  fromPeerId: string;
  hash: string;
  missingAncestor: string;
}

/** Events of the network host (typed; the composition root wires reactions to them). */
export interface NetworkEvents {
  /** first connection to a peer opened */
  peerConnected: PeerEvent;
  /** the last connection to a peer closed */
  peerDisconnected: PeerEvent;
  /** a peer crossed the ban threshold; it has been disconnected and is refused until `untilMs` */
  peerBanned: BanRecord;
  orphanBlock: OrphanBlockEvent;
}
