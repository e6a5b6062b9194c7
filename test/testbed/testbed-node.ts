import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { processCpuSeconds, processWriteSyscalls } from "../helpers/proc-stat.js";
import type { TestbedHost } from "./netns.js";

export const P2P_PORT = 7330;
export const API_PORT = 7331;
const BIN = join(process.cwd(), "dist", "src", "cli", "bin.js");

export interface NodeStatus {
  peerId: string;
  height: number;
  tip: string;
  chainWork: string;
  peers: number;
}

export interface NatInfo {
  reachability: string;
  relayAddresses: string[];
  dhtMode: string;
  relayedPeers: string[];
  relayedBlockMeshPeers: string[];
  relayedDeliveries: { block: number; tx: number };
  blockDeliveriesByPeer: Record<string, number>;
  gossipDirectPeers: string[];
  relayReachableAfterMs?: number;
}

export interface PeersInfo {
  connected: string[];
  peers: { peerId: string; address: string; connectedSinceMs: number }[];
  bans: unknown[];
  nat: NatInfo;
}

/**
 * One `quarry start` process inside a host's namespace, started with the pinned Node binary
 * directly (`ip netns exec` execs in place, so the PID is the node's and signals reach it). Its
 * API listens on the namespace's own 127.0.0.1: queries run curl inside the namespace.
 */
export class TestbedNode {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  peerId = "";
  readonly datadir: string;

  constructor(
    readonly host: TestbedHost,
    root: string,
    readonly minerAddress: string | undefined,
  ) {
    this.datadir = join(root, host.name);
    mkdirSync(this.datadir, { recursive: true });
  }

  /** Creates the node identity (no network needed) and returns our address for bootstrap lists. */
  identify(): string {
    const out = execFileSync(
      process.execPath,
      [BIN, "id", "--network", "devnet", "--datadir", this.datadir, "--json"],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      },
    );
    this.peerId = (JSON.parse(out) as { peerId: string }).peerId;
    return `/ip4/${this.host.ip}/tcp/${P2P_PORT}/p2p/${this.peerId}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  start(opts: { bootstrap: string[]; mine: boolean }): void {
    if (this.child) throw new Error(`${this.host.name} already running`);
    const args = [
      BIN,
      "start",
      "--network",
      "devnet",
      "--datadir",
      this.datadir,
      "--p2p-host",
      "0.0.0.0",
      "--p2p-port",
      String(P2P_PORT),
      "--api-port",
      String(API_PORT),
      "--reachability",
      this.host.router === 0 ? "public" : "auto",
      "--min-peers",
      "4",
      "--max-peers",
      "16",
      "--log-level",
      "info",
      "--log-file",
      join(this.datadir, "node.log"),
      ...opts.bootstrap.flatMap((b) => ["--bootstrap", b]),
      ...(opts.mine && this.minerAddress
        ? ["--mine", "--miner-address", this.minerAddress, "--threads", "1"]
        : []),
    ];
    const child = spawn("ip", ["netns", "exec", this.host.ns, process.execPath, ...args], {
      stdio: ["ignore", "ignore", "ignore"],
    });
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once("exit", () => {
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
  }

  /** SIGTERM (clean stop), or SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /**
   * CPU seconds (user + system, all threads) the running process has used so far, from
   * /proc/<pid>/stat; undefined when it is not running.
   */
  cpuSeconds(): number | undefined {
    return this.readProc(processCpuSeconds);
  }

  /** Write system calls (sockets, log, store) the running process has made so far; undefined when it is not running. */
  writeSyscalls(): number | undefined {
    return this.readProc(processWriteSyscalls);
  }

  private readProc(read: (pid: number) => number): number | undefined {
    const pid = this.child?.pid;
    if (pid === undefined) return undefined;
    try {
      return read(pid);
    } catch {
      return undefined;
    }
  }

  /** Synchronous SIGKILL, for exit handlers. */
  killNow(): void {
    this.child?.kill("SIGKILL");
  }

  /** A read-only JSON-RPC call through curl inside the namespace; undefined when not answering. */
  rpc<T>(method: string, params: Record<string, unknown> = {}): Promise<T | undefined> {
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method, params });
    return new Promise((resolve) => {
      execFile(
        "ip",
        [
          "netns",
          "exec",
          this.host.ns,
          "curl",
          "-s",
          "--max-time",
          "5",
          "-H",
          "content-type: application/json",
          "-d",
          body,
          `http://127.0.0.1:${API_PORT}/rpc`,
        ],
        { encoding: "utf8" },
        (err, stdout) => {
          if (err) return resolve(undefined);
          try {
            const parsed = JSON.parse(stdout) as { result?: T };
            resolve(parsed.result);
          } catch {
            resolve(undefined);
          }
        },
      );
    });
  }

  status(): Promise<NodeStatus | undefined> {
    return this.rpc<NodeStatus>("getStatus");
  }

  peers(): Promise<PeersInfo | undefined> {
    return this.rpc<PeersInfo>("getPeers");
  }

  /** The node's log lines (pino JSON) whose message starts with `prefix`. */
  logLines(prefix: string): Record<string, unknown>[] {
    const file = join(this.datadir, "node.log");
    if (!existsSync(file)) return [];
    return readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.includes(prefix))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      })
      .filter((o) => typeof o.msg === "string" && o.msg.startsWith(prefix));
  }

  /** The hash of our block at `height` ("" when we have none). */
  async hashAt(height: number): Promise<string> {
    const block = await this.rpc<{ hash: string }>("getBlock", { id: String(height) });
    return block?.hash ?? "";
  }
}
