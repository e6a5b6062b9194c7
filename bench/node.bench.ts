import { readFileSync } from "node:fs";
import { REGTEST } from "../src/consensus/params.js";
import { createNode } from "../src/node.js";
import { resolveNodeOptions } from "../src/options.js";
import { encodeAddress } from "../src/primitives/index.js";
import { silentLogger } from "../src/util/logger.js";
import { ChainBuilder, testKey } from "../test/helpers/chain-builder.js";
import { restGet, startNodeProcess, waitUntil } from "../test/helpers/node-process.js";
import { openChain } from "../test/helpers/open-chain.js";
import { tempDir } from "../test/helpers/temp-dir.js";
import type { BenchResult, BenchSuite } from "./harness.js";

/** Store size for the start-up measurement (the 10k blocks; smaller via env for a quick look). */
const BLOCKS = Number(process.env.QUARRY_BENCH_NODE_BLOCKS ?? 10_000);
/** How long the process runs before and while RSS is sampled. */
// A miner on an on-schedule chain at the pow limit first runs ahead of schedule until ASERT has
// raised the difficulty (half-life 60 s on regtest): ~10-15 s at ~1.4 MH/s. Sample after that.
const RSS_WARMUP_MS = 20_000;
const RSS_WINDOW_MS = 10_000;

const NET_ARGS = ["--network", "regtest", "--p2p-host", "127.0.0.1", "--p2p-port", "0", "--api-port", "0"];

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
      await opened.chain.processBlock(await builder.mine({ time: first + i * spacing }));
    }
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
}

/**
 * `quarry start` as a process on the store: spawn → "node started" line → getStatus answered;
 * then RSS sampled every 250 ms over a window after a warm-up (the operator's steady state).
 */
async function processRun(
  datadir: string,
  extraArgs: string[],
  nodeFlags: string[] = [],
): Promise<ProcessRun> {
  const t0 = performance.now();
  const node = await startNodeProcess(datadir, [...NET_ARGS, ...extraArgs], {}, 60_000, nodeFlags);
  try {
    await restGet(node.url, "getStatus");
    const readyMs = performance.now() - t0;
    const pid = node.child.pid!;
    const warmEnd = Date.now() + RSS_WARMUP_MS;
    await waitUntil("warm-up", () => Date.now() >= warmEnd, RSS_WARMUP_MS + 1_000, 250);
    let max = 0;
    let last = 0;
    const windowEnd = Date.now() + RSS_WINDOW_MS;
    await waitUntil(
      "RSS window",
      () => {
        last = rssBytes(pid);
        max = Math.max(max, last);
        return Date.now() >= windowEnd;
      },
      RSS_WINDOW_MS + 1_000,
      250,
    );
    return { readyMs, rssMaxMiB: max / 2 ** 20, rssEndMiB: last / 2 ** 20 };
  } finally {
    node.child.kill("SIGTERM");
    await node.exited;
  }
}

export const nodeSuite: BenchSuite = {
  name: "node",
  async run(): Promise<BenchResult[]> {
    const dir = tempDir("quarry-bench-node-");
    try {
      const t0 = performance.now();
      await buildStore(dir.path, BLOCKS);
      const buildSeconds = (performance.now() - t0) / 1000;
      // the first open pays for cold files; take the best of three like a restarted node would see
      const inProcess = Math.min(
        await inProcessStartMs(dir.path),
        await inProcessStartMs(dir.path),
        await inProcessStartMs(dir.path),
      );
      const idle = await processRun(dir.path, []);
      const minerAddress = encodeAddress(REGTEST.addressPrefix, testKey(1).address);
      const mineArgs = ["--mine", "--miner-address", minerAddress, "--threads", "1"];
      const mining = await processRun(dir.path, mineArgs);
      // V8 lets every isolate (main + 2 signature workers + the miner) grow ~48 MB of young
      // generation; capping the semi-spaces is the cheapest RSS lever measured here
      const small = ["--max-semi-space-size=2"];
      const idleSmall = await processRun(dir.path, [], small);
      const miningSmall = await processRun(dir.path, mineArgs, small);
      const note = `store of ${BLOCKS} blocks (built and imported in ${buildSeconds.toFixed(0)} s)`;
      return [
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
        {
          name: "RSS at steady state, not mining (max over 10 s after 20 s)",
          value: idle.rssMaxMiB,
          unit: "MiB",
          target: 200,
          lowerIsBetter: true,
          note: `last sample ${idle.rssEndMiB.toFixed(0)} MiB`,
        },
        {
          name: "RSS at steady state, mining 1 thread (max over 10 s after 20 s)",
          value: mining.rssMaxMiB,
          unit: "MiB",
          target: 200,
          lowerIsBetter: true,
          note: `last sample ${mining.rssEndMiB.toFixed(0)} MiB`,
        },
        {
          name: "RSS at steady state, not mining, node --max-semi-space-size=2",
          value: idleSmall.rssMaxMiB,
          unit: "MiB",
          target: 200,
          lowerIsBetter: true,
          note: `last sample ${idleSmall.rssEndMiB.toFixed(0)} MiB`,
        },
        {
          name: "RSS at steady state, mining 1 thread, node --max-semi-space-size=2",
          value: miningSmall.rssMaxMiB,
          unit: "MiB",
          target: 200,
          lowerIsBetter: true,
          note: `last sample ${miningSmall.rssEndMiB.toFixed(0)} MiB`,
        },
      ];
    } finally {
      dir.cleanup();
    }
  },
};
