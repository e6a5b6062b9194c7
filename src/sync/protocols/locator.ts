import type { PeerId } from "@libp2p/interface";
import { fromHex, toHex } from "../../primitives/index.js";
import {
  decodeLocatorRequest,
  decodeLocatorResponse,
  encodeLocatorRequest,
  encodeLocatorResponse,
  type LocatorResponse,
  MAX_LOCATOR_HASHES,
  MAX_LOCATOR_LENGTH,
  MAX_RESPONSE_FRAME,
} from "../codec.js";
import { SyncError, SyncErrorCode } from "../errors.js";
import { type RequestHandler, type RequestOptions, sendRequest } from "../reqresp.js";
import type { SyncChain, SyncLibp2p } from "../types.js";

/**
 * Server: finds the highest locator entry on our main chain (the fork point) and answers it with
 * up to `min(maxHashes, limit)` main-chain hashes above it. A locator with no block of ours is an
 * invalid request (same network always shares genesis).
 */
export function locatorHandler(chain: SyncChain, limit: { maxLocatorHashes: number }): RequestHandler {
  return async (request) => {
    const req = decodeLocatorRequest(request);
    const fork = chain.findForkPoint(req.locator.map(toHex));
    if (!fork)
      throw new SyncError(SyncErrorCode.INVALID_REQUEST, "locator shares no block with our main chain");
    const count = Math.min(req.maxHashes, limit.maxLocatorHashes, MAX_LOCATOR_HASHES);
    const hashes = chain.mainChainRange(fork.height + 1, count).map((e) => e.hash);
    return encodeLocatorResponse({ forkHeight: fork.height, forkHash: fork.hash, hashes });
  };
}

/**
 * Client: sends our locator (hex, tip first; long locators keep their first entries and genesis)
 * and returns the fork point with the peer's hashes above it.
 */
export async function requestLocator(
  libp2p: SyncLibp2p,
  peer: PeerId,
  protocol: string,
  locatorHex: readonly string[],
  maxHashes: number,
  opts: Omit<RequestOptions, "maxResponseBytes">,
): Promise<LocatorResponse> {
  const trimmed =
    locatorHex.length > MAX_LOCATOR_LENGTH
      ? [...locatorHex.slice(0, MAX_LOCATOR_LENGTH - 1), locatorHex[locatorHex.length - 1]!]
      : locatorHex;
  const body = encodeLocatorRequest({ locator: trimmed.map(fromHex), maxHashes });
  const payload = await sendRequest(libp2p, peer, protocol, body, {
    ...opts,
    maxResponseBytes: MAX_RESPONSE_FRAME,
  });
  let response: LocatorResponse;
  try {
    response = decodeLocatorResponse(payload);
  } catch (err) {
    throw new SyncError(SyncErrorCode.MALFORMED, (err as Error).message);
  }
  if (response.hashes.length > maxHashes)
    throw new SyncError(SyncErrorCode.OVERSIZED, "more hashes than asked for");
  return response;
}
