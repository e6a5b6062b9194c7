/** Messages between the simulation coordinator (run.ts) and its worker processes (worker.ts). */

export interface NodeSpec {
  /** global node index (0..N-1) */
  idx: number;
  /** a miner: producer built (stopped until `mine`), coinbase paid to testKey(minerKey) */
  minerKey?: number;
  bootstrap: string[];
  minPeers: number;
  maxPeers: number;
}

export interface NodeInfo {
  idx: number;
  peerId: string;
  addr: string;
}

export interface NodeStatus {
  idx: number;
  running: boolean;
  tip: string;
  height: number;
  peers: number;
  /** depth of every reorg this node reported since it was created (all restarts) */
  reorgDepths: number[];
  /** gossip messages this node's host judged (all kinds and verdicts), summed over restarts */
  gossipMessages: number;
  mempool: number;
  /** wall-clock ms (Date.now) of the node's last tip change, and that tip */
  lastTipChange: { t: number; hash: string };
}

export interface WorkerStatus {
  pid: number;
  rssMb: number;
  maxRssMb: number;
  /** event-loop delay of this process since it started: p99 and max, ms (25 nodes share one loop) */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  nodes: NodeStatus[];
}

export type Command =
  | { cmd: "add"; nodes: NodeSpec[] }
  | { cmd: "status" }
  | { cmd: "ban"; idxs: number[]; peerIds: string[]; on: boolean }
  | { cmd: "dial"; idxs: number[]; addrs: string[] }
  | { cmd: "mine"; idx: number; blocks: number; timeoutMs: number }
  | { cmd: "stopNode"; idx: number }
  | { cmd: "restartNode"; idx: number; bootstrap: string[] }
  | { cmd: "submit"; idx: number; txs: string[] }
  | { cmd: "txState"; ids: string[] }
  | { cmd: "arrivals" }
  | { cmd: "shutdown" };

export interface Request {
  id: number;
  command: Command;
}

export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** Per node, per tx id: "mempool" | "block" | "missing". */
export type TxState = Record<number, { mempool: number; block: number; missing: string[] }>;
