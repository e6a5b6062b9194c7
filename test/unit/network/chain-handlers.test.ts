import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Chain } from "../../../src/chain/index.js";
import { BlockErrorCode } from "../../../src/consensus/errors.js";
import { blockGossipHandler, type GossipHandler } from "../../../src/network/index.js";
import { blockEnvelope, encodeBlock, toHex } from "../../../src/primitives/index.js";
import { StoreErrorCode } from "../../../src/store/index.js";
import { ChainBuilder, testKey } from "../../helpers/chain-builder.js";
import { type FillingStore, openFillingChain } from "../../helpers/filling-store.js";
import { waitFor } from "../../helpers/wait.js";

const FROM = "12D3KooWtestpeer";

let store: FillingStore;
let chain: Chain;
let handle: GossipHandler;
let close: () => Promise<void>;

beforeEach(async () => {
  ({ store, chain, close } = await openFillingChain());
  handle = blockGossipHandler(chain);
});

afterEach(() => close());

/** Holds every write until the returned function is called. */
function holdWrites(): () => void {
  let release = () => {};
  store.gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  return () => {
    store.gate = undefined;
    release();
  };
}

/** The handler's promise, and whether it has settled yet. */
function track(p: Promise<unknown>): { settled: () => boolean; done: Promise<unknown> } {
  let settled = false;
  const done = p.finally(() => {
    settled = true;
  });
  return { settled: () => settled, done };
}

describe("blockGossipHandler: relay once valid (docs/NETWORK.md)", () => {
  it("a block extending the tip is accepted (relayed) while its connect batch is still being written", async () => {
    const builder = ChainBuilder.create();
    const block = await builder.mine();
    const release = holdWrites();
    // the verdict arrives with the write held: the chain knew the block valid before writing it
    await expect(handle(encodeBlock(block), FROM)).resolves.toEqual({ result: "accept" });
    expect(store.inFlight).toBe(1);
    expect(chain.height).toBe(0); // not connected until the write lands
    const connected = new Promise<string>((resolve) => chain.once("blockConnected", (e) => resolve(e.hash)));
    release();
    expect(await connected).toBe(toHex(chain.tip.hash));
    expect(chain.height).toBe(1);
    expect(toHex((await store.getTip())!)).toBe(toHex(chain.tip.hash));
  });

  it("a block with a bad state root is refused (BLOCK_BAD_STATE_ROOT) and never accepted: the check comes before the relay", async () => {
    const builder = ChainBuilder.create();
    await chain.processBlock(blockEnvelope(await builder.mine()));
    const bad = await builder.fork(1).mine({
      mutate: (b) => {
        b.header.stateRoot = new Uint8Array(32).fill(7);
      },
    });
    await expect(handle(encodeBlock(bad), FROM)).rejects.toMatchObject({
      code: BlockErrorCode.BAD_STATE_ROOT,
    });
    expect(chain.height).toBe(1);
  });

  it("a side-branch block is accepted only once it is stored", async () => {
    const builder = ChainBuilder.create();
    for (const b of await builder.mineMany(2)) await chain.processBlock(blockEnvelope(b));
    const side = await builder.fork(1).mine({ miner: testKey(7).address });
    const release = holdWrites();
    const verdict = track(handle(encodeBlock(side), FROM));
    await waitFor(() => store.inFlight === 1, 5_000, "the side block's write to start");
    expect(verdict.settled()).toBe(false);
    release();
    await expect(verdict.done).resolves.toEqual({ result: "accept" });
    expect(chain.height).toBe(2);
  });

  it("a write that fails after the verdict halts the chain; the next block is ignored (STORE_HALTED)", async () => {
    const builder = ChainBuilder.create();
    const [first, second] = await builder.mineMany(2);
    store.writesLeft = 0;
    await expect(handle(encodeBlock(first!), FROM)).resolves.toEqual({ result: "accept" });
    await waitFor(() => chain.halted, 5_000, "the chain to halt on the failed write");
    expect(chain.halted?.code).toBe(StoreErrorCode.WRITE_FAILED);
    expect(chain.height).toBe(0);
    await expect(handle(encodeBlock(second!), FROM)).resolves.toEqual({
      result: "ignore",
      code: StoreErrorCode.HALTED,
    });
  });
});
