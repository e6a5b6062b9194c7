import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./temp-dir.js";

/**
 * Real `quarry` processes (dist/, built by `npm run build`) on 127.0.0.1: one-shot CLI commands
 * (`runQuarry`, `quarryOk`) and `quarry start` nodes (`ProcessNode`). Every wait is a poll or a
 * log line with a deadline; no fixed sleeps. Logs are kept per process so a failing test can
 * print them.
 */

export const QUARRY_BIN = join(process.cwd(), "dist", "src", "cli", "bin.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment a child sees: the parent's, without any QUARRY_* setting, plus `extra`. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("QUARRY_")) env[k] = v;
  return { ...env, ...extra };
}

/** Runs one `quarry` command to completion (killed with SIGKILL past `timeoutMs`). */
export function runQuarry(
  args: readonly string[],
  opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [QUARRY_BIN, ...args], {
      env: childEnv(opts.env),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? "");
  });
}

/** Runs a command that must succeed; throws with its output otherwise. */
export async function quarryOk(args: readonly string[], opts: Parameters<typeof runQuarry>[1] = {}) {
  const r = await runQuarry(args, opts);
  if (r.code !== 0)
    throw new Error(`quarry ${args.join(" ")} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** `quarry chain info --json` of a stopped node's regtest datadir. */
export async function offlineInfo(
  datadir: string,
): Promise<{ height: number; tip: string; chainWork: string }> {
  const r = await quarryOk(["chain", "info", "--network", "regtest", "--datadir", datadir, "--json"]);
  return JSON.parse(r.stdout) as { height: number; tip: string; chainWork: string };
}

/** `quarry mine --offline` on a regtest datadir: `blocks` blocks paying `to`, one thread. */
export function mineOffline(datadir: string, blocks: number, to: string): Promise<CliResult> {
  return quarryOk(
    [
      "mine",
      "--offline",
      "--network",
      "regtest",
      "--datadir",
      datadir,
      "--blocks",
      `${blocks}`,
      "--address",
      to,
      "--threads",
      "1",
    ],
    { timeoutMs: 30_000 },
  );
}

/** GET `<url>/api/<method>?params` (the unauthenticated REST side of the API), parsed. */
export async function restGet<T = Record<string, unknown>>(
  url: string,
  method: string,
  params: Record<string, string> = {},
): Promise<T> {
  const query = new URLSearchParams(params).toString();
  const res = await fetch(`${url}/api/${method}${query ? `?${query}` : ""}`);
  if (!res.ok) throw new Error(`${method}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** What `getStatus` answers (the fields the tests use). */
export interface NodeStatus {
  height: number;
  tip: string;
  chainWork: string;
  peers: number;
  syncing: boolean;
  mempool: { size: number; bytes: number };
  listen: string[];
}

/** A reorg report as `getReorgs` answers it. */
export interface ReorgView {
  depth: number;
  forkPoint: { height: number; hash: string };
  oldTip: { height: number; hash: string };
  newTip: { height: number; hash: string };
  disconnected: unknown[];
  connected: unknown[];
  returnedTransactions: string[];
}

/** One JSON log line of the node. */
export type LogLine = Record<string, unknown> & { msg?: string };

export interface ProcessNodeInit {
  datadir: string;
  bootstrap?: readonly string[];
  /** `--mine --miner-address A --threads 1` */
  minerAddress?: string;
  /** `--mine --miner-key NAME --threads 1` (a key in the datadir's keystore) */
  minerKey?: string;
  /** more `quarry start` arguments, after the ones above */
  args?: readonly string[];
  /** flags for `node` itself, before the script (e.g. `--max-semi-space-size=8`) */
  nodeFlags?: readonly string[];
  env?: Record<string, string>;
  /** ms to wait for the "node started" line */
  startTimeoutMs?: number;
}

/** One `quarry start --network regtest` process on 127.0.0.1 (ports picked by the OS), with its API. */
export class ProcessNode {
  readonly datadir: string;
  /** every stdout/stderr line, for diagnostics */
  readonly logs: string[] = [];
  /** the API URL, from `<datadir>/api.json` as the CLI reads it */
  apiUrl = "";
  /** the API token, from `<datadir>/api.cookie` */
  token = "";
  p2p: string[] = [];
  peerId = "";
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    datadir: string,
  ) {
    this.datadir = datadir;
    // "close", not "exit": by then stdout and stderr are drained, so `logs` is complete
    this.exited = new Promise((resolve) => {
      child.once("close", (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        resolve();
      });
    });
  }

  /** Spawns `quarry start` and resolves once it logged "node started" (API and P2P up). */
  static async start(init: ProcessNodeInit): Promise<ProcessNode> {
    if (init.minerAddress && init.minerKey) throw new TypeError("minerAddress or minerKey, not both");
    const args = [
      ...(init.nodeFlags ?? []),
      QUARRY_BIN,
      "start",
      "--network",
      "regtest",
      "--datadir",
      init.datadir,
      "--p2p-host",
      "127.0.0.1",
      "--p2p-port",
      "0",
      "--api-port",
      "0",
      "--log-level",
      "info",
    ];
    for (const b of init.bootstrap ?? []) args.push("--bootstrap", b);
    if (init.minerAddress) args.push("--mine", "--miner-address", init.minerAddress, "--threads", "1");
    if (init.minerKey) args.push("--mine", "--miner-key", init.minerKey, "--threads", "1");
    args.push(...(init.args ?? []));
    const child = spawn(process.execPath, args, {
      env: childEnv(init.env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const node = new ProcessNode(child, init.datadir);
    let started: ((line: LogLine) => void) | undefined;
    const startedLine = new Promise<LogLine>((resolve) => {
      started = resolve;
    });
    const onLines = (stream: NodeJS.ReadableStream) => {
      let buffer = "";
      stream.on("data", (d: Buffer) => {
        buffer += d.toString();
        let nl = buffer.indexOf("\n");
        while (nl >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          node.logs.push(line);
          if (line.includes('"node started"')) {
            try {
              started?.(JSON.parse(line) as LogLine);
            } catch {
              // not JSON: ignore, the deadline reports it
            }
          }
          nl = buffer.indexOf("\n");
        }
      });
    };
    onLines(child.stdout!);
    onLines(child.stderr!);
    const timeoutMs = init.startTimeoutMs ?? 20_000;
    let timer: NodeJS.Timeout | undefined;
    const line = await Promise.race([
      startedLine,
      node.exited.then(() => {
        throw new Error(`quarry start exited (${node.exitCode}) before starting:\n${node.tail()}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`quarry start did not start within ${timeoutMs} ms:\n${node.tail()}`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    node.apiUrl = (JSON.parse(readFileSync(join(init.datadir, "api.json"), "utf8")) as { url: string }).url;
    node.token = readFileSync(join(init.datadir, "api.cookie"), "utf8").trim();
    node.p2p = (line.p2p as string[]) ?? [];
    node.peerId = String(line.peerId);
    return node;
  }

  /** The last log lines, for error messages. */
  tail(n = 30): string {
    return this.logs.slice(-n).join("\n");
  }

  /** The log lines that are JSON (the node's structured logs), parsed. */
  logLines(): LogLine[] {
    const parsed: LogLine[] = [];
    for (const line of this.logs) {
      try {
        parsed.push(JSON.parse(line) as LogLine);
      } catch {
        // not a JSON log line (e.g. a stderr message): only in `logs`
      }
    }
    return parsed;
  }

  /** The p2p multiaddr (with /p2p/) other nodes bootstrap to. */
  get multiaddr(): string {
    const addr = this.p2p.find((a) => a.includes("/ip4/127.0.0.1/"));
    if (!addr) throw new Error(`no 127.0.0.1 listen address in ${JSON.stringify(this.p2p)}`);
    return addr;
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error("the node process has no pid");
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** One JSON-RPC call; a node error throws with its code. */
  async rpc<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const res = await fetch(`${this.apiUrl}/rpc`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json()) as { result?: T; error?: { message: string; data?: { code?: string } } };
    if (body.error)
      throw new Error(
        `${method}: ${body.error.message}${body.error.data?.code ? ` [${body.error.data.code}]` : ""}`,
      );
    return body.result as T;
  }

  status(): Promise<NodeStatus> {
    return this.rpc<NodeStatus>("getStatus");
  }

  async balance(address: string): Promise<bigint> {
    const account = await this.rpc<{ balance: string | number }>("getAccount", { address });
    return BigInt(account.balance);
  }

  /**
   * SIGTERM (clean stop) and wait for the exit; SIGKILL past `timeoutMs`. Returns the exit code
   * (-1 when a signal ended it). Idempotent: a stopped node answers its exit code again.
   */
  async stop(timeoutMs = 15_000): Promise<number | null | undefined> {
    if (this.exitCode !== undefined) return this.exitCode;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    await this.exited;
    clearTimeout(timer);
    return this.exitCode;
  }
}

/** Parses the hex chain work of `getStatus` / `chain info`. */
export function work(hex: string): bigint {
  return BigInt(hex);
}

/**
 * The nodes and temp dirs of one test: `start` and `tempDir` record them, `cleanup` (for
 * afterEach) stops every node, keeps their logs with QUARRY_TEST_LOGS=DIR (DIR/node-<i>.log) and
 * removes the dirs.
 */
export class ProcessNodeScope {
  private readonly nodes: ProcessNode[] = [];
  private readonly dirs: { cleanup: () => void }[] = [];

  async start(init: ProcessNodeInit): Promise<ProcessNode> {
    const node = await ProcessNode.start(init);
    this.nodes.push(node);
    return node;
  }

  tempDir(prefix: string): { path: string; cleanup: () => void } {
    const dir = tempDir(prefix);
    this.dirs.push(dir);
    return dir;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    const logDir = process.env.QUARRY_TEST_LOGS;
    if (logDir)
      for (const [i, n] of this.nodes.entries())
        writeFileSync(join(logDir, `node-${i}.log`), n.logs.join("\n"));
    this.nodes.length = 0;
    for (const d of this.dirs) d.cleanup();
    this.dirs.length = 0;
  }
}
