import { percentile, SimCluster } from "../test/sim/sim-cluster.js";
import type { BenchResult, BenchSuite } from "./harness.js";

// Fewer than gossip's per-peer burst (32), so the rate limiter never judges the bench itself.
const BLOCKS = 30;
/** Simulation worker processes the nodes are packed into (node i lives in process i % 2). */
const PROCESSES = 2;
/** Targets for p95 of "propagation to all nodes". */
const P95_TARGET_MS: Record<number, number> = { 20: 250, 50: 1500 };
/** How long one block may take to reach every node before it counts as not delivered. */
const BLOCK_TIMEOUT_MS = 10_000;

interface PropagationRun {
  p50: number;
  p95: number;
  p99: number;
  delivery: number;
  rssPerNodeMiB: number;
  maxRssPerNodeMiB: number;
  startSeconds: number;
}

/**
 * `n` real Quarry nodes (createNode: libp2p host, chain on LevelDB, mempool, API) packed into
 * `PROCESSES` worker processes by test/sim's SimCluster. `BLOCKS` blocks are mined one at a time
 * by five miners spread over the index range (so over both processes), each mined only after the
 * previous one reached every node. Per block: the time from its miner connecting it to the last
 * node connecting it (wall clock, one machine).
 */
async function propagation(n: number): Promise<PropagationRun> {
  const miners = Array.from({ length: 5 }, (_, k) => Math.floor((k * n) / 5) + 1);
  const t0 = performance.now();
  const sim = await SimCluster.start({ nodes: n, workers: PROCESSES, miners });
  try {
    const startSeconds = (performance.now() - t0) / 1000;
    await sim.waitUntil((st) => st.nodes.every((node) => node.peers >= 3), 60_000, "every node with 3 peers");
    // Gossipsub grafts its mesh on the first heartbeats after connecting (~1 s each): mine a
    // warm-up block and wait until everyone has it before measuring.
    await sim.mine(miners[0]!, 1);
    await sim.waitSameTip(60_000);
    const mined: { hash: string; miner: number }[] = [];
    for (let b = 0; b < BLOCKS; b++) {
      const miner = miners[b % miners.length]!;
      await sim.mine(miner, 1);
      const st = await sim.status();
      mined.push({ hash: st.nodes[miner]!.tip, miner });
      await sim.waitSameTip(BLOCK_TIMEOUT_MS).catch(() => undefined);
    }
    const arrivals = await sim.arrivals();
    const times: number[] = [];
    let delivered = 0;
    for (const { hash, miner } of mined) {
      const row = arrivals[hash] ?? {};
      const at = Object.values(row);
      const start = row[miner];
      delivered += at.length - 1;
      if (start !== undefined && at.length === n) times.push(Math.max(...at) - start);
    }
    times.sort((a, b) => a - b);
    const st = await sim.status();
    const rss = st.workers.reduce((sum, w) => sum + w.rssMb, 0);
    const maxRss = st.workers.reduce((sum, w) => sum + w.maxRssMb, 0);
    return {
      p50: percentile(times, 50),
      p95: percentile(times, 95),
      p99: percentile(times, 99),
      delivery: (100 * delivered) / (mined.length * (n - 1)),
      rssPerNodeMiB: rss / n,
      maxRssPerNodeMiB: maxRss / n,
      startSeconds,
    };
  } finally {
    await sim.stop();
  }
}

/** Block propagation to all of 20 and of 50 nodes (p50/p95/p99, delivery, RSS per node). */
export const propagationSuite: BenchSuite = {
  name: "propagation",
  async run(): Promise<BenchResult[]> {
    const out: BenchResult[] = [];
    for (const n of [20, 50]) {
      let r: PropagationRun;
      try {
        r = await propagation(n);
      } catch (err) {
        // One size failing (e.g. nodes too slow to start on a loaded machine) keeps the other's rows.
        const note = `failed: ${(err as Error).message}`;
        out.push({
          name: `propagation to all ${n} nodes p95`,
          value: Number.NaN,
          unit: "ms",
          target: P95_TARGET_MS[n],
          lowerIsBetter: true,
          note,
        });
        continue;
      }
      const note = `${n} full nodes in ${PROCESSES} processes (test/sim SimCluster), ${BLOCKS} blocks from 5 miners, 127.0.0.1`;
      out.push(
        { name: `propagation to all ${n} nodes p50`, value: r.p50, unit: "ms", lowerIsBetter: true, note },
        {
          name: `propagation to all ${n} nodes p95`,
          value: r.p95,
          unit: "ms",
          target: P95_TARGET_MS[n],
          lowerIsBetter: true,
          note,
        },
        { name: `propagation to all ${n} nodes p99`, value: r.p99, unit: "ms", lowerIsBetter: true, note },
        { name: `gossip delivery (${n} nodes)`, value: r.delivery, unit: "%", target: 100, note },
        {
          name: `RSS per node (${n} nodes in ${PROCESSES} processes)`,
          value: r.rssPerNodeMiB,
          unit: "MiB",
          target: 200,
          lowerIsBetter: true,
          note: `processes' RSS / nodes at the end (peak ${r.maxRssPerNodeMiB.toFixed(1)}); nodes started in ${r.startSeconds.toFixed(0)} s; no miner threads`,
        },
      );
    }
    return out;
  },
};
