import { afterEach, describe, expect, it } from "vitest";
import { type NetworkParams, REGTEST } from "../../../src/consensus/params.js";
import { prepareBlock } from "../../../src/miner/block-template.js";
import { MinerPool, type MinerPoolEvents } from "../../../src/miner/index.js";
import { BlockProducer, type BlockProducerEvents } from "../../../src/node/block-producer.js";
import { blockEnvelope } from "../../../src/primitives/block.js";
import { FAR_AHEAD_CLOCK, type OpenedChain, openChain } from "../../helpers/open-chain.js";
import { tempDir } from "../../helpers/temp-dir.js";

// Real chain (LevelDB), real worker threads from dist/src/miner/worker.js (`npm test` builds first).

const recipient = new Uint8Array(20).fill(7);
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Regtest with a pow limit no test run meets (~2^-48 per hash): the producer never finds block 1. */
const UNMINEABLE: NetworkParams = {
  ...REGTEST,
  powLimitBits: 0x1b00ffff,
  genesis: { ...REGTEST.genesis, bits: 0x1b00ffff },
};

async function setup(params: NetworkParams = REGTEST): Promise<{ opened: OpenedChain; pool: MinerPool }> {
  const dir = tempDir();
  cleanups.push(dir.cleanup);
  // A fixed clock: every template on one tip is the same block, as after the ASERT ramp.
  const opened = await openChain(dir.path, { params, clock: FAR_AHEAD_CLOCK });
  cleanups.push(opened.close);
  const pool = new MinerPool({ threads: 1 });
  await pool.start();
  cleanups.push(() => pool.stop());
  return { opened, pool };
}

function waitFor<T>(register: (done: (value: T) => void) => void, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    register((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

describe("BlockProducer", () => {
  it("counts only blocks that extended the chain: a mined block the chain already had (duplicate) is not mined", async () => {
    const { opened, pool } = await setup();
    const { chain } = opened;
    // The producer's first template, built the same way: the same bytes, since the clock is fixed.
    const template = await prepareBlock(chain, recipient, []);
    // The first solution reaches the chain by another path before the producer imports it.
    pool.once("found", ({ header }) => void chain.processBlock(blockEnvelope({ ...template, header })));
    const producer = new BlockProducer(
      { recipient, refreshMs: 60_000, maxBlocks: 1 },
      { chain, pool, selectTransactions: () => [] },
    );
    cleanups.push(() => producer.stop());
    const mined: BlockProducerEvents["blockMined"][] = [];
    producer.on("blockMined", (e) => mined.push(e));
    const done = waitFor<BlockProducerEvents["done"]>((ok) => producer.once("done", ok), 20_000, "done");
    producer.start();
    expect(await done).toEqual({ blocks: 1 });
    expect(producer.blocksMined).toBe(1);
    // Height 1 came in as a duplicate; the one block counted is the producer's own at height 2.
    expect(chain.height).toBe(2);
    expect(mined.map((e) => e.height)).toEqual([2]);
    expect(mined[0]!.hash).toBe(chain.tip.hashHex);
  });

  it("template refreshes of an unchanged header search disjoint nonce ranges (never nonce 0 again)", async () => {
    const { opened, pool } = await setup(UNMINEABLE);
    const producer = new BlockProducer(
      { recipient, refreshMs: 100 },
      { chain: opened.chain, pool, selectTransactions: () => [] },
    );
    cleanups.push(() => producer.stop());
    const ranges: MinerPoolEvents["range"][] = [];
    const jobs = new Set<number>();
    const fourJobs = waitFor<void>(
      (ok) => {
        pool.on("range", (r) => {
          ranges.push(r);
          jobs.add(r.jobId);
          if (jobs.size === 4) ok();
        });
      },
      10_000,
      "four templates",
    );
    producer.start();
    await fourJobs;
    await producer.stop();
    expect(opened.chain.height).toBe(0);
    // Every refresh handed out ranges, and no range was handed out twice.
    const highs = ranges.map((r) => r.nonceHigh);
    expect(new Set(highs).size).toBe(highs.length);
    expect(highs.slice(0, 4)).toEqual([0, 1, 2, 3]);
  });
  it("reports not running from the moment a stop is asked for, and a start during that stop mines again after it", async () => {
    const { opened, pool } = await setup(UNMINEABLE);
    const producer = new BlockProducer(
      { recipient, refreshMs: 60_000 },
      { chain: opened.chain, pool, selectTransactions: () => [] },
    );
    cleanups.push(() => producer.stop());
    const hashing = () =>
      waitFor<void>((ok) => pool.once("range", () => ok()), 10_000, "a nonce range handed out");
    const first = hashing();
    producer.start();
    await first;
    expect(producer.running).toBe(true);
    const stopping = producer.stop();
    expect(producer.running).toBe(false); // the halt path reads this before the loop has wound down
    const second = hashing();
    producer.start(); // a resume that arrives while the stop is still waiting for the loop
    expect(producer.running).toBe(true);
    await stopping;
    expect(producer.running).toBe(true);
    await second;
    await producer.stop();
    expect(producer.running).toBe(false);
  });
});
