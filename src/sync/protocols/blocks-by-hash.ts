import type { PeerId } from "@libp2p/interface";
import { toHex } from "../../primitives/index.js";
import { type BlockIndexEntry, BlockStatus } from "../../store/index.js";
import { type BlocksByHashRequest, decodeBlocksByHashRequest, encodeBlocksByHashRequest } from "../codec.js";
import type { RequestHandler, RequestOptions } from "../reqresp.js";
import type { SyncLibp2p } from "../types.js";
import { type BatchServerContext, type ReceivedBatch, requestSignedBatch, serveBatch } from "./batch-io.js";

/**
 * Server: the requested blocks we hold on any branch (invalid ones never), in request order,
 * skipping unknown hashes, at most `maxBlocksPerBatch` of the requested hashes considered.
 */
export function blocksByHashHandler(ctx: BatchServerContext): RequestHandler {
  return async (request) => {
    const req = decodeBlocksByHashRequest(request);
    const entries: BlockIndexEntry[] = [];
    for (const hash of req.hashes.slice(0, ctx.limits.maxBlocksPerBatch)) {
      const entry = ctx.chain.getEntry(toHex(hash));
      if (entry && (entry.status === BlockStatus.Data || entry.status === BlockStatus.Valid))
        entries.push(entry);
    }
    return serveBatch(ctx, { kind: "hashes", hashes: req.hashes }, entries);
  };
}

/** Client: asks for blocks by id (1..64 hashes). */
export function requestBlocksByHash(
  libp2p: SyncLibp2p,
  peer: PeerId,
  protocol: string,
  req: BlocksByHashRequest,
  opts: Omit<RequestOptions, "maxResponseBytes">,
): Promise<ReceivedBatch> {
  return requestSignedBatch(libp2p, peer, protocol, encodeBlocksByHashRequest(req), opts);
}
