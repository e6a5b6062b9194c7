import type { SyncErrorCode } from "./errors.js";

/** A snapshot of sync for the API and the logs. */
export interface SyncProgress {
  /** a sync round is running */
  syncing: boolean;
  height: number;
  /** the highest height a connected peer reported (our height when none is higher) */
  targetHeight: number;
  /**
   * headers-first, stage one: `height` is the last header checked in the running round (our
   * height when idle or before the first run arrives); `targetHeight` as above
   */
  headers: { height: number; targetHeight: number };
  /**
   * stage two: `height` is our chain height; while a round runs `targetHeight` is as far as the
   * checked headers reach (bodies can go no further), otherwise as above
   */
  blocks: { height: number; targetHeight: number };
  /** blocks imported per second over the meter's window */
  blocksPerSecond: number;
  /** null while the rate is unknown (nothing imported lately) */
  etaSeconds: number | null;
  /** peers whose status we know */
  peers: number;
  /** encoded bytes of downloaded blocks waiting for import */
  bufferedBytes: number;
}

export interface SyncCompleteEvent {
  height: number;
  hash: string;
  importedBlocks: number;
  seconds: number;
}

/** A batch refused because of what its peer sent (signature, content, invalid blocks). */
export interface BatchRejectedEvent {
  peerId: string;
  code: SyncErrorCode;
  startHeight: number;
  count: number;
  /** the consensus code when a block of a signed batch was invalid */
  blockCode?: string;
}

/** A batch downloaded and verified, waiting for import; `bufferedBytes` counts it. */
export interface BatchDownloadedEvent {
  peerId: string;
  startHeight: number;
  count: number;
  bytes: number;
  bufferedBytes: number;
}

/** A batch imported: who served it, which heights. */
export interface BatchProcessedEvent {
  peerId: string;
  startHeight: number;
  count: number;
}

export interface PeerStatusEvent {
  peerId: string;
  height: number;
  tipHash: string;
  chainWork: bigint;
}

export interface SyncEvents {
  syncProgress: SyncProgress;
  syncComplete: SyncCompleteEvent;
  batchRejected: BatchRejectedEvent;
  batchDownloaded: BatchDownloadedEvent;
  batchProcessed: BatchProcessedEvent;
  peerStatus: PeerStatusEvent;
}
