import { toHex } from "../../primitives/index.js";
import type { BlockIndexEntry } from "../../store/index.js";
import { decodeLocatorRequest, encodeLocatorResponse, MAX_LOCATOR_HASHES } from "../codec.js";
import { SyncError, SyncErrorCode } from "../errors.js";
import type { RequestHandler } from "../reqresp.js";
import type { SyncChain } from "../types.js";

/**
 * The highest entry of a peer's locator on our main chain: where its chain and ours fork. A locator
 * with no block of ours is an invalid request (same network always shares genesis).
 */
export function forkPointOf(chain: SyncChain, locator: readonly Uint8Array[]): BlockIndexEntry {
  const fork = chain.findForkPoint(locator.map(toHex));
  if (!fork)
    throw new SyncError(SyncErrorCode.INVALID_REQUEST, "locator shares no block with our main chain");
  return fork;
}

/**
 * Note: our own client asks `headers/1` (headers-first sync); this protocol is served for nodes
 * that still sync from hashes.
 *
 * Server: finds the highest locator entry on our main chain (the fork point) and answers it with
 * up to `min(maxHashes, limit)` main-chain hashes above it. A locator with no block of ours is an
 * invalid request (same network always shares genesis).
 */
export function locatorHandler(chain: SyncChain, limit: { maxLocatorHashes: number }): RequestHandler {
  return async (request) => {
    const req = decodeLocatorRequest(request);
    await chain.settled();
    const fork = forkPointOf(chain, req.locator);
    const count = Math.min(req.maxHashes, limit.maxLocatorHashes, MAX_LOCATOR_HASHES);
    const hashes = chain.mainChainRange(fork.height + 1, count).map((e) => e.hash);
    return encodeLocatorResponse({ forkHeight: fork.height, forkHash: fork.hash, hashes });
  };
}
