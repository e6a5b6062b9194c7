import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { resolve } from "node:path";

/**
 * Helpers for the docker-compose testnet e2e: run scripts/testnet and docker, read node APIs over
 * their published 127.0.0.1 ports, and poll with a bound (no fixed sleeps).
 */

export const REPO_ROOT = resolve(import.meta.dirname, "..", "..");
// The e2e may be compiled to dist/test/e2e: climb to the directory holding package.json.
export const ROOT = REPO_ROOT.endsWith("/dist") ? resolve(REPO_ROOT, "..") : REPO_ROOT;

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; rejects with its output when it exits non-zero. */
export function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      cmd,
      args,
      {
        cwd: ROOT,
        env: { ...process.env, ...opts.env },
        timeout: opts.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err) {
          const tail = (s: string) => s.split("\n").slice(-40).join("\n");
          reject(
            new Error(`${cmd} ${args.join(" ")} failed: ${err.message}\n${tail(stdout)}\n${tail(stderr)}`),
          );
        } else {
          resolvePromise({ stdout, stderr });
        }
      },
    );
  });
}

export interface NodeStatus {
  network: string;
  peerId: string;
  height: number;
  tip: string;
  chainWork: string;
  peers: number;
  syncing: boolean;
  mining: boolean;
}

export interface ReorgReport {
  depth: number;
  forkPoint: { hash: string; height: number };
  oldTip: { hash: string; height: number };
  newTip: { hash: string; height: number };
}

export interface BlockView {
  hash: string;
  height: number;
  mainChain: boolean;
}

/** GET /api/<method> on 127.0.0.1:<port>; undefined when the node does not answer (yet). */
export async function api<T>(port: number, method: string, params: Record<string, string> = {}) {
  const query = new URLSearchParams(params).toString();
  try {
    const res = await fetch(`http://127.0.0.1:${port}/api/${method}${query ? `?${query}` : ""}`, {
      signal: AbortSignal.timeout(3000),
    });
    if (!res.ok) return undefined;
    return (await res.json()) as T;
  } catch {
    return undefined;
  }
}

export const status = (port: number) => api<NodeStatus>(port, "getStatus");

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePromise(port));
    });
  });
}

export const work = (s: NodeStatus): bigint => BigInt(s.chainWork);

/** Seconds since `start`, one decimal, for the timing lines. */
export const since = (start: number): string => ((Date.now() - start) / 1000).toFixed(1);
