/**
 * Simulation scenarios. Each starts its own SimCluster, drives it, checks its assertions and
 * returns a summary (printed as JSON by run.ts). A failed check is listed in `failures` and the
 * scenario throws after the summary is built, so the numbers of a failing run are still reported.
 */
import { encodeTransaction, toHex, transactionId } from "../../src/primitives/index.js";
import { testKey, transfer } from "../helpers/chain-builder.js";
import { waitFor } from "../helpers/wait.js";
import { percentile, SimCluster, type Status } from "./sim-cluster.js";

export interface ScenarioOptions {
  nodes: number;
  workers?: number;
  /** bound on convergence after the decisive event (heal, rejoin, end of mining) */
  convergeTimeoutMs?: number;
}

export interface Summary {
  scenario: string;
  nodes: number;
  processes: number;
  nodesPerProcess: number[];
  convergenceMs: number | null;
  /** per node: ms after the heal/rejoin at which its tip last changed (0: it already had the final tip) */
  perNodeConvergenceMs: number[];
  reorgDepths: Record<string, number>;
  gossipMessagesPerNode: { min: number; median: number; max: number; total: number };
  /** connected peers per running node at the end (DHT queries connect far beyond the dials) */
  peersPerNode: { min: number; median: number; max: number };
  /** per block mined while the network was whole (or within one side): ms from first to each other node */
  propagationMs: { samples: number; p50: number; p95: number; max: number; allNodesReachedPct: number };
  propagationSamples: number[];
  maxRssMbPerProcess: number[];
  maxRssMbPerNode: number;
  /** per process: event-loop delay p99 / max over the run, ms (how starved the 2 cores were) */
  loopDelayMs: { p99: number; max: number }[];
  extra: Record<string, unknown>;
  failures: string[];
}

const round = (x: number) => Math.round(x * 10) / 10;

async function summarize(
  sim: SimCluster,
  scenario: string,
  st: Status,
  t0: number | null,
  convergenceMs: number | null,
  propagationBefore: number,
  extra: Record<string, unknown>,
  failures: string[],
): Promise<Summary> {
  const depths: Record<string, number> = {};
  for (const n of st.nodes) for (const d of n.reorgDepths) depths[d] = (depths[d] ?? 0) + 1;
  const gossip = st.nodes.map((n) => n.gossipMessages).sort((a, b) => a - b);
  // Propagation: blocks first seen before `propagationBefore`, arrival deltas from the first node.
  const arrivals = await sim.arrivals();
  const samples: number[] = [];
  let reachedAll = 0;
  let blocks = 0;
  for (const row of Object.values(arrivals)) {
    const times = Object.values(row);
    const first = Math.min(...times);
    if (first >= propagationBefore || times.length < 2) continue;
    blocks++;
    if (times.length >= st.nodes.length) reachedAll++;
    for (const t of times) if (t !== first && t < propagationBefore) samples.push(t - first);
  }
  samples.sort((a, b) => a - b);
  const perWorker = st.workers.map((w) => w.nodes.length);
  const peers = st.nodes
    .filter((n) => n.running)
    .map((n) => n.peers)
    .sort((a, b) => a - b);
  const maxRss = st.workers.map((w) => round(w.maxRssMb));
  return {
    scenario,
    nodes: st.nodes.length,
    processes: st.workers.length,
    nodesPerProcess: perWorker,
    convergenceMs: convergenceMs === null ? null : Math.round(convergenceMs),
    perNodeConvergenceMs:
      t0 === null ? [] : st.nodes.map((n) => Math.max(0, Math.round(n.lastTipChange.t - t0))),
    reorgDepths: depths,
    gossipMessagesPerNode: {
      min: gossip[0] ?? 0,
      median: percentile(gossip, 50),
      max: gossip.at(-1) ?? 0,
      total: gossip.reduce((a, b) => a + b, 0),
    },
    peersPerNode: {
      min: peers[0] ?? 0,
      median: percentile(peers, 50),
      max: peers.at(-1) ?? 0,
    },
    propagationMs: {
      samples: samples.length,
      p50: round(percentile(samples, 50)),
      p95: round(percentile(samples, 95)),
      max: round(samples.at(-1) ?? Number.NaN),
      allNodesReachedPct: blocks ? round((100 * reachedAll) / blocks) : Number.NaN,
    },
    propagationSamples: samples.map(round),
    maxRssMbPerProcess: maxRss,
    loopDelayMs: st.workers.map((w) => ({ p99: round(w.loopDelayP99Ms), max: round(w.loopDelayMaxMs) })),
    maxRssMbPerNode: round(Math.max(...st.workers.map((w, i) => w.maxRssMb / Math.max(1, perWorker[i]!)))),
    extra,
    failures,
  };
}

function check(failures: string[], ok: boolean, what: string): void {
  if (!ok) failures.push(what);
}

async function connected(sim: SimCluster, minPeers: number, timeoutMs = 60_000): Promise<void> {
  await sim.waitUntil(
    (st) => st.nodes.every((n) => !n.running || n.peers >= minPeers),
    timeoutMs,
    `every node with ${minPeers}+ peers`,
    200,
  );
}

function finish(s: Summary): Summary {
  if (s.failures.length) {
    const err = new Error(`${s.scenario}: ${s.failures.join("; ")}`) as Error & { summary: Summary };
    err.summary = s;
    throw err;
  }
  return s;
}

/**
 * (a) Two halves are cut apart with each node's own gater (bans of the other side's peer ids),
 * a miner on each side mines (side B more), then the bans are lifted and each node redials two
 * nodes across. Every node must reach B's tip within the bound; A's nodes reorg.
 */
export async function partitionHeal(o: ScenarioOptions): Promise<Summary> {
  const n = o.nodes;
  const half = Math.floor(n / 2);
  const A = Array.from({ length: half }, (_, i) => i);
  const B = Array.from({ length: n - half }, (_, i) => half + i);
  const minerA = 0;
  const minerB = n - 1;
  const sim = await SimCluster.start({ nodes: n, workers: o.workers ?? 2, miners: [minerA, minerB] });
  const failures: string[] = [];
  try {
    await connected(sim, 2);
    await sim.mine(minerA, 2);
    await sim.waitSameTip(30_000);
    await sim.partition(A, B, true);
    // A node whose peers were all across the cut would be alone: link each side within itself.
    await Promise.all([sim.linkRandomly(A, 2), sim.linkRandomly(B, 2)]);
    const tPart = Date.now();
    const kA = await sim.mine(minerA, 2);
    const kB = await sim.mine(minerB, kA + 2);
    const stA = await sim.waitSameTip(30_000, A);
    const stB = await sim.waitSameTip(30_000, B);
    const tipA = stA.nodes.find((x) => x.idx === minerA)!.tip;
    const tipB = stB.nodes.find((x) => x.idx === minerB)!.tip;
    check(failures, tipA !== tipB, "the sides did not diverge (partition leaked)");
    // Heal.
    const tHeal = Date.now();
    await sim.partition(A, B, false);
    await sim.dialAcross(A, B, 2);
    let convergeMs: number | null = null;
    let st: Status;
    try {
      st = await sim.waitSameTip(o.convergeTimeoutMs ?? 10_000);
      convergeMs = Date.now() - tHeal;
    } catch (err) {
      failures.push((err as Error).message);
      st = await sim.status();
    }
    check(
      failures,
      st.nodes.every((x) => x.tip === tipB),
      "final tip is not side B's (the most-work) tip",
    );
    const reorged = st.nodes.filter((x) => A.includes(x.idx) && x.reorgDepths.includes(kA)).length;
    check(
      failures,
      reorged === A.length,
      `only ${reorged}/${A.length} side-A nodes reported a depth-${kA} reorg`,
    );
    return finish(
      await summarize(
        sim,
        "partition-heal",
        st,
        tHeal,
        convergeMs,
        tHeal,
        {
          minedA: kA,
          minedB: kB,
          partitionMs: tHeal - tPart,
          sideANodesReorged: reorged,
        },
        failures,
      ),
    );
  } finally {
    await sim.stop();
  }
}

/** (b) One miner mines while a few nodes are stopped and restarted; all running nodes converge. */
export async function churn(o: ScenarioOptions): Promise<Summary> {
  const n = o.nodes;
  const sim = await SimCluster.start({ nodes: n, workers: o.workers ?? 2, miners: [0] });
  const failures: string[] = [];
  try {
    await connected(sim, 2);
    const victims = [Math.floor(n / 3), Math.floor(n / 2), n - 2].filter(
      (v, i, xs) => v > 0 && xs.indexOf(v) === i,
    );
    const mining = sim.mine(0, 8, 120_000);
    for (const v of victims) {
      await sim.stopNode(v);
      await sim.waitUntil((st) => st.nodes[0]!.height >= 1, 30_000, "a block while a node is down");
      const seeds = [sim.info[0]!.addr, sim.info[(v + 1) % n]!.addr];
      await sim.restartNode(v, seeds);
    }
    const mined = await mining;
    const tEnd = Date.now();
    let convergeMs: number | null = null;
    let st: Status;
    try {
      st = await sim.waitSameTip(o.convergeTimeoutMs ?? 15_000);
      convergeMs = Date.now() - tEnd;
    } catch (err) {
      failures.push((err as Error).message);
      st = await sim.status();
    }
    check(
      failures,
      st.nodes.every((x) => x.running),
      "a node is not running",
    );
    check(failures, st.nodes[0]!.height >= mined, "miner tip lower than blocks mined");
    return finish(
      await summarize(sim, "churn", st, tEnd, convergeMs, tEnd, { mined, restarted: victims }, failures),
    );
  } finally {
    await sim.stop();
  }
}

/**
 * (c) A node is stopped, restarted cut off (gater bans both ways, no bootstrap), mines more blocks
 * than the network does meanwhile, and rejoins: everyone must reorg onto its chain.
 */
export async function offlineMining(o: ScenarioOptions): Promise<Summary> {
  const n = o.nodes;
  const lone = n - 1;
  const rest = Array.from({ length: n - 1 }, (_, i) => i);
  const sim = await SimCluster.start({ nodes: n, workers: o.workers ?? 2, miners: [0, lone] });
  const failures: string[] = [];
  try {
    await connected(sim, 2);
    await sim.mine(0, 2);
    await sim.waitSameTip(30_000);
    const loneId = sim.info[lone]!.peerId;
    await sim.eachWorker(rest, (idxs) => ({ cmd: "ban", idxs, peerIds: [loneId], on: true }));
    await sim.stopNode(lone);
    await sim.restartNode(lone, []);
    await sim.partition([lone], rest, true);
    const kNet = await sim.mine(0, 2);
    const kLone = await sim.mine(lone, kNet + 3);
    await sim.waitSameTip(30_000, rest);
    const tJoin = Date.now();
    await sim.partition([lone], rest, false);
    await sim.dialAcross([lone], rest, 3);
    let convergeMs: number | null = null;
    let st: Status;
    try {
      st = await sim.waitSameTip(o.convergeTimeoutMs ?? 10_000);
      convergeMs = Date.now() - tJoin;
    } catch (err) {
      failures.push((err as Error).message);
      st = await sim.status();
    }
    const loneTip = st.nodes[lone]!.tip;
    check(
      failures,
      st.nodes.every((x) => x.tip === loneTip),
      "not everyone on the offline miner's chain",
    );
    const reorged = st.nodes.filter((x) => x.idx !== lone && x.reorgDepths.includes(kNet)).length;
    check(failures, reorged === n - 1, `only ${reorged}/${n - 1} nodes reported a depth-${kNet} reorg`);
    return finish(
      await summarize(
        sim,
        "offline-mining",
        st,
        tJoin,
        convergeMs,
        tJoin,
        { minedNetwork: kNet, minedOffline: kLone },
        failures,
      ),
    );
  } finally {
    await sim.stop();
  }
}

/**
 * (d) `senders` miners fund themselves with one block each; each then submits `perSender`
 * transfers through a different node. After a few blocks every accepted tx must be, on every
 * node, in its mempool or in its main chain.
 */
export async function txLoad(
  o: ScenarioOptions & { senders?: number; perSender?: number },
): Promise<Summary> {
  const n = o.nodes;
  const senders = Math.min(o.senders ?? 10, n);
  const perSender = o.perSender ?? 50;
  const miners = Array.from({ length: senders }, (_, i) => i);
  const sim = await SimCluster.start({ nodes: n, workers: o.workers ?? 2, miners, minerKeyBase: 100 });
  const failures: string[] = [];
  try {
    await connected(sim, 2);
    for (const m of miners) {
      await sim.mine(m, 1);
      await sim.waitSameTip(30_000);
    }
    const tSubmit = Date.now();
    const all: string[] = [];
    await Promise.all(
      miners.map(async (m) => {
        const key = testKey(100 + m);
        const txs = Array.from({ length: perSender }, (_, k) =>
          transfer(key, testKey(300 + ((m + k) % 50)).address, 1n, BigInt(k), 10n),
        );
        const via = (m * 7 + 3) % n;
        const accepted = await sim.submit(
          via,
          txs.map((t) => toHex(encodeTransaction(t))),
        );
        for (const t of txs) {
          const id = toHex(transactionId(t));
          if (accepted.includes(id)) all.push(id);
        }
      }),
    );
    const submitMs = Date.now() - tSubmit;
    check(failures, all.length === senders * perSender, `only ${all.length}/${senders * perSender} accepted`);
    // Gossip spreads the pool; then mining includes (some of) it.
    let spreadMs: number | null = null;
    const missingCount = async () => {
      const state = await sim.txState(all);
      return Object.values(state).reduce((s, r) => s + r.missing.length, 0);
    };
    const spread = await waitFor(
      async () => (await missingCount()) === 0,
      o.convergeTimeoutMs ?? 30_000,
      "every transaction on every node",
      { intervalMs: 200 },
    ).catch(() => false);
    if (spread) spreadMs = Date.now() - tSubmit;
    const mined = await sim.mine(0, 2);
    const tMined = Date.now();
    let st: Status;
    let convergeMs: number | null = null;
    try {
      st = await sim.waitSameTip(o.convergeTimeoutMs ?? 30_000);
      convergeMs = Date.now() - tMined;
    } catch (err) {
      failures.push((err as Error).message);
      st = await sim.status();
    }
    const state = await sim.txState(all);
    const lost = Object.values(state).reduce((s, r) => s + r.missing.length, 0);
    const inBlocks = Math.max(...Object.values(state).map((r) => r.block));
    check(failures, lost === 0, `${lost} (node, tx) pairs missing: an accepted tx was lost somewhere`);
    return finish(
      await summarize(
        sim,
        "tx-load",
        st,
        tMined,
        convergeMs,
        Date.now(),
        {
          accepted: all.length,
          submitMs,
          everyTxOnEveryNodeMs: spreadMs,
          minedAfter: mined,
          inBlocks,
          lostPairs: lost,
        },
        failures,
      ),
    );
  } finally {
    await sim.stop();
  }
}

export const SCENARIOS = {
  "partition-heal": partitionHeal,
  churn,
  "offline-mining": offlineMining,
  "tx-load": txLoad,
};
