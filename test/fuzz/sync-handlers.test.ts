import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PeerId } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockEnvelope } from "../../src/primitives/block.js";
import { CodecError } from "../../src/primitives/codec.js";
import { blockHash } from "../../src/primitives/index.js";
import {
  DEFAULT_SYNC_OPTIONS,
  decodeHeadersResponse,
  decodeLocatorResponse,
  decodeSignedBatch,
  decodeStatus,
  encodeBlocksByHashRequest,
  encodeBlocksByRangeRequest,
  encodeLocatorRequest,
  encodeStatus,
  isSyncError,
  MAX_RESPONSE_FRAME,
  type RequestHandler,
  SyncErrorCode,
  syncProtocolIds,
} from "../../src/sync/index.js";
import { blocksByHashHandler } from "../../src/sync/protocols/blocks-by-hash.js";
import { blocksByRangeHandler } from "../../src/sync/protocols/blocks-by-range.js";
import { headersHandler } from "../../src/sync/protocols/headers.js";
import { locatorHandler } from "../../src/sync/protocols/locator.js";
import { statusHandler } from "../../src/sync/protocols/status.js";
import { rawExchangeWith, unframe, varint } from "../helpers/adversary-peer.js";
import { ChainBuilder } from "../helpers/chain-builder.js";
import { type OpenedChain, openChain } from "../helpers/open-chain.js";
import { createTestLibp2p, type TestLibp2p } from "../helpers/sync-libp2p.js";
import { createSyncNode, type SyncTestNode } from "../helpers/sync-node.js";
import { tempDir } from "../helpers/temp-dir.js";
import { FUZZ_RUNS, fuzzParams, hostileBytes } from "./fuzz-helpers.js";

const CHAIN = 80;
const isRequestError = (err: unknown) =>
  err instanceof CodecError || isSyncError(err, SyncErrorCode.INVALID_REQUEST, SyncErrorCode.WRONG_NETWORK);

describe(`sync request handlers under hostile requests (${FUZZ_RUNS} direct cases each)`, () => {
  const dir = tempDir("quarry-fuzz-handlers-");
  const builder = ChainBuilder.create();
  let opened: OpenedChain;
  let peer: PeerId;
  const handlers: [string, RequestHandler, (payload: Uint8Array) => unknown, Uint8Array[]][] = [];

  beforeAll(async () => {
    await builder.mineMany(CHAIN);
    opened = await openChain(dir.path);
    for (const b of builder.blocks.slice(1)) await opened.chain.processBlock(blockEnvelope(b));
    const privateKey = await generateKeyPair("Ed25519");
    peer = peerIdFromPrivateKey(await generateKeyPair("Ed25519"));
    const ctx = { chain: opened.chain, privateKey, limits: DEFAULT_SYNC_OPTIONS };
    const hashes = builder.blocks.map(blockHash);
    handlers.push(
      [
        "status",
        statusHandler(opened.chain, () => undefined),
        decodeStatus,
        [
          encodeStatus({
            network: "regtest",
            genesisHash: hashes[0]!,
            tipHash: hashes[5]!,
            height: 5,
            chainWork: 1n,
          }),
        ],
      ],
      [
        "locator",
        locatorHandler(opened.chain, DEFAULT_SYNC_OPTIONS),
        decodeLocatorResponse,
        [encodeLocatorRequest({ locator: [hashes[40]!, hashes[0]!], maxHashes: 30 })],
      ],
      [
        "headers",
        headersHandler(opened.chain, DEFAULT_SYNC_OPTIONS),
        decodeHeadersResponse,
        [encodeLocatorRequest({ locator: [hashes[40]!, hashes[0]!], maxHashes: 30 })],
      ],
      [
        "blocks-by-range",
        blocksByRangeHandler(ctx),
        decodeSignedBatch,
        [encodeBlocksByRangeRequest({ startHeight: 10, count: 20 })],
      ],
      [
        "blocks-by-hash",
        blocksByHashHandler(ctx),
        decodeSignedBatch,
        [encodeBlocksByHashRequest({ hashes: hashes.slice(3, 9) })],
      ],
    );
  }, 30_000);

  afterAll(async () => {
    await opened.close();
    dir.cleanup();
  });

  it.each(["status", "locator", "headers", "blocks-by-range", "blocks-by-hash"])(
    "%s: answers a well-formed response within the frame ceiling, or refuses with CodecError / SYNC_INVALID_REQUEST",
    async (name) => {
      const [, handler, decodeAnswer, seeds] = handlers.find(([n]) => n === name)!;
      await fc.assert(
        fc.asyncProperty(hostileBytes(seeds, 200), async (request) => {
          let answer: Uint8Array;
          try {
            answer = await handler(request, peer, { signal: AbortSignal.timeout(5_000) });
          } catch (err) {
            if (isRequestError(err)) return;
            throw err;
          }
          expect(answer.length).toBeLessThan(MAX_RESPONSE_FRAME);
          decodeAnswer(answer);
        }),
        fuzzParams(),
      );
      const tipHeight = opened.chain.height;
      expect(tipHeight).toBe(CHAIN);
    },
    60_000,
  );
});

describe("sync protocols served over libp2p under hostile streams", () => {
  let server: SyncTestNode;
  let client: TestLibp2p;
  const runs = Math.max(50, Math.floor(FUZZ_RUNS / 10));

  beforeAll(async () => {
    const b = ChainBuilder.create();
    await b.mineMany(20);
    server = await createSyncNode(b.blocks.slice(1));
    client = await createTestLibp2p();
  }, 30_000);

  afterAll(async () => {
    await client.libp2p.stop();
    await server.destroy();
  });

  it(`${runs} random frames (framed, unframed, cut, oversized) on every protocol: only SYNC_* penalties, the server keeps answering`, async () => {
    const ids = syncProtocolIds("regtest");
    const protocols = Object.values(ids);
    const frame = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((body) => Uint8Array.from([...varint(body.length), ...body])),
      fc.uint8Array({ maxLength: 300 }),
      fc
        .tuple(fc.integer({ min: 1, max: 2 ** 31 }), fc.uint8Array({ maxLength: 64 }))
        .map(([claimed, body]) => Uint8Array.from([...varint(claimed), ...body])),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...protocols), frame, async (protocol, bytes) => {
        const answer = await rawExchangeWith(client.libp2p, server.libp2p.getMultiaddrs(), protocol, bytes);
        // Either nothing (stream reset) or exactly one response frame with a known result code.
        if (answer.length > 0) expect(unframe(answer)[0]).toBeLessThanOrEqual(3);
      }),
      fuzzParams(runs),
    );
    const codes = new Set(server.scorer.penalties.map((p) => p.code));
    for (const code of codes) expect(code).toMatch(/^SYNC_/);
    // Still serving: a valid status request gets an OK answer.
    const status = encodeStatus({
      network: "regtest",
      genesisHash: blockHash(ChainBuilder.create().tip),
      tipHash: blockHash(ChainBuilder.create().tip),
      height: 0,
      chainWork: 1n,
    });
    const ok = await rawExchangeWith(
      client.libp2p,
      server.libp2p.getMultiaddrs(),
      ids.status,
      Uint8Array.from([...varint(status.length), ...status]),
    );
    expect(unframe(ok)[0]).toBe(0);
    expect(server.chain.height).toBe(20);
  }, 120_000);
});
