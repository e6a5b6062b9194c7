import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PeerId } from "@libp2p/interface";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Chain } from "../../../src/chain/index.js";
import {
  type Block,
  blockEnvelope,
  blockHash,
  fromHex,
  headerHash,
  toHex,
} from "../../../src/primitives/index.js";
import {
  decodeHeadersResponse,
  decodeSignedBatch,
  decodeStatus,
  encodeBlocksByRangeRequest,
  encodeLocatorRequest,
  encodeStatus,
} from "../../../src/sync/codec.js";
import { blocksByRangeHandler } from "../../../src/sync/protocols/blocks-by-range.js";
import { headersHandler } from "../../../src/sync/protocols/headers.js";
import { localStatus, statusHandler } from "../../../src/sync/protocols/status.js";
import { ChainBuilder, testKey } from "../../helpers/chain-builder.js";
import { type FillingStore, openFillingChain } from "../../helpers/filling-store.js";
import { waitFor } from "../../helpers/wait.js";

const peer = {} as PeerId;
const opts = { signal: new AbortController().signal };

let store: FillingStore;
let chain: Chain;
let close: () => Promise<void>;

beforeEach(async () => {
  ({ store, chain, close } = await openFillingChain());
});

afterEach(() => close());

/** Write calls started so far (FillingStore counts `writesLeft` down from 1,000 here). */
function writesStarted(): number {
  return 1_000 - store.writesLeft;
}

/** Holds the next write: returns its release. */
function holdNextWrite(): () => void {
  let release = () => {};
  store.gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  return release;
}

const hex = (block: Block) => toHex(blockHash(block));

/**
 * Main chain genesis-m1-m2-m3; a heavier side branch m1-s2-s3-s4 whose last block starts a reorg.
 * The store's writes are let through one at a time until the reorg has disconnected m3 and waits
 * on the next write: the main chain then ends at m2, below both tips.
 */
async function midReorg(): Promise<{ main: Block[]; side: Block[]; finish: () => Promise<void> }> {
  const builder = ChainBuilder.create();
  const main = await builder.mineMany(3);
  const fork = builder.fork(1);
  const side: Block[] = [];
  for (let i = 0; i < 3; i++) side.push(await fork.mine({ miner: testKey(9).address }));
  for (const block of main) await chain.processBlock(blockEnvelope(block));
  for (const block of side.slice(0, 2)) await chain.processBlock(blockEnvelope(block));
  expect(chain.tip.hashHex).toBe(hex(main[2]!));

  store.writesLeft = 1_000;
  let release = holdNextWrite();
  const reorg = chain.processBlock(blockEnvelope(side[2]!));
  let started = 1;
  await waitFor(() => writesStarted() === started, 5_000, "the reorg's first write");
  while (chain.height === 3) {
    const next = holdNextWrite();
    release();
    release = next;
    started++;
    await waitFor(() => writesStarted() === started, 5_000, `write ${started} of the reorg`);
  }
  expect(chain.tip.hashHex).toBe(hex(main[1]!));
  return {
    main,
    side,
    finish: async () => {
      store.gate = undefined;
      release();
      await reorg;
      expect(chain.tip.hashHex).toBe(hex(side[2]!));
    },
  };
}

describe("answers to peers never show a main chain half-way through a reorg", () => {
  it("headers: a peer that synced to m2 is answered once the reorg lands, with the branch that won", async () => {
    const { main, side, finish } = await midReorg();
    const locator = [main[1]!, main[0]!].map((b) => fromHex(hex(b)));
    const answer = headersHandler(chain, { maxHeadersPerRequest: 100 })(
      encodeLocatorRequest({ locator, maxHashes: 100 }),
      peer,
      opts,
    );
    await finish();
    const res = decodeHeadersResponse(await answer);
    // Half-way, the answer was "m2, nothing above": less work than our status had claimed (m3).
    expect(toHex(res.forkHash)).toBe(hex(main[0]!));
    expect(res.headers.map((h) => toHex(headerHash(h)))).toEqual(side.map(hex));
  });

  it("status claims the tip a reorg lands on, never the fork point it passes", async () => {
    const { side, finish } = await midReorg();
    const answer = statusHandler(chain, () => undefined)(encodeStatus(localStatus(chain)), peer, opts);
    await finish();
    const status = decodeStatus(await answer);
    expect(toHex(status.tipHash)).toBe(hex(side[2]!));
    expect(status.height).toBe(4);
  });

  it("blocks-by-range serves the whole range of the branch that won, not the stub below the fork", async () => {
    const { side, finish } = await midReorg();
    const ctx = {
      chain,
      privateKey: await generateKeyPair("Ed25519"),
      limits: { maxBlocksPerBatch: 16, maxBatchBytes: 1 << 20 },
    };
    const answer = blocksByRangeHandler(ctx)(
      encodeBlocksByRangeRequest({ startHeight: 2, count: 3 }),
      peer,
      opts,
    );
    await finish();
    const batch = decodeSignedBatch(await answer);
    expect(batch.blockHashes.map(toHex)).toEqual(side.map(hex));
  });
});
