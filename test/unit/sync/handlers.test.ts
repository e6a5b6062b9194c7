import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PeerId } from "@libp2p/interface";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockEnvelope } from "../../../src/primitives/block.js";
import { fromHex } from "../../../src/primitives/bytes.js";
import {
  decodeHeadersResponse,
  decodeLocatorResponse,
  decodeSignedBatch,
  encodeBlocksByHashRequest,
  encodeBlocksByRangeRequest,
  encodeLocatorRequest,
} from "../../../src/sync/codec.js";
import { SyncError, SyncErrorCode } from "../../../src/sync/errors.js";
import { blocksByHashHandler } from "../../../src/sync/protocols/blocks-by-hash.js";
import { blocksByRangeHandler, clampRangeRequest } from "../../../src/sync/protocols/blocks-by-range.js";
import { headersHandler } from "../../../src/sync/protocols/headers.js";
import { locatorHandler } from "../../../src/sync/protocols/locator.js";
import { ChainBuilder } from "../../helpers/chain-builder.js";
import { type OpenedChain, openChain } from "../../helpers/open-chain.js";
import { tempDir } from "../../helpers/temp-dir.js";

// Handlers never look at the peer; a placeholder keeps the call honest about its signature.
const peer = {} as PeerId;
const opts = { signal: new AbortController().signal };

describe("sync handlers clamp request bounds", () => {
  const dir = tempDir("quarry-sync-unit-");
  let opened: OpenedChain;
  let ctx: Parameters<typeof blocksByRangeHandler>[0];

  beforeAll(async () => {
    const builder = ChainBuilder.create();
    opened = await openChain(dir.path);
    for (const block of await builder.mineMany(80)) await opened.chain.processBlock(blockEnvelope(block));
    ctx = {
      chain: opened.chain,
      privateKey: await generateKeyPair("Ed25519"),
      limits: { maxBlocksPerBatch: 16, maxBatchBytes: 4096 },
    };
  });

  afterAll(async () => {
    await opened.close();
    dir.cleanup();
  });

  it("blocks-by-range serves at most maxBlocksPerBatch blocks and echoes the request", async () => {
    const raw = await blocksByRangeHandler(ctx)(
      encodeBlocksByRangeRequest({ startHeight: 1, count: 0xffffffff }),
      peer,
      opts,
    );
    const batch = decodeSignedBatch(raw);
    expect(batch.blocks).toHaveLength(16);
    expect(batch.request).toEqual({ kind: "range", startHeight: 1, count: 0xffffffff });
  });

  it("blocks-by-range stops before passing maxBatchBytes (always one block)", async () => {
    const small = { ...ctx, limits: { maxBlocksPerBatch: 64, maxBatchBytes: 300 } };
    const batch = decodeSignedBatch(
      await blocksByRangeHandler(small)(
        encodeBlocksByRangeRequest({ startHeight: 1, count: 64 }),
        peer,
        opts,
      ),
    );
    const bytes = batch.blocks.reduce((s, b) => s + b.length, 0);
    expect(batch.blocks.length).toBeGreaterThanOrEqual(1);
    expect(bytes <= 300 || batch.blocks.length === 1).toBe(true);
  });

  it("blocks-by-range past the tip serves what exists; count 0 and genesis are SYNC_INVALID_REQUEST", async () => {
    const batch = decodeSignedBatch(
      await blocksByRangeHandler(ctx)(encodeBlocksByRangeRequest({ startHeight: 75, count: 16 }), peer, opts),
    );
    expect(batch.blocks).toHaveLength(6);
    for (const req of [
      { startHeight: 1, count: 0 },
      { startHeight: 0, count: 5 },
    ]) {
      expect(() => clampRangeRequest(req, 16)).toThrow(SyncError);
      try {
        clampRangeRequest(req, 16);
      } catch (err) {
        expect((err as SyncError).type.code).toBe(SyncErrorCode.INVALID_REQUEST);
      }
    }
  });

  it("blocks-by-hash serves known blocks in order, skips unknown ones, considers at most maxBlocksPerBatch", async () => {
    const known = opened.chain.mainChainRange(1, 20).map((e) => e.hash);
    const hashes = [known[0]!, new Uint8Array(32).fill(9), ...known.slice(1)];
    const batch = decodeSignedBatch(
      await blocksByHashHandler(ctx)(encodeBlocksByHashRequest({ hashes }), peer, opts),
    );
    expect(batch.blocks).toHaveLength(15);
    expect(batch.blockHashes[0]).toEqual(known[0]);
  });

  it("locator answers the fork point and clamps maxHashes to the server's limit", async () => {
    const locator = opened.chain.getLocator().slice(10).map(fromHex);
    const res = decodeLocatorResponse(
      await locatorHandler(opened.chain, { maxLocatorHashes: 10 })(
        encodeLocatorRequest({ locator, maxHashes: 5000 }),
        peer,
        opts,
      ),
    );
    expect(res.hashes).toHaveLength(10);
    expect(res.forkHeight).toBeLessThan(80);
    expect(opened.chain.entryAtHeight(res.forkHeight + 1)?.hash).toEqual(res.hashes[0]);
  });

  it("headers answers the fork point and its main-chain headers above it, clamped to the server's limit", async () => {
    const locator = opened.chain.getLocator().slice(10).map(fromHex);
    const res = decodeHeadersResponse(
      await headersHandler(opened.chain, { maxHeadersPerRequest: 10 })(
        encodeLocatorRequest({ locator, maxHashes: 5000 }),
        peer,
        opts,
      ),
    );
    expect(res.headers).toHaveLength(10);
    expect(opened.chain.entryAtHeight(res.forkHeight)?.hash).toEqual(res.forkHash);
    for (const [i, header] of res.headers.entries())
      expect(header).toEqual(opened.chain.entryAtHeight(res.forkHeight + 1 + i)?.header);
  });

  it("headers: a locator sharing no block is SYNC_INVALID_REQUEST", async () => {
    const request = encodeLocatorRequest({ locator: [new Uint8Array(32).fill(7)], maxHashes: 5 });
    await expect(
      headersHandler(opened.chain, { maxHeadersPerRequest: 10 })(request, peer, opts),
    ).rejects.toMatchObject({
      type: { code: SyncErrorCode.INVALID_REQUEST },
    });
  });
});
