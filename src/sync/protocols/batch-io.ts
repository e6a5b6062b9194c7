import type { PeerId, PrivateKey } from "@libp2p/interface";
import type { BlockIndexEntry } from "../../store/index.js";
import { signBatch } from "../batch.js";
import {
  type BatchRequest,
  decodeSignedBatch,
  encodeSignedBatch,
  MAX_RESPONSE_FRAME,
  type SignedBatch,
} from "../codec.js";
import { SyncError, SyncErrorCode } from "../errors.js";
import { type RequestOptions, sendRequest } from "../reqresp.js";
import type { SyncChain, SyncLibp2p } from "../types.js";

/** What a batch handler needs: the chain to read, the key to sign, the bounds to serve. */
export interface BatchServerContext {
  chain: SyncChain;
  privateKey: PrivateKey;
  limits: { maxBlocksPerBatch: number; maxBatchBytes: number };
}

/**
 * Loads the entries' blocks until the byte budget would be passed (always at least one block),
 * signs them as the answer to `request` and returns the encoded batch.
 */
export async function serveBatch(
  ctx: BatchServerContext,
  request: BatchRequest,
  entries: readonly BlockIndexEntry[],
): Promise<Uint8Array> {
  const blocks: Uint8Array[] = [];
  const hashes: Uint8Array[] = [];
  let bytes = 0;
  for (const entry of entries) {
    // Served exactly as stored: the bytes the block arrived or was mined with.
    const encoded = await ctx.chain.getBlockBytes(entry.hashHex);
    if (!encoded) break;
    if (blocks.length > 0 && bytes + encoded.length > ctx.limits.maxBatchBytes) break;
    bytes += encoded.length;
    blocks.push(encoded);
    hashes.push(entry.hash);
  }
  const batch = await signBatch(ctx.privateKey, ctx.chain.networkParams.networkId, request, blocks, hashes);
  return encodeSignedBatch(batch);
}

/** A received batch, decoded but not yet verified, with its bytes (evidence if it is bad). */
export interface ReceivedBatch {
  batch: SignedBatch;
  raw: Uint8Array;
}

/** Client half shared by blocks-by-range and blocks-by-hash. */
export async function requestSignedBatch(
  libp2p: SyncLibp2p,
  peer: PeerId,
  protocol: string,
  body: Uint8Array,
  opts: Omit<RequestOptions, "maxResponseBytes">,
): Promise<ReceivedBatch> {
  const raw = await sendRequest(libp2p, peer, protocol, body, {
    ...opts,
    maxResponseBytes: MAX_RESPONSE_FRAME,
  });
  try {
    return { batch: decodeSignedBatch(raw), raw };
  } catch (err) {
    throw new SyncError(SyncErrorCode.MALFORMED, (err as Error).message);
  }
}
