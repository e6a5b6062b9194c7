import { afterEach, describe, expect, it } from "vitest";
import { BlockError, BlockErrorCode } from "../../../src/consensus/errors.js";
import { type NetworkParams, REGTEST } from "../../../src/consensus/params.js";
import { workFromBits } from "../../../src/consensus/pow.js";
import { type Block, blockEnvelope, blockHash, toHex } from "../../../src/primitives/index.js";
import { withoutWork } from "../../helpers/adversary-peer.js";
import { ChainBuilder } from "../../helpers/chain-builder.js";
import { type OpenedChain, openChain } from "../../helpers/open-chain.js";
import { tempDir } from "../../helpers/temp-dir.js";

// A small margin keeps the chains short; the rule is the same for 144.
const PARAMS: NetworkParams = { ...REGTEST, lowWorkMarginBlocks: 5 };
const OTHER_MINER = new Uint8Array(20).fill(0x42);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function chainWith(params: NetworkParams, blocks: readonly Block[]): Promise<OpenedChain> {
  const dir = tempDir();
  cleanups.push(dir.cleanup);
  const opened = await openChain(dir.path, { params });
  cleanups.push(opened.close);
  for (const block of blocks) await opened.chain.processBlock(blockEnvelope(block));
  return opened;
}

async function lowWorkError(promise: Promise<unknown>): Promise<BlockError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BlockError);
  return err as BlockError;
}

describe("BLOCK_LOW_WORK: a branch too far behind the tip is not stored", () => {
  it("refuses (action ignore, nothing stored) a block whose chain work trails the tip by more than the margin, and stores one at the margin", async () => {
    const main = ChainBuilder.create(PARAMS);
    await main.mineMany(10);
    const { chain, store } = await chainWith(PARAMS, main.blocks.slice(1));
    const oneBlock = workFromBits(chain.tip.header.bits);
    // Every block here is at the pow limit: tip work = 11 blocks. Margin 5: 6 blocks is the floor.
    expect(chain.tip.chainWork).toBe(11n * oneBlock);

    const atMargin = main.fork(4);
    const stale = await atMargin.mine({ miner: OTHER_MINER }); // height 5: 6 blocks of work
    expect(await chain.processBlock(blockEnvelope(stale))).toMatchObject({ status: "side-branch" });

    const tooDeep = main.fork(3);
    const low = await tooDeep.mine({ miner: OTHER_MINER }); // height 4: 5 blocks of work
    const err = await lowWorkError(chain.processBlock(blockEnvelope(low)));
    expect(err.code).toBe(BlockErrorCode.LOW_WORK);
    expect(err.action).toBe("ignore");
    expect(chain.getEntry(toHex(blockHash(low)))).toBeUndefined();
    expect(await store.getBlock(blockHash(low))).toBeUndefined();
    // Not remembered as invalid: the same block with proof of its branch's work is welcome later.
    const err2 = await lowWorkError(chain.processBlock(blockEnvelope(low)));
    expect(err2.code).toBe(BlockErrorCode.LOW_WORK);
  });

  it("refuses every one of many genesis-fork blocks", async () => {
    const main = ChainBuilder.create(PARAMS);
    await main.mineMany(10);
    const { chain } = await chainWith(PARAMS, main.blocks.slice(1));
    for (let i = 0; i < 20; i++) {
      const fork = ChainBuilder.create(PARAMS);
      const block = await fork.mine({ miner: new Uint8Array(20).fill(i + 1) });
      const err = await lowWorkError(chain.processBlock(blockEnvelope(block)));
      expect(err.code).toBe(BlockErrorCode.LOW_WORK);
      expect(chain.getEntry(toHex(blockHash(block)))).toBeUndefined();
    }
    expect(chain.height).toBe(10);
  });

  it("stores a deep branch whose later headers (provenBranchWork) prove it comes within the margin, and reorganises onto it when it leads", async () => {
    const main = ChainBuilder.create(PARAMS);
    await main.mineMany(10);
    const { chain } = await chainWith(PARAMS, main.blocks.slice(1));
    const deep = ChainBuilder.create(PARAMS);
    await deep.mineMany(12, { miner: OTHER_MINER });
    const branch = deep.blocks.slice(1);
    // Without proof its first block is low-work.
    const err = await lowWorkError(chain.processBlock(blockEnvelope(branch[0]!)));
    expect(err.code).toBe(BlockErrorCode.LOW_WORK);
    const provenWork = chain.provenBranchWork(branch.map((b) => b.header));
    expect(provenWork).toBe(13n * workFromBits(chain.tip.header.bits));
    expect(chain.isLowWork(provenWork)).toBe(false);
    for (const block of branch) await chain.processBlock(blockEnvelope(block), { provenWork });
    expect(chain.tip.hashHex).toBe(toHex(blockHash(deep.tip)));
  });

  it("provenBranchWork counts headers only while they link and meet their target", async () => {
    const main = ChainBuilder.create(PARAMS);
    await main.mineMany(3);
    const { chain } = await chainWith(PARAMS, main.blocks.slice(1, 2));
    const headers = main.blocks.slice(2).map((b) => b.header);
    const one = workFromBits(headers[0]!.bits);
    const base = chain.tip.chainWork;
    expect(chain.provenBranchWork(headers)).toBe(base + 2n * one);
    // The second header claims work it does not have: counting stops before it.
    expect(chain.provenBranchWork([headers[0]!, withoutWork(headers[1]!)])).toBe(base + one);
    // Out of order: the second does not link to the first.
    expect(chain.provenBranchWork([headers[1]!, headers[0]!])).toBe(0n);
    expect(chain.provenBranchWork([])).toBe(0n);
  });

  it("refuses a side-branch block below minimumChainWork but extends the tip below it", async () => {
    const params: NetworkParams = { ...PARAMS, lowWorkMarginBlocks: 1000, minimumChainWork: 1n << 200n };
    const main = ChainBuilder.create(params);
    await main.mineMany(4);
    const { chain } = await chainWith(params, main.blocks.slice(1));
    expect(chain.height).toBe(4);
    const side = main.fork(3);
    const block = await side.mine({ miner: OTHER_MINER });
    const err = await lowWorkError(chain.processBlock(blockEnvelope(block)));
    expect(err.code).toBe(BlockErrorCode.LOW_WORK);
    expect(chain.getEntry(toHex(blockHash(block)))).toBeUndefined();
  });

  it("stores neither a low-work parent nor the orphans waiting for it, which leave the pool", async () => {
    const main = ChainBuilder.create(PARAMS);
    await main.mineMany(10);
    const { chain } = await chainWith(PARAMS, main.blocks.slice(1));
    const fork = main.fork(2);
    const [parent, child, grandchild] = await fork.mineMany(3, { miner: OTHER_MINER });
    expect(await chain.processBlock(blockEnvelope(grandchild!))).toMatchObject({ status: "orphan" });
    expect(await chain.processBlock(blockEnvelope(child!))).toMatchObject({ status: "orphan" });
    expect(chain.orphanCount).toBe(2);
    const err = await lowWorkError(chain.processBlock(blockEnvelope(parent!)));
    expect(err.code).toBe(BlockErrorCode.LOW_WORK);
    expect(chain.orphanCount).toBe(0);
    for (const b of [parent!, child!, grandchild!])
      expect(chain.getEntry(toHex(blockHash(b)))).toBeUndefined();
  });
});
