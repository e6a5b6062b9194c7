import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The built CLI (`npm run build` / `npm test` build it first). */
export const BIN = join(process.cwd(), "dist", "src", "cli", "bin.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without the caller's QUARRY_* variables, plus `env`. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("QUARRY_")) base[k] = v;
  return { ...base, ...env };
}

/** Runs `quarry ARGS` to completion. */
export function quarry(args: string[], env: Record<string, string> = {}, input = ""): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(env), stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/**
 * Polls `check` until it returns something other than undefined/false, or throws after
 * `timeoutMs` naming `what`. A condition with a deadline, not a sleep.
 */
export async function waitUntil<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** One JSON log line of the node. */
export type LogLine = Record<string, unknown> & { msg?: string };

/** A `quarry start` process and what it wrote. */
export interface NodeProcess {
  child: ChildProcessWithoutNullStreams;
  /** JSON log lines so far */
  lines: LogLine[];
  /** stderr so far */
  stderr(): string;
  /** resolves with the exit code (or the signal name) */
  exited: Promise<number | string>;
  /** the API URL from <datadir>/api.json, once the "node started" line is out */
  url: string;
  /** the cookie token */
  token: string;
  waitForLine(what: string, match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
}

/**
 * Spawns `node NODE_FLAGS quarry start ARGS` (stdout is a pipe, so logs are JSON lines) and waits for its
 * "node started" line; rejects with the process output if it exits first.
 */
export async function startNodeProcess(
  datadir: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 15_000,
  nodeFlags: string[] = [],
): Promise<NodeProcess> {
  const child = spawn(process.execPath, [...nodeFlags, BIN, "start", "--datadir", datadir, ...args], {
    env: cleanEnv(env),
    stdio: "pipe",
  });
  child.stdin.end();
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  let partial = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split("\n");
    partial = parts.pop() ?? "";
    for (const text of parts) {
      if (text.trim() === "") continue;
      try {
        lines.push(JSON.parse(text) as LogLine);
      } catch {
        lines.push({ msg: text, unparsed: true });
      }
    }
    for (const wake of waiters) wake();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  let exitedCode: number | string | undefined;
  const exited = new Promise<number | string>((resolve) => {
    child.on("exit", (code, signal) => {
      exitedCode = code ?? signal ?? "unknown";
      for (const wake of waiters) wake();
      resolve(exitedCode);
    });
  });

  const waitForLine = (what: string, match: (line: LogLine) => boolean, ms = timeoutMs) =>
    new Promise<LogLine>((resolve, reject) => {
      const check = () => {
        const found = lines.find(match);
        if (found) return finish(() => resolve(found));
        if (exitedCode !== undefined) {
          finish(() =>
            reject(new Error(`node exited (${exitedCode}) before ${what}; stderr: ${stderr.trim()}`)),
          );
        }
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`))),
        ms,
      );
      const finish = (done: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        done();
      };
      waiters.add(check);
      check();
    });

  await waitForLine("the 'node started' line", (l) => l.msg === "node started");
  const { url } = JSON.parse(readFileSync(join(datadir, "api.json"), "utf8")) as { url: string };
  const token = readFileSync(join(datadir, "api.cookie"), "utf8").trim();
  return { child, lines, stderr: () => stderr, exited, url, token, waitForLine };
}

/** GET /api/<method>?params, parsed. */
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

/** Whether Debian's chromium is installed where the dashboard test expects it. */
export const CHROMIUM = "/usr/bin/chromium";
export const haveChromium = (): boolean => existsSync(CHROMIUM);
