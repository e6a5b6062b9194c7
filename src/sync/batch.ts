import type { PrivateKey } from "@libp2p/interface";
import {
  ByteWriter,
  type DecodedBlock,
  decodeBlockEnvelope,
  equalBytes,
  sha256,
  verifySignature,
} from "../primitives/index.js";
import { type BatchRequest, encodeBatchRequest, MAX_BATCH_BLOCKS, type SignedBatch } from "./codec.js";
import { SyncError, SyncErrorCode } from "./errors.js";

/** Domain separation: a batch signature can never be replayed as any other Quarry signature. */
export const BATCH_DOMAIN_TAG = new TextEncoder().encode("QUARRY-BATCH-V1\0");

/**
 * The bytes a batch signature covers:
 * `"QUARRY-BATCH-V1\0" | networkId u32 | request (as encoded in the batch) | blockCount u32 |
 * blockHashes | SHA-256(for each block: length u32 | encoding)`.
 * The body digest makes the signature cover the exact block bytes, so a signed batch with a bad
 * block is evidence a third party can check.
 */
export function batchSigningMessage(
  networkId: number,
  request: BatchRequest,
  blockHashes: readonly Uint8Array[],
  blocks: readonly Uint8Array[],
): Uint8Array {
  const req = encodeBatchRequest(request);
  const parts: Uint8Array[] = [];
  for (const block of blocks) parts.push(new ByteWriter(4).u32(block.length).finish(), block);
  const bodyDigest = sha256(...parts);
  const w = new ByteWriter(BATCH_DOMAIN_TAG.length + 4 + req.length + 4 + blockHashes.length * 32 + 32)
    .raw(BATCH_DOMAIN_TAG)
    .u32(networkId)
    .raw(req)
    .u32(blockHashes.length);
  for (const h of blockHashes) w.raw(h);
  return w.raw(bodyDigest).finish();
}

/** Signs a batch with the serving node's libp2p identity key (Ed25519 only). */
export async function signBatch(
  privateKey: PrivateKey,
  networkId: number,
  request: BatchRequest,
  blocks: readonly Uint8Array[],
  blockHashes: readonly Uint8Array[],
): Promise<SignedBatch> {
  if (privateKey.type !== "Ed25519") throw new TypeError("batches are signed with an Ed25519 identity key");
  if (blocks.length !== blockHashes.length) throw new RangeError("one hash per block");
  const message = batchSigningMessage(networkId, request, blockHashes, blocks);
  const signature = await privateKey.sign(message);
  return {
    request,
    blockHashes: [...blockHashes],
    blocks: [...blocks],
    signer: privateKey.publicKey.raw,
    signature,
  };
}

/**
 * Checks that `batch` was signed by `peerPublicKey` (the raw Ed25519 key inside the sender's
 * PeerId). Throws SYNC_BAD_BATCH_SIGNATURE otherwise. Nothing of the blocks is decoded first.
 */
export function verifyBatchSignature(batch: SignedBatch, peerPublicKey: Uint8Array, networkId: number): void {
  if (!equalBytes(batch.signer, peerPublicKey)) {
    throw new SyncError(SyncErrorCode.BAD_BATCH_SIGNATURE, "batch signer is not the serving peer");
  }
  const message = batchSigningMessage(networkId, batch.request, batch.blockHashes, batch.blocks);
  if (!verifySignature(peerPublicKey, message, batch.signature)) {
    throw new SyncError(SyncErrorCode.BAD_BATCH_SIGNATURE, "batch signature does not verify");
  }
}

function sameRequest(a: BatchRequest, b: BatchRequest): boolean {
  if (a.kind === "range" && b.kind === "range") return a.startHeight === b.startHeight && a.count === b.count;
  if (a.kind === "hashes" && b.kind === "hashes")
    return a.hashes.length === b.hashes.length && a.hashes.every((h, i) => equalBytes(h, b.hashes[i]!));
  return false;
}

/** A verified batch: decoded blocks with their hex ids, in the batch's order. */
export interface OpenedBatch {
  blocks: DecodedBlock[];
  hashes: string[];
}

/**
 * Verifies the signature, then decodes and checks the batch against the request we sent:
 * the echoed request, each block's id, at most the requested count, range batches linked parent
 * to child, hash batches a subsequence of the requested hashes. After the signature passed, every
 * failure is SYNC_INVALID_BATCH: the peer signed content that is wrong, which is proof.
 */
export function openBatch(
  batch: SignedBatch,
  asked: BatchRequest,
  peerPublicKey: Uint8Array,
  networkId: number,
): OpenedBatch {
  verifyBatchSignature(batch, peerPublicKey, networkId);
  const invalid = (why: string) => new SyncError(SyncErrorCode.INVALID_BATCH, why);
  if (!sameRequest(batch.request, asked)) throw invalid("batch answers a different request");
  const limit = asked.kind === "range" ? Math.min(asked.count, MAX_BATCH_BLOCKS) : asked.hashes.length;
  if (batch.blocks.length > limit)
    throw invalid(`batch holds ${batch.blocks.length} blocks, asked for ${limit}`);
  const blocks: DecodedBlock[] = [];
  const hashes: string[] = [];
  for (let i = 0; i < batch.blocks.length; i++) {
    let block: DecodedBlock;
    try {
      block = decodeBlockEnvelope(batch.blocks[i]!);
    } catch (err) {
      throw invalid(`block ${i} does not decode: ${(err as Error).message}`);
    }
    if (!equalBytes(block.hash, batch.blockHashes[i]!))
      throw invalid(`block ${i} does not hash to its listed id`);
    if (
      i > 0 &&
      asked.kind === "range" &&
      !equalBytes(block.block.header.prevHash, batch.blockHashes[i - 1]!)
    ) {
      throw invalid(`block ${i} does not extend block ${i - 1}`);
    }
    blocks.push(block);
    hashes.push(block.hashHex);
  }
  if (asked.kind === "hashes") {
    // Served blocks must follow the requested order; the server skips only blocks it lacks.
    let cursor = 0;
    for (const h of batch.blockHashes) {
      while (cursor < asked.hashes.length && !equalBytes(asked.hashes[cursor]!, h)) cursor++;
      if (cursor === asked.hashes.length) throw invalid("batch holds a block that was not requested");
      cursor++;
    }
  }
  return { blocks, hashes };
}
