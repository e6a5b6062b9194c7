/**
 * A simulation worker process: hosts several real Quarry nodes (createNode: regtest, libp2p on
 * 127.0.0.1, LevelDB in a temp dir, silent logger) and obeys the coordinator over IPC
 * (`process.send`). Started by `run.ts` as `node dist/test/sim/worker.js`.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { multiaddr } from "@multiformats/multiaddr";
import { installStreamRaceGuard } from "../../src/network/index.js";
import { createNode, type QuarryNode } from "../../src/node.js";
import { decodeTransaction, fromHex, TxType } from "../../src/primitives/index.js";
import { silentLogger } from "../../src/util/logger.js";
import { clusterNodeOptions, mineBlocks } from "../helpers/multinode-cluster.js";
import { tempDir } from "../helpers/temp-dir.js";
import type {
  Command,
  NodeInfo,
  NodeSpec,
  NodeStatus,
  Reply,
  Request,
  TxState,
  WorkerStatus,
} from "./protocol.js";

// 25 nodes in one process: a libp2p stream race must not end all of them (see the guard).
installStreamRaceGuard(silentLogger);

interface Slot {
  spec: NodeSpec;
  datadir: string;
  node: QuarryNode | undefined;
  /** reorg depths and gossip messages of earlier incarnations (before a restart) */
  pastReorgs: number[];
  pastGossip: number;
  lastTipChange: { t: number; hash: string };
  /** block hash -> wall-clock ms when this node first connected it */
  arrivals: Map<string, number>;
}

const now = (): number => performance.timeOrigin + performance.now();
const dir = tempDir("quarry-sim-");
const slots = new Map<number, Slot>();
let maxRssMb = 0;
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const rssTimer = setInterval(sampleRss, 200);
rssTimer.unref();

function sampleRss(): number {
  const rss = process.memoryUsage().rss / 2 ** 20;
  if (rss > maxRssMb) maxRssMb = rss;
  return rss;
}

function slot(idx: number): Slot {
  const s = slots.get(idx);
  if (!s) throw new Error(`no node ${idx} in worker ${process.pid}`);
  return s;
}

function running(idx: number): QuarryNode {
  const n = slot(idx).node;
  if (!n) throw new Error(`node ${idx} is stopped`);
  return n;
}

async function boot(s: Slot, bootstrap: string[]): Promise<QuarryNode> {
  const opts = clusterNodeOptions(s.datadir, {
    bootstrap,
    minPeers: s.spec.minPeers,
    maxPeers: s.spec.maxPeers,
    ...(s.spec.minerKey !== undefined ? { minerKey: s.spec.minerKey } : {}),
  });
  // miners mine only when told to (`mine`)
  const node = await createNode(opts, { log: silentLogger, startProducer: false });
  node.chain.on("blockConnected", ({ hash }) => {
    const t = now();
    if (!s.arrivals.has(hash)) s.arrivals.set(hash, t);
    s.lastTipChange = { t, hash: node.chain.tip.hashHex };
  });
  // SIM_TRACE=1: one stderr line per sync event and reorg, with the time (to follow a chain's spread)
  if (process.env.SIM_TRACE) {
    const tr = (what: string, x: unknown) =>
      console.error(`TRACE ${Date.now()} ${s.spec.idx} ${what} ${JSON.stringify(x)}`);
    node.sync.on("peerStatus", (e) => {
      if (e.chainWork > node.chain.tip.chainWork) tr("status", { from: e.peerId.slice(-6), h: e.height });
    });
    node.sync.on("syncComplete", (e) => tr("syncComplete", { h: e.height, s: e.seconds }));
    node.sync.on("batchProcessed", (e) =>
      tr("batch", { from: e.peerId.slice(-6), h: e.startHeight, n: e.count }),
    );
    node.sync.on("batchRejected", (e) => tr("rejected", { from: e.peerId.slice(-6), code: e.code }));
    node.chain.on("reorg", (r) => tr("reorg", { depth: r.depth }));
  }
  await node.start();
  s.node = node;
  s.lastTipChange = { t: now(), hash: node.chain.tip.hashHex };
  return node;
}

function info(s: Slot): NodeInfo {
  const node = s.node!;
  const addr = node.host.multiaddrs()[0];
  if (!addr) throw new Error(`node ${s.spec.idx} has no listen address`);
  return { idx: s.spec.idx, peerId: node.host.peerId, addr };
}

async function stopSlot(s: Slot): Promise<void> {
  const node = s.node;
  if (!node) return;
  s.pastReorgs.push(...node.reorgs.map((r) => r.depth));
  s.pastGossip += node.host.verdicts.total();
  s.node = undefined;
  await node.stop();
}

function statusOf(s: Slot): NodeStatus {
  const n = s.node;
  return {
    idx: s.spec.idx,
    running: n !== undefined,
    tip: n?.chain.tip.hashHex ?? "",
    height: n?.chain.tip.height ?? -1,
    peers: n?.host.connectedPeers().length ?? 0,
    reorgDepths: [...s.pastReorgs, ...(n?.reorgs.map((r) => r.depth) ?? [])],
    gossipMessages: s.pastGossip + (n?.host.verdicts.total() ?? 0),
    mempool: n?.mempool.size ?? 0,
    lastTipChange: s.lastTipChange,
  };
}

async function handle(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case "add": {
      const out: NodeInfo[] = [];
      for (const spec of c.nodes) {
        const s: Slot = {
          spec,
          datadir: `${dir.path}/n${spec.idx}`,
          node: undefined,
          pastReorgs: [],
          pastGossip: 0,
          lastTipChange: { t: 0, hash: "" },
          arrivals: new Map(),
        };
        slots.set(spec.idx, s);
        await boot(s, spec.bootstrap);
        out.push(info(s));
      }
      return out;
    }
    case "status": {
      const st: WorkerStatus = {
        pid: process.pid,
        rssMb: sampleRss(),
        maxRssMb,
        loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
        loopDelayMaxMs: loopDelay.max / 1e6,
        nodes: [...slots.values()].map(statusOf),
      };
      return st;
    }
    case "ban": {
      for (const idx of c.idxs) {
        const n = running(idx);
        for (const p of c.peerIds) {
          if (c.on) n.host.reputation.ban(p, "TEST_PARTITION", "simulated partition", 600_000);
          else n.host.reputation.unban(p);
        }
      }
      return null;
    }
    case "dial": {
      let ok = 0;
      await Promise.all(
        c.idxs.flatMap((idx) =>
          c.addrs.map(async (a) => {
            const n = slot(idx).node;
            if (!n || n.host.multiaddrs()[0] === a) return;
            await n.host.libp2p
              .dial(multiaddr(a), { signal: AbortSignal.timeout(5_000) })
              .then(() => ok++)
              .catch(() => undefined);
          }),
        ),
      );
      return ok;
    }
    case "mine":
      return mineBlocks(running(c.idx), c.blocks, c.timeoutMs);
    case "stopNode":
      await stopSlot(slot(c.idx));
      return null;
    case "restartNode": {
      const s = slot(c.idx);
      if (s.node) throw new Error(`node ${c.idx} is running`);
      await boot(s, c.bootstrap);
      return info(s);
    }
    case "submit": {
      const n = running(c.idx);
      const accepted: string[] = [];
      for (const hex of c.txs) {
        const bytes = fromHex(hex);
        const tx = decodeTransaction(bytes);
        if (tx.type !== TxType.Transfer) continue;
        try {
          const r = await n.mempool.add(tx);
          accepted.push(r.id);
          await n.host.publishTx(bytes).catch(() => 0);
        } catch {
          // refused: not counted as accepted
        }
      }
      return accepted;
    }
    case "txState": {
      const out: TxState = {};
      for (const s of slots.values()) {
        const n = s.node;
        if (!n) continue;
        const row = { mempool: 0, block: 0, missing: [] as string[] };
        for (const id of c.ids) {
          if (n.mempool.has(id)) row.mempool++;
          else if (await n.chain.getTransaction(id)) row.block++;
          else row.missing.push(id);
        }
        out[s.spec.idx] = row;
      }
      return out;
    }
    case "arrivals": {
      const out: Record<string, Record<number, number>> = {};
      for (const s of slots.values())
        for (const [hash, t] of s.arrivals) {
          const row = out[hash] ?? {};
          row[s.spec.idx] = t;
          out[hash] = row;
        }
      return out;
    }
    case "shutdown": {
      await Promise.allSettled([...slots.values()].map(stopSlot));
      dir.cleanup();
      setImmediate(() => process.exit(0));
      return null;
    }
  }
}

process.on("message", (msg: Request) => {
  void handle(msg.command).then(
    (result) => process.send?.({ id: msg.id, ok: true, result } satisfies Reply),
    (err: unknown) =>
      process.send?.({
        id: msg.id,
        ok: false,
        error: err instanceof Error ? err.message : String(err),
      } satisfies Reply),
  );
});
// The coordinator went away: do not linger with open sockets and LevelDB locks.
process.on("disconnect", () => {
  void Promise.allSettled([...slots.values()].map(stopSlot)).finally(() => {
    dir.cleanup();
    process.exit(0);
  });
});
process.send?.({ id: 0, ok: true, result: "ready" } satisfies Reply);
