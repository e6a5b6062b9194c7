import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { BlockOutcome } from "../../../src/chain/index.js";
import { Chain } from "../../../src/chain/index.js";
import { REGTEST } from "../../../src/consensus/params.js";
import { blockEnvelope, blockHash, toHex } from "../../../src/primitives/index.js";
import { BlockStatus, ChainStore } from "../../../src/store/index.js";
import { ChainBuilder, type TestKey, testKey, transfer } from "../../helpers/chain-builder.js";
import { type FillingStore, openFillingChain } from "../../helpers/filling-store.js";
import { FAR_AHEAD_CLOCK } from "../../helpers/open-chain.js";
import { tempDir } from "../../helpers/temp-dir.js";

const miner = testKey(1);
const payees = Array.from({ length: 8 }, (_, i) => testKey(10 + i));

let store: FillingStore;
let chain: Chain;
let close: () => Promise<void>;

beforeEach(async () => {
  ({ store, chain, close } = await openFillingChain());
});

afterEach(() => close());

/** `funding` coinbase blocks to the miner, then `paying` blocks each paying every payee 1 more. */
async function payingChain(funding: number, paying: number): Promise<ChainBuilder> {
  const builder = ChainBuilder.create();
  await builder.mineMany(funding, { miner: miner.address });
  let nonce = 0n;
  for (let i = 0; i < paying; i++) {
    const txs = payees.map((payee) => transfer(miner, payee.address, 1n, nonce++));
    await builder.mine({ txs, miner: miner.address });
  }
  return builder;
}

function codes(outcomes: readonly BlockOutcome[]): string[] {
  return outcomes.map((o) => (o.ok ? o.result.status : ((o.error as { code?: string }).code ?? "no code")));
}

function balanceOf(accounts: Map<string, { balance: bigint }>, key: TestKey): bigint {
  return accounts.get(toHex(key.address))?.balance ?? 0n;
}

describe("Chain.processBlocks: a pipelined run of consecutive blocks", () => {
  it("overlaps checks with the write before, and ends where block-by-block import ends", async () => {
    const builder = await payingChain(3, 20);
    const blocks = builder.blocks.slice(1).map(blockEnvelope);
    const outcomes = await chain.processBlocks(blocks);
    expect(codes(outcomes)).toEqual(blocks.map(() => "connected"));
    expect(chain.tip.hashHex).toBe(toHex(blockHash(builder.tip)));
    const accounts = await chain.getAccounts(payees.map((p) => p.address));
    for (const payee of payees) expect(balanceOf(accounts, payee)).toBe(20n);

    // The same blocks one by one into a second store: the same tip, state root and records.
    const other = tempDir();
    const plainStore = new ChainStore({
      location: join(other.path, "chain"),
      network: REGTEST.name,
      create: true,
    });
    await plainStore.open();
    try {
      const plain = new Chain({ params: REGTEST }, { store: plainStore, clock: FAR_AHEAD_CLOCK });
      await plain.open();
      for (const block of blocks) await plain.processBlock(block);
      expect(plain.tip.hashHex).toBe(chain.tip.hashHex);
      expect(toHex(plain.tip.header.stateRoot)).toBe(toHex(chain.tip.header.stateRoot));
      expect(await plainStore.mainChainHashes()).toEqual(await store.mainChainHashes());
    } finally {
      await plainStore.close();
      other.cleanup();
    }
  });

  it("never lets the index or blockConnected run ahead of the disk: each event's block is readable", async () => {
    const builder = await payingChain(2, 16);
    const blocks = builder.blocks.slice(1).map(blockEnvelope);
    const checks: Promise<void>[] = [];
    chain.on("blockConnected", (event) => {
      // Synchronously at the event: the chain says this block is the tip ...
      expect(chain.tip.hashHex).toBe(event.hash);
      const paid = event.height - 2;
      // ... and a read started now sees at least its state (a later block's write may land first).
      checks.push(
        (async () => {
          const tip = await store.getTip();
          expect(chain.getEntry(toHex(tip!))!.height).toBeGreaterThanOrEqual(event.height);
          const accounts = await store.getAccounts(payees.map((p) => p.address));
          for (const payee of payees) expect(balanceOf(accounts, payee)).toBeGreaterThanOrEqual(BigInt(paid));
        })(),
      );
    });
    // Reads by other callers while the run is under way: the tip the chain reports is on disk.
    let reading = true;
    let reads = 0;
    const reader = (async () => {
      while (reading) {
        const height = chain.height;
        const accounts = await chain.getAccounts(payees.map((p) => p.address));
        const paid = Math.max(0, height - 2);
        for (const payee of payees) expect(balanceOf(accounts, payee)).toBeGreaterThanOrEqual(BigInt(paid));
        reads++;
      }
    })();
    const outcomes = await chain.processBlocks(blocks);
    reading = false;
    await reader;
    await Promise.all(checks);
    expect(codes(outcomes)).toEqual(blocks.map(() => "connected"));
    expect(checks).toHaveLength(blocks.length);
    expect(reads).toBeGreaterThan(0);
    // The run wrote one batch at a time (crash safety: the disk always holds a prefix).
    expect(store.maxInFlight).toBe(1);
  });

  it("stops at a block with a bad signature: the blocks before are connected, it is marked invalid", async () => {
    const builder = await payingChain(2, 5);
    const good = builder.blocks.slice(1);
    const forged = transfer(miner, payees[0]!.address, 1n, 40n);
    forged.signature[0]! ^= 1;
    const bad = await builder.mine({ txs: [forged], miner: miner.address });
    const after = await builder.mine({ miner: miner.address });
    const outcomes = await chain.processBlocks([...good, bad, after].map(blockEnvelope));
    expect(codes(outcomes)).toEqual([...good.map(() => "connected"), "BLOCK_BAD_TX"]);
    expect(chain.height).toBe(good.length);
    expect(chain.getEntry(toHex(blockHash(bad)))?.status).toBe(BlockStatus.Invalid);
    expect(chain.getEntry(toHex(blockHash(after)))).toBeUndefined();
    // As processBlock would: the invalid mark is stored, so a re-send is refused without work.
    await expect(chain.processBlock(blockEnvelope(bad))).rejects.toMatchObject({
      code: "BLOCK_KNOWN_INVALID",
    });
  });

  it("stops at a block whose state root is wrong, marking it invalid after the write before landed", async () => {
    const builder = await payingChain(2, 4);
    const good = builder.blocks.slice(1);
    const bad = await builder.mine({
      miner: miner.address,
      mutate: (block) => {
        block.header.stateRoot[0]! ^= 1;
      },
    });
    const outcomes = await chain.processBlocks([...good, bad].map(blockEnvelope));
    expect(codes(outcomes)).toEqual([...good.map(() => "connected"), "BLOCK_BAD_STATE_ROOT"]);
    expect(chain.height).toBe(good.length);
    expect(chain.getEntry(toHex(blockHash(bad)))?.status).toBe(BlockStatus.Invalid);
    expect(toHex((await store.getTip())!)).toBe(chain.tip.hashHex);
  });

  it("a refused write halts the chain mid-run; the index stays as the disk is, and the rest imports after resume", async () => {
    const builder = await payingChain(2, 8);
    const blocks = builder.blocks.slice(1).map(blockEnvelope);
    store.writesLeft = 4;
    const outcomes = await chain.processBlocks(blocks);
    expect(codes(outcomes)).toEqual([
      "connected",
      "connected",
      "connected",
      "connected",
      "STORE_WRITE_FAILED",
    ]);
    expect(chain.halted?.code).toBe("STORE_WRITE_FAILED");
    expect(chain.height).toBe(4);
    expect(toHex((await store.getTip())!)).toBe(chain.tip.hashHex);
    expect(chain.getEntry(blocks[4]!.hashHex)).toBeUndefined();
    expect(await chain.resume()).toBe(true);
    const rest = await chain.processBlocks(blocks.slice(4));
    expect(codes(rest)).toEqual(blocks.slice(4).map(() => "connected"));
    expect(chain.tip.hashHex).toBe(toHex(blockHash(builder.tip)));
  });

  it("known blocks, side branches and orphans in a run go the one-block way and the run goes on", async () => {
    const builder = await payingChain(6, 0);
    const side = builder.fork(2);
    const sideBlock = await side.mine({ miner: payees[0]!.address });
    const [b7, b8] = await builder.mineMany(2, { miner: miner.address });
    const [b1, b2, b3, b4, b5, b6] = builder.blocks.slice(1, 7);
    await chain.processBlock(blockEnvelope(b1!));
    // b1 is known; sideBlock's parent is b2, no longer the head once b3 is in; b8's parent is missing.
    const run = [b1!, b2!, b3!, sideBlock, b4!, b5!, b6!, b8!].map(blockEnvelope);
    const outcomes = await chain.processBlocks(run);
    expect(codes(outcomes)).toEqual([
      "duplicate",
      "connected",
      "connected",
      "side-branch",
      "connected",
      "connected",
      "connected",
      "orphan",
    ]);
    expect(chain.height).toBe(6);
    // The missing block arrives in a run of its own: it connects and the orphan waiting for it too.
    expect(codes(await chain.processBlocks([blockEnvelope(b7!)]))).toEqual(["connected"]);
    expect(chain.tip.hashHex).toBe(toHex(blockHash(b8!)));
  });
});
