import { blockGossipHandler, type NetworkHost } from "../src/network/index.js";
import { blockHash, encodeBlock, toHex } from "../src/primitives/index.js";
import { ChainBuilder } from "../test/helpers/chain-builder.js";
import { startLocalHost, stopAll, waitFor } from "../test/helpers/network-helpers.js";
import { type OpenedChain, openChain } from "../test/helpers/open-chain.js";
import { tempDir } from "../test/helpers/temp-dir.js";
import type { BenchResult, BenchSuite } from "./harness.js";

// Fewer than gossip's per-peer burst (32), so the rate limiter never judges the bench itself.
const BLOCKS = 30;

interface PropagationRun {
  p50: number;
  p95: number;
  p99: number;
  delivery: number;
  rssPerNodeMb: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/**
 * `n` nodes (real host + real chain on LevelDB) in this process, bootstrapped off node 0; `BLOCKS`
 * blocks published one at a time by rotating nodes; per block, the time until the last node
 * imported it.
 */
async function propagation(n: number): Promise<PropagationRun> {
  const tmp = tempDir("quarry-propagation-");
  const hosts: NetworkHost[] = [];
  const chains: OpenedChain[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const opened = await openChain(`${tmp.path}/n${i}`);
      const boot = hosts[0]?.multiaddrs()[0];
      const { host } = await startLocalHost({
        ...(boot ? { bootstrap: [boot] } : {}),
        peers: { minPeers: 4, maxPeers: 24 },
      });
      host.setBlockHandler(blockGossipHandler(opened.chain));
      hosts.push(host);
      chains.push(opened);
    }
    await waitFor(
      () => hosts.every((h) => h.connectedPeers().length >= 3 && h.blockMeshPeers().length >= 1),
      60_000,
      "block mesh",
      100,
    ).catch((err: unknown) => {
      const counts = hosts.map((h) => `${h.connectedPeers().length}/${h.blockMeshPeers().length}`);
      throw new Error(`${(err as Error).message} (connected/mesh per node: ${counts.join(" ")})`);
    });
    const builder = ChainBuilder.create();
    const times: number[] = [];
    let delivered = 0;
    for (let b = 0; b < BLOCKS; b++) {
      const block = await builder.mine();
      const hash = toHex(blockHash(block));
      const from = b % n;
      const start = performance.now();
      await chains[from]!.chain.processBlock(block);
      await hosts[from]!.publishBlock(encodeBlock(block));
      const reached = () => chains.filter((c) => c.chain.tip.hashHex === hash).length;
      await waitFor(() => reached() === n, 10_000, "block everywhere", 2).catch(() => undefined);
      delivered += reached() - 1;
      if (reached() === n) times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    return {
      p50: percentile(times, 50),
      p95: percentile(times, 95),
      p99: percentile(times, 99),
      delivery: (100 * delivered) / (BLOCKS * (n - 1)),
      rssPerNodeMb: process.memoryUsage().rss / 2 ** 20 / n,
    };
  } finally {
    await stopAll(hosts);
    await Promise.all(chains.map((c) => c.close()));
    tmp.cleanup();
  }
}

/** Block propagation to all of 20 nodes (one process; p50/p95/p99, delivery, RSS per node). */
export const propagationSuite: BenchSuite = {
  name: "propagation",
  async run(): Promise<BenchResult[]> {
    const out: BenchResult[] = [];
    for (const n of [20]) {
      const r = await propagation(n);
      const note = `${n} nodes in 1 process, ${BLOCKS} blocks, 127.0.0.1`;
      out.push(
        { name: `propagation to all ${n} nodes p50`, value: r.p50, unit: "ms", lowerIsBetter: true, note },
        {
          name: `propagation to all ${n} nodes p95`,
          value: r.p95,
          unit: "ms",
          target: 250,
          lowerIsBetter: true,
          note,
        },
        { name: `propagation to all ${n} nodes p99`, value: r.p99, unit: "ms", lowerIsBetter: true, note },
        { name: `gossip delivery (${n} nodes)`, value: r.delivery, unit: "%", target: 100, note },
        {
          name: `RSS per node (${n} nodes in one process)`,
          value: r.rssPerNodeMb,
          unit: "MB",
          target: 200,
          lowerIsBetter: true,
          note: "process RSS / nodes (hosts and chains only, no miner or API)",
        },
      );
    }
    return out;
  },
};
