/**
 * Coordinator side of the simulation: N real Quarry nodes spread over `workers` child processes
 * (node i lives in worker i % workers), driven over IPC.
 */
import { type ChildProcess, fork } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "../helpers/wait.js";
import type { Command, NodeInfo, NodeSpec, Reply, TxState, WorkerStatus } from "./protocol.js";

const WORKER = join(dirname(fileURLToPath(import.meta.url)), "worker.js");

class Worker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly ready: Promise<void>;
  private exited = false;

  constructor(readonly proc: ChildProcess) {
    let onReady!: () => void;
    this.ready = new Promise((r) => {
      onReady = r;
    });
    proc.on("message", (m: Reply) => {
      if (m.id === 0) return onReady();
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(m.error));
    });
    proc.on("exit", (code) => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error(`worker ${proc.pid} exited (${code})`));
      this.pending.clear();
    });
  }

  call<T>(command: Command, timeoutMs = 120_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error("worker exited"));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`worker ${this.proc.pid}: ${command.cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.proc.send({ id, command });
    });
  }
}

export interface SimOptions {
  nodes: number;
  workers?: number;
  /** node indexes that get a producer (stopped until `mine`), paying testKey(minerKeyBase + idx) */
  miners?: number[];
  minerKeyBase?: number;
  minPeers?: number;
  maxPeers?: number;
}

export interface Status {
  workers: WorkerStatus[];
  nodes: WorkerStatus["nodes"];
}

export class SimCluster {
  readonly workers: Worker[] = [];
  readonly info: NodeInfo[] = [];
  readonly n: number;

  private constructor(readonly opts: SimOptions) {
    this.n = opts.nodes;
  }

  /** Starts the workers and the nodes: node 0 first, then the rest bootstrapping off earlier nodes. */
  static async start(opts: SimOptions): Promise<SimCluster> {
    const sim = new SimCluster(opts);
    const w = opts.workers ?? 2;
    for (let i = 0; i < w; i++) {
      const proc = fork(WORKER, [], {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
        execArgv: [...process.execArgv, ...(process.env.SIM_WORKER_ARGS ?? "").split(" ").filter(Boolean)],
      });
      sim.workers.push(new Worker(proc));
    }
    try {
      await Promise.all(sim.workers.map((x) => x.ready));
      const spec = (idx: number, bootstrap: string[]): NodeSpec => ({
        idx,
        bootstrap,
        minPeers: opts.minPeers ?? 4,
        maxPeers: opts.maxPeers ?? 12,
        ...(opts.miners?.includes(idx) ? { minerKey: (opts.minerKeyBase ?? 100) + idx } : {}),
      });
      const [first] = await sim.workerOf(0).call<NodeInfo[]>({ cmd: "add", nodes: [spec(0, [])] });
      sim.info[0] = first!;
      // A few early nodes as seeds (not only node 0), so no single node carries every first dial.
      const seeds: NodeInfo[] = [first!];
      const seedCount = Math.min(opts.nodes - 1, Math.max(1, Math.ceil(opts.nodes / 10)));
      const batch = async (from: number, to: number) => {
        const perWorker = sim.workers.map(() => [] as NodeSpec[]);
        for (let idx = from; idx < to; idx++) {
          const boot = [seeds[idx % seeds.length]!.addr, seeds[(idx + 1) % seeds.length]!.addr];
          perWorker[idx % w]!.push(spec(idx, [...new Set(boot)]));
        }
        const res = await Promise.all(
          sim.workers.map((x, i) =>
            perWorker[i]!.length ? x.call<NodeInfo[]>({ cmd: "add", nodes: perWorker[i]! }) : [],
          ),
        );
        for (const r of res) for (const ni of r) sim.info[ni.idx] = ni;
      };
      await batch(1, 1 + seedCount);
      for (let i = 1; i <= seedCount; i++) seeds.push(sim.info[i]!);
      await batch(1 + seedCount, opts.nodes);
      // Seeds fill up (maxPeers) before discovery spreads the rest: like an operator adding
      // peers, every node also dials three others spread over the index range.
      const all = Array.from({ length: opts.nodes }, (_, i) => i);
      await sim.linkRandomly(all, 3);
    } catch (err) {
      await sim.stop();
      throw err;
    }
    return sim;
  }

  workerOf(idx: number): Worker {
    return this.workers[idx % this.workers.length]!;
  }

  async status(): Promise<Status> {
    const workers = await Promise.all(this.workers.map((w) => w.call<WorkerStatus>({ cmd: "status" })));
    const nodes = workers.flatMap((w) => w.nodes).sort((a, b) => a.idx - b.idx);
    return { workers, nodes };
  }

  /** Calls `command(idxsInWorker)` on every worker that hosts some of `idxs`. */
  async eachWorker(idxs: readonly number[], command: (idxs: number[]) => Command): Promise<void> {
    await Promise.all(
      this.workers.map((w, i) => {
        const mine = idxs.filter((x) => x % this.workers.length === i);
        return mine.length ? w.call(command(mine)) : Promise.resolve();
      }),
    );
  }

  /** Each side bans (on = true) or unbans the other side's peer ids in its own gater. */
  async partition(a: readonly number[], b: readonly number[], on: boolean): Promise<void> {
    const ids = (xs: readonly number[]) => xs.map((i) => this.info[i]!.peerId);
    await this.eachWorker(a, (idxs) => ({ cmd: "ban", idxs, peerIds: ids(b), on }));
    await this.eachWorker(b, (idxs) => ({ cmd: "ban", idxs, peerIds: ids(a), on }));
  }

  /** Every node of `from` dials `count` nodes of `to` (spread round the list). */
  async dialAcross(from: readonly number[], to: readonly number[], count = 2): Promise<void> {
    await Promise.all(
      from.map((f, k) => {
        const addrs = Array.from(
          { length: Math.min(count, to.length) },
          (_, j) => this.info[to[(k + j) % to.length]!]!.addr,
        );
        return this.workerOf(f).call({ cmd: "dial", idxs: [f], addrs });
      }),
    );
  }

  /** Every node of `idxs` dials `count` others of `idxs` chosen by a fixed stride (deterministic). */
  async linkRandomly(idxs: readonly number[], count: number): Promise<void> {
    const m = idxs.length;
    if (m < 2) return;
    await Promise.all(
      idxs.map((f, k) => {
        const addrs: string[] = [];
        for (let j = 1; j <= count; j++) {
          const t = idxs[(k + 1 + Math.floor((j * m) / (count + 1)) + (k % 3)) % m]!;
          if (t !== f) addrs.push(this.info[t]!.addr);
        }
        return this.workerOf(f).call({ cmd: "dial", idxs: [f], addrs });
      }),
    );
  }

  mine(idx: number, blocks: number, timeoutMs = 60_000): Promise<number> {
    return this.workerOf(idx).call<number>({ cmd: "mine", idx, blocks, timeoutMs }, timeoutMs + 10_000);
  }

  stopNode(idx: number): Promise<void> {
    return this.workerOf(idx).call({ cmd: "stopNode", idx });
  }

  async restartNode(idx: number, bootstrap: string[]): Promise<void> {
    this.info[idx] = await this.workerOf(idx).call<NodeInfo>({ cmd: "restartNode", idx, bootstrap });
  }

  submit(idx: number, txs: string[]): Promise<string[]> {
    return this.workerOf(idx).call<string[]>({ cmd: "submit", idx, txs });
  }

  async txState(ids: string[]): Promise<TxState> {
    const parts = await Promise.all(this.workers.map((w) => w.call<TxState>({ cmd: "txState", ids })));
    return Object.assign({}, ...parts) as TxState;
  }

  async arrivals(): Promise<Record<string, Record<number, number>>> {
    const parts = await Promise.all(
      this.workers.map((w) => w.call<Record<string, Record<number, number>>>({ cmd: "arrivals" })),
    );
    const out: Record<string, Record<number, number>> = {};
    for (const p of parts) for (const [h, row] of Object.entries(p)) out[h] = { ...out[h], ...row };
    return out;
  }

  /**
   * Polls until every running node in `idxs` (default all) has the same tip; rejects after
   * `timeoutMs` with the tip spread (`height:tip` -> nodes).
   */
  waitSameTip(timeoutMs: number, idxs?: readonly number[], pollMs = 50): Promise<Status> {
    return waitFor(
      async (note) => {
        const st = await this.status();
        const nodes = st.nodes.filter((n) => n.running && (!idxs || idxs.includes(n.idx)));
        const spread: Record<string, number> = {};
        for (const n of nodes) {
          const key = `${n.height}:${n.tip.slice(0, 8)}`;
          spread[key] = (spread[key] ?? 0) + 1;
        }
        note(spread);
        return nodes.length > 0 && nodes.every((n) => n.tip === nodes[0]!.tip) ? st : undefined;
      },
      timeoutMs,
      "a common tip",
      { intervalMs: pollMs },
    );
  }

  /** Polls until `pred(status)` holds; rejects after `timeoutMs` naming each node's peer count. */
  waitUntil(pred: (st: Status) => boolean, timeoutMs: number, what: string, pollMs = 100): Promise<Status> {
    return waitFor(
      async (note) => {
        const st = await this.status();
        note(st.nodes.map((n) => `${n.idx}:${n.running ? n.peers : "-"}`).join(" "));
        return pred(st) ? st : undefined;
      },
      timeoutMs,
      `${what} (idx:peers)`,
      { intervalMs: pollMs },
    );
  }

  async stop(): Promise<void> {
    await Promise.allSettled(
      this.workers.map(async (w) => {
        const exited = new Promise<void>((r) => {
          if (w.proc.exitCode !== null) r();
          else w.proc.once("exit", () => r());
        });
        await w.call({ cmd: "shutdown" }, 30_000).catch(() => w.proc.kill("SIGKILL"));
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000).unref())]);
        if (w.proc.exitCode === null) w.proc.kill("SIGKILL");
      }),
    );
  }
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
