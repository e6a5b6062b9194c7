import {
  MAX_BATCH_BLOCKS,
  MAX_BATCH_BYTES,
  MAX_HEADERS,
  MAX_LOCATOR_HASHES,
  MAX_REQUEST_FRAME,
} from "./codec.js";

/** Tunables of the sync service; every field has a default in `DEFAULT_SYNC_OPTIONS`. */
export interface SyncOptions {
  /** most blocks one batch request asks for, and most a handler serves */
  maxBlocksPerBatch: number;
  /** most bytes of block data in one batch; a handler stops adding blocks before passing it */
  maxBatchBytes: number;
  /** most hashes a locator answer carries */
  maxLocatorHashes: number;
  /** most headers one headers request asks for, and most a handler serves */
  maxHeadersPerRequest: number;
  /**
   * most headers one sync round fetches and checks before it downloads their bodies (bounds what a
   * peer can make us hold: 32 bytes of id per header kept); a longer branch takes several rounds
   */
  maxHeadersPerRound: number;
  /** deadline of one request (dial, write, answer); past it the request is a stall */
  requestTimeoutMs: number;
  /** batches downloading at once across all peers */
  maxConcurrentDownloads: number;
  /**
   * bytes of downloaded blocks waiting for import (encoded size) past which no further batch is
   * requested; the batch next in line is always fetched. Downloads already running may land on
   * top, so the most held is this plus maxConcurrentDownloads × maxBatchBytes.
   */
  maxBufferedBatchBytes: number;
  /** requests outstanding at once to one peer */
  maxRequestsPerPeer: number;
  /** download attempts of one batch (each on a different peer when there is one) */
  maxDownloadAttempts: number;
  /** processing attempts of one batch before the round gives up */
  maxProcessingAttempts: number;
  /** orphan ancestors fetched one by one before falling back to a locator sync */
  maxAncestorSteps: number;
  /** ancestor walks running at once (one per missing block; none while a round runs) */
  maxAncestorWalks: number;
  /** window of the blocks-per-second meter */
  rateWindowMs: number;
  /** first backoff of a peer that failed us (timed out, or its claimed work went undelivered); doubles per failure in a row */
  peerBackoffBaseMs: number;
  /** longest such backoff */
  peerBackoffMaxMs: number;
  /** request streams one peer may hold open on our server at once (all sync protocols) */
  maxInboundStreamsPerPeer: number;
  /** bytes of one peer's not yet decoded request frames we hold at once (all its streams) */
  maxUndecodedBytesPerPeer: number;
}

export const DEFAULT_SYNC_OPTIONS: Readonly<SyncOptions> = Object.freeze({
  maxBlocksPerBatch: 64,
  maxBatchBytes: 4 * 1024 * 1024,
  maxLocatorHashes: 2048,
  maxHeadersPerRequest: 2048,
  maxHeadersPerRound: 32_768,
  requestTimeoutMs: 10_000,
  maxConcurrentDownloads: 8,
  maxBufferedBatchBytes: 16 * 1024 * 1024,
  maxRequestsPerPeer: 2,
  maxDownloadAttempts: 5,
  maxProcessingAttempts: 3,
  maxAncestorSteps: 16,
  maxAncestorWalks: 4,
  rateWindowMs: 10_000,
  peerBackoffBaseMs: 10_000,
  peerBackoffMaxMs: 600_000,
  // An honest client keeps at most maxRequestsPerPeer downloads, a status and a locator open.
  maxInboundStreamsPerPeer: 16,
  // Eight whole request frames (MAX_REQUEST_FRAME is about 2 KiB); honest requests are whole
  // frames of a few bytes (a locator: up to 2 KiB) that decode as soon as they arrive.
  maxUndecodedBytesPerPeer: 8 * MAX_REQUEST_FRAME,
});

/** Defaults overlaid with `opts`; rejects values that would disable a bound. */
export function resolveSyncOptions(opts: Partial<SyncOptions> = {}): SyncOptions {
  const merged = { ...DEFAULT_SYNC_OPTIONS, ...opts };
  for (const [key, value] of Object.entries(merged)) {
    if (!Number.isInteger(value) || value < 1)
      throw new RangeError(`sync option ${key} must be a positive integer`);
  }
  // Options may tighten the wire protocol's ceilings, never loosen them: peers decode with those.
  if (merged.maxBlocksPerBatch > MAX_BATCH_BLOCKS)
    throw new RangeError(`maxBlocksPerBatch must be ≤ ${MAX_BATCH_BLOCKS}`);
  if (merged.maxBatchBytes > MAX_BATCH_BYTES)
    throw new RangeError(`maxBatchBytes must be ≤ ${MAX_BATCH_BYTES}`);
  if (merged.maxLocatorHashes > MAX_LOCATOR_HASHES)
    throw new RangeError(`maxLocatorHashes must be ≤ ${MAX_LOCATOR_HASHES}`);
  if (merged.maxHeadersPerRequest > MAX_HEADERS)
    throw new RangeError(`maxHeadersPerRequest must be ≤ ${MAX_HEADERS}`);
  return merged;
}
