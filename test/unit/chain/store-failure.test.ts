import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Chain } from "../../../src/chain/chain.js";
import { type Block, blockEnvelope, blockHash, toHex } from "../../../src/primitives/index.js";
import { ChainBuilder, testKey, transfer } from "../../helpers/chain-builder.js";
import { type FillingStore, openFillingChain } from "../../helpers/filling-store.js";

const alice = testKey(1);
const bob = testKey(2);

let store: FillingStore;
let chain: Chain;
let close: () => Promise<void>;

beforeEach(async () => {
  ({ store, chain, close } = await openFillingChain());
});

afterEach(() => close());

async function feed(blocks: readonly Block[]): Promise<void> {
  for (const block of blocks) await chain.processBlock(blockEnvelope(block));
}

async function failedWrite(block: Block): Promise<string> {
  try {
    await chain.processBlock(blockEnvelope(block));
  } catch (err) {
    return (err as { code?: string }).code ?? "no code";
  }
  throw new Error("expected the write to fail");
}

/** The in-memory index and main chain must say exactly what the store says. */
async function expectIndexMatchesDisk(): Promise<void> {
  const tip = await store.getTip();
  expect(chain.tip.hashHex).toBe(toHex(tip!));
  const mainHashes = await store.mainChainHashes();
  expect(chain.height).toBe(mainHashes.length - 1);
  expect(chain.mainChainRange(0, mainHashes.length).map((e) => e.hashHex)).toEqual(mainHashes.map(toHex));
  for await (const stored of store.indexEntries()) {
    const entry = chain.getEntry(stored.hashHex);
    expect(entry, `index entry ${stored.hashHex}`).toBeDefined();
    expect(entry!.status).toBe(stored.status);
  }
}

/** After a refused write the chain is halted; with room again `resume` lets it write. */
async function expectHaltedThenResume(): Promise<void> {
  expect(chain.halted?.code).toBe("STORE_WRITE_FAILED");
  await expect(chain.processBlock(blockEnvelope(await ChainBuilder.create().mine()))).rejects.toMatchObject({
    code: "STORE_HALTED",
  });
  expect(await chain.resume()).toBe(true);
  expect(chain.halted).toBeUndefined();
}

describe("a refused store write (STORE_WRITE_FAILED) halts the chain and leaves the index as the disk is", () => {
  it("a new tip block: not indexed, tip unchanged, accepted once the disk has room", async () => {
    const builder = ChainBuilder.create();
    await feed(await builder.mineMany(3));
    const b4 = await builder.mine();
    store.writesLeft = 0;
    expect(await failedWrite(b4)).toBe("STORE_WRITE_FAILED");
    expect(chain.getEntry(toHex(blockHash(b4)))).toBeUndefined();
    expect(chain.height).toBe(3);
    await expectIndexMatchesDisk();
    await expectHaltedThenResume();
    expect((await chain.processBlock(blockEnvelope(b4))).status).toBe("connected");
    expect(chain.height).toBe(4);
    await expectIndexMatchesDisk();
  });

  it("a side-branch block: not indexed, so a re-send is stored rather than called a duplicate", async () => {
    const main = ChainBuilder.create();
    await feed(await main.mineMany(3));
    const side = main.fork(1);
    const s2 = await side.mine({ miner: bob.address });
    store.writesLeft = 0;
    expect(await failedWrite(s2)).toBe("STORE_WRITE_FAILED");
    expect(chain.getEntry(toHex(blockHash(s2)))).toBeUndefined();
    await expectIndexMatchesDisk();
    await expectHaltedThenResume();
    expect((await chain.processBlock(blockEnvelope(s2))).status).toBe("side-branch");
    await expectIndexMatchesDisk();
  });

  it("a reorg refused half-way: the main chain in memory stops where the disk stopped", async () => {
    const main = ChainBuilder.create();
    await feed([await main.mine({ miner: alice.address })]);
    const side = main.fork(1);
    await feed(await main.mineMany(3));
    // Heights 2-4 on both branches: equal work, the first seen (main) stays.
    await feed(await side.mineMany(3, { miner: bob.address }));
    // The branch's 5th block: stored (1 write), 3 main blocks disconnected (3 writes), then
    // the first connect of the branch is refused.
    store.writesLeft = 4;
    await expect(chain.processBlock(blockEnvelope(await side.mine()))).rejects.toMatchObject({
      code: "STORE_WRITE_FAILED",
    });
    expect(chain.height).toBe(1);
    await expectIndexMatchesDisk();
    // With room again the chain resumes from what is on disk and goes back to the heavier branch.
    await expectHaltedThenResume();
    expect(chain.height).toBe(5);
    await expectIndexMatchesDisk();
    await feed([await side.mine({ txs: [transfer(alice, bob.address, 1n, 0n)] })]);
    expect(chain.height).toBe(6);
    expect(chain.tip.hashHex).toBe(toHex(blockHash(side.tip)));
    await expectIndexMatchesDisk();
  });
});

describe("the halt is logged and emitted once, not per refused block", () => {
  it("STORE_HALTED for every block after the first failure; one halted event", async () => {
    const builder = ChainBuilder.create();
    await feed(await builder.mineMany(2));
    const halts: string[] = [];
    chain.on("halted", (h) => halts.push(h.code));
    store.writesLeft = 0;
    expect(await failedWrite(await builder.mine())).toBe("STORE_WRITE_FAILED");
    for (let i = 0; i < 3; i++) expect(await failedWrite(await builder.mine())).toBe("STORE_HALTED");
    expect(halts).toEqual(["STORE_WRITE_FAILED"]);
  });
});
