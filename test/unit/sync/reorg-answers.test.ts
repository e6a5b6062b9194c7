import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PeerId } from "@libp2p/interface";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Chain } from "../../../src/chain/index.js";
import { fromHex, headerHash, toHex } from "../../../src/primitives/index.js";
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
import { type FillingStore, openFillingChain } from "../../helpers/filling-store.js";
import { hashOf, holdReorgHalfway } from "../../helpers/mid-reorg.js";

const peer = {} as PeerId;
const opts = { signal: new AbortController().signal };

let store: FillingStore;
let chain: Chain;
let close: () => Promise<void>;

beforeEach(async () => {
  ({ store, chain, close } = await openFillingChain());
});

afterEach(() => close());

describe("answers to peers never show a main chain half-way through a reorg", () => {
  it("headers: a peer that synced to m2 is answered once the reorg lands, with the branch that won", async () => {
    const { main, side, finish } = await holdReorgHalfway(store, chain);
    const locator = [main[1]!, main[0]!].map((b) => fromHex(hashOf(b)));
    const answer = headersHandler(chain, { maxHeadersPerRequest: 100 })(
      encodeLocatorRequest({ locator, maxHashes: 100 }),
      peer,
      opts,
    );
    await finish();
    const res = decodeHeadersResponse(await answer);
    // Half-way, the answer was "m2, nothing above": less work than our status had claimed (m3).
    expect(toHex(res.forkHash)).toBe(hashOf(main[0]!));
    expect(res.headers.map((h) => toHex(headerHash(h)))).toEqual(side.map(hashOf));
  });

  it("status claims the tip a reorg lands on, never the fork point it passes", async () => {
    const { side, finish } = await holdReorgHalfway(store, chain);
    const answer = statusHandler(chain, () => undefined)(encodeStatus(localStatus(chain)), peer, opts);
    await finish();
    const status = decodeStatus(await answer);
    expect(toHex(status.tipHash)).toBe(hashOf(side[2]!));
    expect(status.height).toBe(4);
  });

  it("blocks-by-range serves the whole range of the branch that won, not the stub below the fork", async () => {
    const { side, finish } = await holdReorgHalfway(store, chain);
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
    expect(batch.blockHashes.map(toHex)).toEqual(side.map(hashOf));
  });
});
