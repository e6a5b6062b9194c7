import { join } from "node:path";
import { REGTEST } from "../src/consensus/params.js";
import { type Block, blockEnvelope } from "../src/primitives/index.js";
import { ChainBuilder } from "../test/helpers/chain-builder.js";
import { openChain } from "../test/helpers/open-chain.js";
import { quarryOk } from "../test/helpers/process-node.js";
import { tempDir } from "../test/helpers/temp-dir.js";
import { loadedChain } from "./chains.js";
import type { BenchResult, BenchSuite } from "./harness.js";

/** Empty-block store size (the node suite's 10k-block store; smaller via env for a quick look). */
const BLOCKS = Number(process.env.QUARRY_BENCH_MAINTENANCE_BLOCKS ?? 10_000);
/** The loaded store: 200 funding blocks, then blocks of 100 transfers. */
const LOADED_BLOCKS = Number(process.env.QUARRY_BENCH_MAINTENANCE_LOADED_BLOCKS ?? 300);
const SENDERS = 200;

async function importStore(datadir: string, blocks: readonly Block[]): Promise<void> {
  const opened = await openChain(datadir, { signatureWorkers: true });
  try {
    const envelopes = blocks.map(blockEnvelope);
    opened.chain.prefetchSignatures(envelopes);
    for (const block of envelopes) await opened.chain.processBlock(block);
  } finally {
    await opened.close();
  }
}

interface Measured {
  reindexSeconds: number;
  blocksPerSecond: number;
  backupSeconds: number;
  backupBytes: number;
  verifySeconds: number;
  verifyFullSeconds: number;
  height: number;
}

/** `quarry backup`, `quarry reindex`, then `quarry verify` and `verify --full`, as processes on a stopped store; wall-clock seconds. */
async function measure(datadir: string, backupDir: string): Promise<Measured> {
  const at = ["--network", "regtest", "--datadir", datadir, "--json"];
  let t0 = performance.now();
  const backup = JSON.parse(
    (await quarryOk(["backup", backupDir, ...at], { timeoutMs: 600_000 })).stdout,
  ) as {
    bytes: number;
  };
  const backupSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const reindex = JSON.parse((await quarryOk(["reindex", ...at], { timeoutMs: 1_800_000 })).stdout) as {
    imported: number;
  };
  const reindexSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const verified = JSON.parse((await quarryOk(["verify", ...at], { timeoutMs: 600_000 })).stdout) as {
    height: number;
  };
  const verifySeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  await quarryOk(["verify", "--full", ...at], { timeoutMs: 1_800_000 });
  const verifyFullSeconds = (performance.now() - t0) / 1000;
  return {
    verifySeconds,
    verifyFullSeconds,
    height: verified.height,
    reindexSeconds,
    blocksPerSecond: reindex.imported / reindexSeconds,
    backupSeconds,
    backupBytes: backup.bytes,
  };
}

function rows(label: string, m: Measured): BenchResult[] {
  return [
    {
      name: `'quarry reindex' (process, signatures on the worker pool), ${label}`,
      value: m.blocksPerSecond,
      unit: "blocks/s",
      note: `${m.reindexSeconds.toFixed(1)} s including Node.js boot`,
    },
    {
      name: `'quarry verify' (every record, no replay; process), ${label}`,
      value: m.height / m.verifySeconds,
      unit: "blocks/s",
      note: `${m.verifySeconds.toFixed(1)} s including Node.js boot`,
    },
    {
      name: `'quarry verify --full' (records + replay; process), ${label}`,
      value: m.height / m.verifyFullSeconds,
      unit: "blocks/s",
      note: `${m.verifyFullSeconds.toFixed(1)} s including Node.js boot`,
    },
    {
      name: `'quarry backup' of a stopped datadir (process), ${label}`,
      value: m.backupSeconds,
      unit: "s",
      lowerIsBetter: true,
      note: `${(m.backupBytes / 1024 / 1024).toFixed(1)} MiB written`,
    },
  ];
}

export const maintenanceSuite: BenchSuite = {
  name: "maintenance",
  async run() {
    const tmp = tempDir("quarry-bench-maintenance-");
    try {
      const empty = ChainBuilder.create(REGTEST);
      const spacing = REGTEST.targetSpacingSeconds;
      const first = Math.floor(Date.now() / 1000) - BLOCKS * spacing;
      for (let i = 0; i < BLOCKS; i++) await empty.mine({ time: first + i * spacing });
      await importStore(join(tmp.path, "empty"), empty.blocks.slice(1));
      const { funding, loaded } = await loadedChain(SENDERS, LOADED_BLOCKS, 100);
      await importStore(join(tmp.path, "loaded"), [...funding, ...loaded]);
      return [
        ...rows(`${BLOCKS} empty blocks`, await measure(join(tmp.path, "empty"), join(tmp.path, "b1"))),
        ...rows(
          `${SENDERS} + ${LOADED_BLOCKS} blocks of 100 transfers`,
          await measure(join(tmp.path, "loaded"), join(tmp.path, "b2")),
        ),
      ];
    } finally {
      tmp.cleanup();
    }
  },
};
