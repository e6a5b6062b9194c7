import { REGTEST } from "../src/consensus/params.js";
import { encodeAddress } from "../src/primitives/index.js";
import { testKey } from "../test/helpers/chain-builder.js";
import { processCpuSeconds } from "../test/helpers/proc-stat.js";
import { ProcessNode, restGet } from "../test/helpers/process-node.js";
import { tempDir } from "../test/helpers/temp-dir.js";
import { waitFor } from "../test/helpers/wait.js";
import type { BenchResult, BenchSuite } from "./harness.js";

/** How long the joiner runs beside the miner before both heights are read. */
const WINDOW_MS = 10_000;
const RUNS = 3;

interface JoinRun {
  minerHeight: number;
  joinerHeight: number;
  joinerCpuSeconds: number;
}

/**
 * Two `quarry start` processes on 127.0.0.1: a miner (1 thread) on a fresh regtest chain, which
 * mines hundreds of blocks a second until ASERT raises the difficulty, and a fresh node started
 * as soon as the miner's API answers, bootstrapping off it. Both heights are read `WINDOW_MS`
 * after the joiner's API answered; the joiner's CPU seconds over that window from /proc.
 */
async function joinRun(): Promise<JoinRun> {
  const minerDir = tempDir("quarry-bench-join-miner-");
  const joinerDir = tempDir("quarry-bench-join-");
  const miner = await ProcessNode.start({
    datadir: minerDir.path,
    minerAddress: encodeAddress(REGTEST.addressPrefix, testKey(1).address),
    startTimeoutMs: 60_000,
  });
  try {
    const joiner = await ProcessNode.start({
      datadir: joinerDir.path,
      bootstrap: [miner.multiaddr],
      startTimeoutMs: 60_000,
    });
    try {
      await restGet(joiner.apiUrl, "getStatus");
      const cpuBefore = processCpuSeconds(joiner.pid);
      const end = Date.now() + WINDOW_MS;
      await waitFor(() => Date.now() >= end, WINDOW_MS + 1_000, "the measurement window", {
        intervalMs: 100,
      });
      const [joined, mined] = await Promise.all([
        restGet<{ height: number }>(joiner.apiUrl, "getStatus"),
        restGet<{ height: number }>(miner.apiUrl, "getStatus"),
      ]);
      const cpuAfter = processCpuSeconds(joiner.pid);
      return {
        minerHeight: mined.height,
        joinerHeight: joined.height,
        joinerCpuSeconds: cpuAfter - cpuBefore,
      };
    } finally {
      await joiner.stop();
    }
  } finally {
    await miner.stop();
    minerDir.cleanup();
    joinerDir.cleanup();
  }
}

/**
 * A node joining a chain that is being mined from genesis (docs/SYNC.md, "Orphans from gossip"):
 * gossip brings it blocks it cannot connect yet, hundreds a second. How far it keeps up, as its
 * height over the miner's 10 s after it started (the miner's height is the limit). Target 90 %:
 * it keeps step instead of sitting at one height (before 2026-12-05 it stayed at 70-150 for 20-30
 * s while the miner passed 1,000). Worst of 3 runs.
 */
export const joinSuite: BenchSuite = {
  name: "join",
  async run(): Promise<BenchResult[]> {
    const runs: JoinRun[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await joinRun());
    const share = (r: JoinRun) => (100 * r.joinerHeight) / Math.max(1, r.minerHeight);
    const worst = runs.reduce((a, b) => (share(b) < share(a) ? b : a));
    const all = runs.map(
      (r) => `${r.joinerHeight}/${r.minerHeight} (${r.joinerCpuSeconds.toFixed(1)} CPU-s)`,
    );
    return [
      {
        name: `joining a chain mined from genesis: joiner's height / miner's, ${WINDOW_MS / 1000} s after it started, worst of ${RUNS}`,
        value: share(worst),
        unit: "%",
        target: 90,
        limit: 100,
        note: `joiner/miner heights: ${all.join(", ")}`,
      },
    ];
  },
};
