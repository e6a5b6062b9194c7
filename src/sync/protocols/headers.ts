import type { PeerId } from "@libp2p/interface";
import { fromHex } from "../../primitives/index.js";
import {
  decodeHeadersRequest,
  decodeHeadersResponse,
  encodeHeadersRequest,
  encodeHeadersResponse,
  type HeadersResponse,
  MAX_HEADERS,
  MAX_LOCATOR_LENGTH,
  MAX_RESPONSE_FRAME,
} from "../codec.js";
import { SyncError, SyncErrorCode } from "../errors.js";
import { type RequestHandler, type RequestOptions, sendRequest } from "../reqresp.js";
import type { SyncChain, SyncLibp2p } from "../types.js";
import { forkPointOf } from "./locator.js";

/**
 * Server: finds the highest locator entry on our main chain (the fork point) and answers it with
 * up to `min(maxHeaders, limit, MAX_HEADERS)` main-chain headers above it (`forkPointOf`: a
 * locator with no block of ours is an invalid request).
 */
export function headersHandler(chain: SyncChain, limit: { maxHeadersPerRequest: number }): RequestHandler {
  return async (request) => {
    const req = decodeHeadersRequest(request);
    await chain.settled();
    const fork = forkPointOf(chain, req.locator);
    const count = Math.min(req.maxHashes, limit.maxHeadersPerRequest, MAX_HEADERS);
    const headers = chain.mainChainRange(fork.height + 1, count).map((e) => e.header);
    return encodeHeadersResponse({ forkHeight: fork.height, forkHash: fork.hash, headers });
  };
}

/**
 * Client: sends a locator (hex, newest first; long locators keep their first entries and the
 * last) and returns the fork point with the peer's headers above it, unchecked (the caller checks
 * them as a chain: `checkHeaderRun`).
 */
export async function requestHeaders(
  libp2p: SyncLibp2p,
  peer: PeerId,
  protocol: string,
  locatorHex: readonly string[],
  maxHeaders: number,
  opts: Omit<RequestOptions, "maxResponseBytes">,
): Promise<HeadersResponse> {
  const trimmed =
    locatorHex.length > MAX_LOCATOR_LENGTH
      ? [...locatorHex.slice(0, MAX_LOCATOR_LENGTH - 1), locatorHex[locatorHex.length - 1]!]
      : locatorHex;
  const body = encodeHeadersRequest({ locator: trimmed.map(fromHex), maxHashes: maxHeaders });
  const payload = await sendRequest(libp2p, peer, protocol, body, {
    ...opts,
    maxResponseBytes: MAX_RESPONSE_FRAME,
  });
  let response: HeadersResponse;
  try {
    response = decodeHeadersResponse(payload);
  } catch (err) {
    throw new SyncError(SyncErrorCode.MALFORMED, (err as Error).message);
  }
  if (response.headers.length > maxHeaders)
    throw new SyncError(SyncErrorCode.OVERSIZED, "more headers than asked for");
  return response;
}
