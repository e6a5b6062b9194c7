import { generateKeyPair } from "@libp2p/crypto/keys";
import { beforeAll, describe, expect, it } from "vitest";
import { REGTEST } from "../../../src/consensus/params.js";
import { type Block, blockHash, encodeBlock } from "../../../src/primitives/block.js";
import { transactionId } from "../../../src/primitives/transaction.js";
import { openBatch, signBatch, verifyBatchSignature } from "../../../src/sync/batch.js";
import type { BatchRequest, SignedBatch } from "../../../src/sync/codec.js";
import { SyncError, SyncErrorCode } from "../../../src/sync/errors.js";
import { ChainBuilder } from "../../helpers/chain-builder.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof SyncError ? err.type.code : `not a SyncError: ${String(err)}`;
  }
  return undefined;
}

describe("signed batches", () => {
  let blocks: Block[];
  const asked: BatchRequest = { kind: "range", startHeight: 1, count: 4 };
  let key: Awaited<ReturnType<typeof generateKeyPair>>;
  let other: Awaited<ReturnType<typeof generateKeyPair>>;
  let batch: SignedBatch;

  beforeAll(async () => {
    const b = ChainBuilder.create();
    blocks = await b.mineMany(4);
    key = await generateKeyPair("Ed25519");
    other = await generateKeyPair("Ed25519");
    batch = await signBatch(key, REGTEST.networkId, asked, blocks.map(encodeBlock), blocks.map(blockHash));
  });

  it("a batch signed by the peer's identity key verifies and opens to its blocks", () => {
    const opened = openBatch(batch, asked, key.publicKey.raw, REGTEST.networkId);
    expect(opened.blocks.map((b) => b.block)).toEqual(blocks);
    // The envelope carries the received bytes and the ids computed from them.
    expect(opened.blocks.map((b) => b.bytes)).toEqual(batch.blocks);
    expect(opened.blocks.map((b) => b.hash)).toEqual(blocks.map(blockHash));
    expect(opened.blocks.map((b) => b.txIds)).toEqual(blocks.map((b) => b.txs.map(transactionId)));
    expect(opened.hashes).toHaveLength(4);
  });

  it("SYNC_BAD_BATCH_SIGNATURE: a forged signature (another key, the peer's key as signer)", async () => {
    const forged = await signBatch(other, REGTEST.networkId, asked, batch.blocks, batch.blockHashes);
    expect(
      codeOf(() =>
        verifyBatchSignature({ ...forged, signer: key.publicKey.raw }, key.publicKey.raw, REGTEST.networkId),
      ),
    ).toBe(SyncErrorCode.BAD_BATCH_SIGNATURE);
  });

  it("SYNC_BAD_BATCH_SIGNATURE: a signer that is not the serving peer", () => {
    expect(codeOf(() => verifyBatchSignature(batch, other.publicKey.raw, REGTEST.networkId))).toBe(
      SyncErrorCode.BAD_BATCH_SIGNATURE,
    );
  });

  it("SYNC_BAD_BATCH_SIGNATURE: the signature covers network, request, hashes and block bytes", () => {
    const flipped = batch.blocks.map((b) => b.slice());
    flipped[2]![10]! ^= 1;
    const cases: SignedBatch[] = [
      { ...batch, blocks: flipped },
      { ...batch, request: { kind: "range", startHeight: 2, count: 4 } },
      { ...batch, blockHashes: [...batch.blockHashes].reverse() },
    ];
    for (const c of cases)
      expect(codeOf(() => verifyBatchSignature(c, key.publicKey.raw, REGTEST.networkId))).toBe(
        SyncErrorCode.BAD_BATCH_SIGNATURE,
      );
    expect(codeOf(() => verifyBatchSignature(batch, key.publicKey.raw, REGTEST.networkId + 1))).toBe(
      SyncErrorCode.BAD_BATCH_SIGNATURE,
    );
  });

  it("SYNC_INVALID_BATCH: validly signed but answering another request, unlinked, or mis-hashed", async () => {
    expect(
      codeOf(() =>
        openBatch(batch, { kind: "range", startHeight: 1, count: 3 }, key.publicKey.raw, REGTEST.networkId),
      ),
    ).toBe(SyncErrorCode.INVALID_BATCH);
    const shuffled = [blocks[0]!, blocks[2]!];
    const unlinked = await signBatch(
      key,
      REGTEST.networkId,
      asked,
      shuffled.map(encodeBlock),
      shuffled.map(blockHash),
    );
    expect(codeOf(() => openBatch(unlinked, asked, key.publicKey.raw, REGTEST.networkId))).toBe(
      SyncErrorCode.INVALID_BATCH,
    );
    const misHashed = await signBatch(
      key,
      REGTEST.networkId,
      asked,
      [encodeBlock(blocks[0]!)],
      [blockHash(blocks[1]!)],
    );
    expect(codeOf(() => openBatch(misHashed, asked, key.publicKey.raw, REGTEST.networkId))).toBe(
      SyncErrorCode.INVALID_BATCH,
    );
    const byHash: BatchRequest = { kind: "hashes", hashes: [blockHash(blocks[0]!)] };
    const notRequested = await signBatch(
      key,
      REGTEST.networkId,
      byHash,
      [encodeBlock(blocks[1]!)],
      [blockHash(blocks[1]!)],
    );
    expect(codeOf(() => openBatch(notRequested, byHash, key.publicKey.raw, REGTEST.networkId))).toBe(
      SyncErrorCode.INVALID_BATCH,
    );
  });
});
