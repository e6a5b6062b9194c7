import type { PeerId } from "@libp2p/interface";
import {
  type BlocksByRangeRequest,
  decodeBlocksByRangeRequest,
  encodeBlocksByRangeRequest,
} from "../codec.js";
import { SyncError, SyncErrorCode } from "../errors.js";
import type { RequestHandler, RequestOptions } from "../reqresp.js";
import type { SyncLibp2p } from "../types.js";
import { type BatchServerContext, type ReceivedBatch, requestSignedBatch, serveBatch } from "./batch-io.js";

/**
 * The heights a handler serves for a request: at most `maxBlocksPerBatch` from `startHeight`.
 * A zero count is invalid; height 0 (genesis) is never served: every node has it.
 */
export function clampRangeRequest(
  req: BlocksByRangeRequest,
  maxBlocksPerBatch: number,
): { from: number; count: number } {
  if (req.count === 0) throw new SyncError(SyncErrorCode.INVALID_REQUEST, "count must be at least 1");
  if (req.startHeight === 0) throw new SyncError(SyncErrorCode.INVALID_REQUEST, "genesis is not served");
  return { from: req.startHeight, count: Math.min(req.count, maxBlocksPerBatch) };
}

/** Server: main-chain blocks from `startHeight`, clamped, as one signed batch (fewer past our tip). */
export function blocksByRangeHandler(ctx: BatchServerContext): RequestHandler {
  return async (request) => {
    const req = decodeBlocksByRangeRequest(request);
    const { from, count } = clampRangeRequest(req, ctx.limits.maxBlocksPerBatch);
    await ctx.chain.settled();
    return serveBatch(ctx, { kind: "range", ...req }, ctx.chain.mainChainRange(from, count));
  };
}

/** Client: asks for `count` main-chain blocks from `startHeight`. */
export function requestBlocksByRange(
  libp2p: SyncLibp2p,
  peer: PeerId,
  protocol: string,
  req: BlocksByRangeRequest,
  opts: Omit<RequestOptions, "maxResponseBytes">,
): Promise<ReceivedBatch> {
  return requestSignedBatch(libp2p, peer, protocol, encodeBlocksByRangeRequest(req), opts);
}
