import { ClassicLevel } from "classic-level";
import { REGTEST } from "../src/consensus/params.js";
import { blockEnvelope } from "../src/primitives/block.js";
import type { Block } from "../src/primitives/index.js";
import type { StoreBatch } from "../src/store/index.js";
import { ChainBuilder } from "../test/helpers/chain-builder.js";
import { openChain } from "../test/helpers/open-chain.js";
import { tempDir } from "../test/helpers/temp-dir.js";
import { loadedChain } from "./chains.js";
import type { BenchResult, BenchSuite } from "./harness.js";

/**
 * The machine limit for block import: raw classic-level batch writes of the same batches.
 *
 * A real import (through the chain, as the chain suite does) is recorded batch by batch — every
 * `ChainStore.write` it makes (today two per block: the block with its index entry, then the
 * connect) — and the recorded operations are then replayed into a
 * fresh classic-level database with the same encodings and write options, with nothing else
 * running. That is the rate at which LevelDB alone can take what import writes: import cannot be
 * faster. run.ts puts these numbers in the "machine limit" column of the chain suite's import
 * rows (see `limitFor`).
 */

type Ops = StoreBatch["ops"];

/** Replays per measurement; the best one is the limit. */
const REPLAYS = 3;

/** The same shapes as bench/chain.bench.ts: 2000 empty blocks; 200 funding blocks + 100 blocks of 100 transfers. */
const EMPTY_BLOCKS = 2000;
const SENDERS = 200;
const LOADED_BLOCKS = 100;
const TXS_PER_BLOCK = 100;

/** Imports `before` unrecorded, then `blocks` recording every store batch they write. */
async function recordImport(before: readonly Block[], blocks: readonly Block[]): Promise<Ops[]> {
  const dir = tempDir("quarry-bench-leveldb-");
  const opened = await openChain(dir.path);
  try {
    for (const block of before) await opened.chain.processBlock(blockEnvelope(block));
    const recorded: Ops[] = [];
    const store = opened.store;
    const write = store.write.bind(store);
    store.write = (batch: StoreBatch) => {
      recorded.push([...batch.ops]);
      return write(batch);
    };
    for (const block of blocks) await opened.chain.processBlock(blockEnvelope(block));
    if (recorded.length < blocks.length) {
      throw new Error(`recorded ${recorded.length} batches for ${blocks.length} blocks: did import write?`);
    }
    return recorded;
  } finally {
    await opened.close();
    dir.cleanup();
  }
}

/** Seconds to write `batches` into a fresh database, one awaited `batch()` each (as import does). */
async function replaySeconds(batches: readonly Ops[]): Promise<number> {
  const dir = tempDir("quarry-bench-leveldb-");
  // The chain store's encodings and write options (ChainStore: keyEncoding/valueEncoding "view", no sync).
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir.path, {
    keyEncoding: "view",
    valueEncoding: "view",
  });
  await db.open();
  try {
    const start = performance.now();
    for (const ops of batches) await db.batch(ops, { sync: false });
    return (performance.now() - start) / 1000;
  } finally {
    await db.close();
    dir.cleanup();
  }
}

async function bestReplaySeconds(batches: readonly Ops[]): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < REPLAYS; i++) best = Math.min(best, await replaySeconds(batches));
  return best;
}

function shape(batches: readonly Ops[], blocks: number): string {
  let puts = 0;
  let bytes = 0;
  for (const ops of batches) {
    puts += ops.length;
    for (const op of ops) bytes += op.key.length + (op.type === "put" ? op.value.length : 0);
  }
  const per = (x: number) => Math.round(x / blocks).toLocaleString("en-US");
  return `per block ${(batches.length / blocks).toFixed(0)} batches, ${per(puts)} ops, ${per(bytes)} B; best of ${REPLAYS}`;
}

/** Row-name prefixes of the chain suite's import rows this suite is the machine limit for. */
export const IMPORT_EMPTY_ROW = "import empty blocks";
export const IMPORT_LOADED_ROW = "import 100-tx blocks";

export const leveldbSuite: BenchSuite = {
  name: "leveldb",
  limitOf: ["chain"],
  async run(): Promise<BenchResult[]> {
    const empty = ChainBuilder.create(REGTEST);
    await empty.mineMany(EMPTY_BLOCKS);
    const emptyBatches = await recordImport([], empty.blocks.slice(1));
    const emptySeconds = await bestReplaySeconds(emptyBatches);

    const { funding, loaded } = await loadedChain(SENDERS, LOADED_BLOCKS, TXS_PER_BLOCK);
    const loadedBatches = await recordImport(funding, loaded);
    const loadedSeconds = await bestReplaySeconds(loadedBatches);
    return [
      {
        name: "raw classic-level batch writes: an empty-block import's batches replayed",
        value: EMPTY_BLOCKS / emptySeconds,
        unit: "blocks/s",
        note: shape(emptyBatches, EMPTY_BLOCKS),
        limitFor: { suite: "chain", rowPrefix: IMPORT_EMPTY_ROW },
      },
      {
        name: "raw classic-level batch writes: a 100-tx-block import's batches replayed",
        value: (LOADED_BLOCKS * TXS_PER_BLOCK) / loadedSeconds,
        unit: "tx/s",
        note: shape(loadedBatches, LOADED_BLOCKS),
        limitFor: { suite: "chain", rowPrefix: IMPORT_LOADED_ROW },
      },
    ];
  },
};
