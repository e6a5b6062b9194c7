import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Real `quarry` processes (dist/, built by `npm run build`) on 127.0.0.1, regtest. Every wait is
 * an API poll with a deadline; no fixed sleeps. Logs (pino JSON on stdout) are kept per process
 * so a failing test can print them.
 */

export const QUARRY_BIN = join(process.cwd(), "dist", "src", "cli", "bin.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment a child sees: the parent's, without any QUARRY_* setting. */
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

/** Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitUntil<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
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

export interface ProcessNodeInit {
  datadir: string;
  bootstrap?: readonly string[];
  /** `--mine --miner-address A --threads 1` */
  minerAddress?: string;
  env?: Record<string, string>;
  /** ms to wait for the "node started" line */
  startTimeoutMs?: number;
}

/** One `quarry start` process, with its HTTP API. */
export class ProcessNode {
  readonly datadir: string;
  /** every stdout/stderr line, for diagnostics */
  readonly logs: string[] = [];
  apiUrl = "";
  p2p: string[] = [];
  peerId = "";
  private token = "";
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    datadir: string,
  ) {
    this.datadir = datadir;
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        resolve();
      });
    });
  }

  /** Spawns `quarry start` and resolves once it logged "node started" (API and P2P up). */
  static async start(init: ProcessNodeInit): Promise<ProcessNode> {
    const args = [
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
    const child = spawn(process.execPath, args, {
      env: childEnv(init.env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const node = new ProcessNode(child, init.datadir);
    let started: ((line: Record<string, unknown>) => void) | undefined;
    const startedLine = new Promise<Record<string, unknown>>((resolve) => {
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
              started?.(JSON.parse(line) as Record<string, unknown>);
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
    node.apiUrl = String(line.api);
    node.p2p = (line.p2p as string[]) ?? [];
    node.peerId = String(line.peerId);
    node.token = readFileSync(join(init.datadir, "api.cookie"), "utf8").trim();
    return node;
  }

  /** The last log lines, for error messages. */
  tail(n = 30): string {
    return this.logs.slice(-n).join("\n");
  }

  /** The p2p multiaddr (with /p2p/) other nodes bootstrap to. */
  get multiaddr(): string {
    const addr = this.p2p.find((a) => a.includes("/ip4/127.0.0.1/"));
    if (!addr) throw new Error(`no 127.0.0.1 listen address in ${JSON.stringify(this.p2p)}`);
    return addr;
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

  /** SIGTERM (clean stop) and wait for the exit; SIGKILL past `timeoutMs`. Returns the exit code. */
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

/** With QUARRY_TEST_LOGS=DIR, writes each node's log lines to DIR/node-<i>.log (for debugging). */
export function saveLogs(nodes: readonly ProcessNode[]): void {
  const dir = process.env.QUARRY_TEST_LOGS;
  if (!dir) return;
  for (const [i, n] of nodes.entries()) writeFileSync(join(dir, `node-${i}.log`), n.logs.join("\n"));
}
