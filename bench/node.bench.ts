import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REGTEST } from "../src/consensus/params.js";
import { createNode } from "../src/node.js";
import { resolveNodeOptions } from "../src/options.js";
import { blockEnvelope } from "../src/primitives/block.js";
import { type Block, encodeAddress } from "../src/primitives/index.js";
import { silentLogger } from "../src/util/logger.js";
import { ChainBuilder, testKey } from "../test/helpers/chain-builder.js";
import { openChain } from "../test/helpers/open-chain.js";
import { ProcessNode, QUARRY_BIN, restGet } from "../test/helpers/process-node.js";
import { tempDir } from "../test/helpers/temp-dir.js";
import { waitFor } from "../test/helpers/wait.js";
import { loadedChain } from "./chains.js";
import type { BenchResult, BenchSuite } from "./harness.js";

/** Store size for the start-up measurement (10k blocks by target; smaller via env for a quick look). */
const BLOCKS = Number(process.env.QUARRY_BENCH_NODE_BLOCKS ?? 10_000);
/** The loaded chain synced for RSS while syncing: blocks of 100 transfers after 200 funding blocks. */
const LOADED_BLOCKS = Number(process.env.QUARRY_BENCH_NODE_LOADED_BLOCKS ?? 300);
const SENDERS = 200;
/** How long the process runs before and while RSS is sampled. */
// A miner on an on-schedule chain at the pow limit first runs ahead of schedule until ASERT has
// raised the difficulty (half-life 60 s on regtest): ~10-15 s at ~1.4 MH/s. Sample after that.
const RSS_WARMUP_MS = 20_000;
const RSS_WINDOW_MS = 10_000;

/**
 * A regtest store of `blocks` empty blocks at `<dir>/chain`, imported through the real chain, one
 * block per target spacing with the tip just before now: a node started on it is on schedule, so
 * its miner settles at about one block per second instead of racing to catch up with the clock.
 */
async function buildStore(dir: string, blocks: number): Promise<void> {
  const builder = ChainBuilder.create(REGTEST);
  const opened = await openChain(dir);
  const spacing = REGTEST.targetSpacingSeconds;
  const first = Math.floor(Date.now() / 1000) - blocks * spacing;
  try {
    for (let i = 0; i < blocks; i++) {
      await opened.chain.processBlock(blockEnvelope(await builder.mine({ time: first + i * spacing })));
    }
  } finally {
    await opened.close();
  }
}

/** A regtest store at `<dir>/chain` holding `blocks`, imported through the real chain. */
async function importStore(dir: string, blocks: readonly Block[]): Promise<void> {
  const opened = await openChain(dir);
  try {
    for (const block of blocks) await opened.chain.processBlock(blockEnvelope(block));
  } finally {
    await opened.close();
  }
}

/** createNode + start in this process until the API answers getStatus at the store's height. */
async function inProcessStartMs(datadir: string): Promise<number> {
  const options = resolveNodeOptions(
    { network: "regtest", datadir, p2pHost: "127.0.0.1", p2pPort: 0, apiPort: 0 },
    {},
  );
  const t0 = performance.now();
  const node = await createNode(options, { log: silentLogger });
  await node.start();
  try {
    const status = await restGet<{ height: number }>(node.api.url, "getStatus");
    const ms = performance.now() - t0;
    if (status.height !== BLOCKS) throw new Error(`node opened at ${status.height}, not ${BLOCKS}`);
    return ms;
  } finally {
    await node.stop();
  }
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) * 1024;
}

interface ProcessRun {
  readyMs: number;
  rssMaxMiB: number;
  rssEndMiB: number;
  /** the miner's reported hashrate at the end of the window, when mining */
  hashrate?: string;
}

/**
 * `quarry start` as a process on the store: spawn → "node started" line → getStatus answered;
 * then RSS sampled every 250 ms over a window after a warm-up (the operator's steady state).
 */
async function processRun(
  datadir: string,
  minerAddress?: string,
  nodeFlags: string[] = [],
): Promise<ProcessRun> {
  const t0 = performance.now();
  const node = await ProcessNode.start({
    datadir,
    ...(minerAddress ? { minerAddress } : {}),
    nodeFlags,
    startTimeoutMs: 60_000,
  });
  try {
    await restGet(node.apiUrl, "getStatus");
    const readyMs = performance.now() - t0;
    const pid = node.pid;
    const warmEnd = Date.now() + RSS_WARMUP_MS;
    await waitFor(() => Date.now() >= warmEnd, RSS_WARMUP_MS + 1_000, "warm-up", { intervalMs: 250 });
    let max = 0;
    let last = 0;
    const windowEnd = Date.now() + RSS_WINDOW_MS;
    await waitFor(
      () => {
        last = rssBytes(pid);
        max = Math.max(max, last);
        return Date.now() >= windowEnd;
      },
      RSS_WINDOW_MS + 1_000,
      "RSS window",
      { intervalMs: 250 },
    );
    const info = minerAddress
      ? await restGet<{ hashrate: number }>(node.apiUrl, "getMiningInfo").catch(() => undefined)
      : undefined;
    const hashrate = info ? `${(info.hashrate / 1e6).toFixed(2)} MH/s at the end` : undefined;
    return {
      readyMs,
      rssMaxMiB: max / 2 ** 20,
      rssEndMiB: last / 2 ** 20,
      ...(hashrate ? { hashrate } : {}),
    };
  } finally {
    await node.stop();
  }
}

interface SyncRun {
  seconds: number;
  rssMaxMiB: number;
  samples: number;
}

/**
 * RSS of a `quarry start` process while it syncs the store's chain from one peer: a serving
 * process on `datadir`, then a fresh node bootstrapping off it; RSS sampled every 100 ms from the
 * syncing process's spawn until its API reports the serving node's height.
 */
async function syncRun(datadir: string, height: number, nodeFlags: string[] = []): Promise<SyncRun> {
  const server = await ProcessNode.start({ datadir, nodeFlags, startTimeoutMs: 60_000 });
  const fresh = tempDir("quarry-bench-node-sync-");
  try {
    const t0 = performance.now();
    const node = await ProcessNode.start({
      datadir: fresh.path,
      bootstrap: [server.multiaddr],
      nodeFlags,
      startTimeoutMs: 60_000,
    });
    try {
      const pid = node.pid;
      let max = 0;
      let samples = 0;
      await waitFor(
        async () => {
          max = Math.max(max, rssBytes(pid));
          samples++;
          const status = await restGet<{ height: number }>(node.apiUrl, "getStatus");
          return status.height >= height;
        },
        600_000,
        "synced",
        { intervalMs: 100 },
      );
      return { seconds: (performance.now() - t0) / 1000, rssMaxMiB: max / 2 ** 20, samples };
    } finally {
      await node.stop();
    }
  } finally {
    await server.stop();
    fresh.cleanup();
  }
}

/** Median wall time, spawn to exit, of `runs` runs of Node.js with `args` (the first run warms the page cache). */
async function medianSpawnMs(args: readonly string[], runs = 9): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: "ignore" });
      child.once("error", reject);
      child.once("exit", () => resolve());
    });
    if (i > 0) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** A client command's start-up against Node.js's own (`node -e 0`): the CLI loads libp2p only for `quarry start`. */
async function cliStartupRows(datadir: string): Promise<BenchResult[]> {
  const nodeBoot = await medianSpawnMs(["-e", "0"]);
  const status = await medianSpawnMs([QUARRY_BIN, "status", "--datadir", datadir]);
  return [
    {
      name: "CLI start-up: 'quarry status' with no node running (spawn → exit), median of 9",
      value: status,
      unit: "ms",
      lowerIsBetter: true,
      limit: nodeBoot,
      note: "limit: 'node -e 0' in the same run; was 820 ms while every command loaded libp2p",
    },
  ];
}

export const nodeSuite: BenchSuite = {
  name: "node",
  async run(): Promise<BenchResult[]> {
    const dir = tempDir("quarry-bench-node-");
    const loadedDir = tempDir("quarry-bench-node-loaded-");
    try {
      const t0 = performance.now();
      await buildStore(dir.path, BLOCKS);
      const buildSeconds = (performance.now() - t0) / 1000;
      // Signature workers only work on a chain with transactions: sync one as well.
      const { funding, loaded } = await loadedChain(SENDERS, LOADED_BLOCKS, 100);
      await importStore(loadedDir.path, [...funding, ...loaded]);
      const loadedHeight = funding.length + loaded.length;
      // the first open pays for cold files; take the best of three like a restarted node would see
      const inProcess = Math.min(
        await inProcessStartMs(dir.path),
        await inProcessStartMs(dir.path),
        await inProcessStartMs(dir.path),
      );
      const idle = await processRun(dir.path);
      const minerAddress = encodeAddress(REGTEST.addressPrefix, testKey(1).address);
      const note = `store of ${BLOCKS} blocks (built and imported in ${buildSeconds.toFixed(0)} s)`;
      const rows: BenchResult[] = [
        ...(await cliStartupRows(join(dir.path, "no-node"))),
        {
          name: `start-up to listening + API ready, in process (createNode+start+getStatus), ${BLOCKS} blocks`,
          value: inProcess / 1000,
          unit: "s",
          target: 2,
          lowerIsBetter: true,
          note,
        },
        {
          name: `start-up to listening + API ready, 'quarry start' process (spawn → getStatus), ${BLOCKS} blocks`,
          value: idle.readyMs / 1000,
          unit: "s",
          target: 2,
          lowerIsBetter: true,
          note: "includes Node.js boot and module loading",
        },
      ];
      // As shipped (bin.ts keeps the main thread's new space at 2 MiB, workers get 6 MB of young
      // generation), then with the main thread at V8's default here (an operator's semi-space flag
      // turns bin.ts's limit off): the memory side of the tradeoff in docs/BENCHMARKS.md.
      const configs = [
        { label: "", flags: [] as string[], idle },
        {
          label: ", main thread at V8 default (node --max-semi-space-size=32)",
          flags: ["--max-semi-space-size=32"],
        },
      ];
      for (const config of configs) {
        const idleRun = config.idle ?? (await processRun(dir.path, undefined, config.flags));
        const mining = await processRun(dir.path, minerAddress, config.flags);
        const syncing = await syncRun(dir.path, BLOCKS, config.flags);
        const syncingLoaded = await syncRun(loadedDir.path, loadedHeight, config.flags);
        rows.push(
          {
            name: `RSS at steady state, not mining (max over 10 s after 20 s)${config.label}`,
            value: idleRun.rssMaxMiB,
            unit: "MiB",
            target: 200,
            lowerIsBetter: true,
            note: `last sample ${idleRun.rssEndMiB.toFixed(0)} MiB`,
          },
          {
            name: `RSS at steady state, mining 1 thread (max over 10 s after 20 s)${config.label}`,
            value: mining.rssMaxMiB,
            unit: "MiB",
            target: 200,
            lowerIsBetter: true,
            note: `last sample ${mining.rssEndMiB.toFixed(0)} MiB; ${mining.hashrate ?? "?"}`,
          },
          {
            name: `RSS while syncing ${BLOCKS} blocks from one peer (max)${config.label}`,
            value: syncing.rssMaxMiB,
            unit: "MiB",
            target: 200,
            lowerIsBetter: true,
            note: `${syncing.samples} samples over ${syncing.seconds.toFixed(1)} s from spawn to synced (${(BLOCKS / syncing.seconds).toFixed(0)} blocks/s incl. start-up)`,
          },
          {
            name: `RSS while syncing ${LOADED_BLOCKS} blocks of 100 transfers from one peer (max)${config.label}`,
            value: syncingLoaded.rssMaxMiB,
            unit: "MiB",
            target: 300, // issue 16: RSS ≤ 300 MiB while syncing 100-tx blocks
            lowerIsBetter: true,
            note: `${syncingLoaded.samples} samples over ${syncingLoaded.seconds.toFixed(1)} s from spawn to synced (${((LOADED_BLOCKS * 100) / syncingLoaded.seconds).toFixed(0)} tx/s incl. start-up)`,
          },
        );
      }
      return rows;
    } finally {
      dir.cleanup();
      loadedDir.cleanup();
    }
  },
};
