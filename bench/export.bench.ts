import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { blockEnvelope } from "../src/primitives/index.js";
import { openChain } from "../test/helpers/open-chain.js";
import { QUARRY_BIN } from "../test/helpers/process-node.js";
import { tempDir } from "../test/helpers/temp-dir.js";
import { loadedChain } from "./chains.js";
import type { BenchResult, BenchSuite } from "./harness.js";

/** The store: 200 funding blocks, then this many blocks of 100 transfers (env for a quick look). */
const LOADED_BLOCKS = Number(process.env.QUARRY_BENCH_EXPORT_BLOCKS ?? 800);
const SENDERS = 200;
/** The V8 old-space ceiling (MiB) both ranges are exported under once more. */
const HEAP_CAP_MIB = 40;

/** The process's peak resident set (VmHWM), read from /proc while it runs; 0 once it has gone. */
function peakRss(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Runs `quarry export ... --json --out FILE` as a process: its report and its peak RSS. */
function runExport(
  args: string[],
  nodeFlags: string[] = [],
): Promise<{ rows: number; seconds: number; bytes: number; peakRss: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, QUARRY_BIN, "export", ...args, "--json"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    let peak = 0;
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    // VmHWM only grows: the last sample before exit is the peak up to then (sampled every 20 ms)
    const timer = setInterval(() => {
      peak = Math.max(peak, peakRss(child.pid!));
    }, 20);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearInterval(timer);
      if (code !== 0) return reject(new Error(`export exited ${code}: ${stderr}`));
      const report = JSON.parse(stderr.trim().split("\n").at(-1)!) as {
        rows: number;
        seconds: number;
        bytes: number;
      };
      resolve({ ...report, peakRss: peak });
    });
  });
}

export const exportSuite: BenchSuite = {
  name: "export",
  async run() {
    const tmp = tempDir("quarry-bench-export-");
    try {
      const datadir = join(tmp.path, "node");
      const { funding, loaded } = await loadedChain(SENDERS, LOADED_BLOCKS, 100);
      const opened = await openChain(datadir, { signatureWorkers: true });
      try {
        const envelopes = [...funding, ...loaded].map(blockEnvelope);
        opened.chain.prefetchSignatures(envelopes);
        for (const block of envelopes) await opened.chain.processBlock(block);
      } finally {
        await opened.close();
      }
      const tip = SENDERS + LOADED_BLOCKS;
      const small = Math.min(tip, SENDERS + 50);
      const results: BenchResult[] = [];
      let n = 0;
      for (const what of ["txs", "blocks"] as const) {
        for (const format of ["jsonl", "csv"] as const) {
          for (const to of [small, tip]) {
            const out = join(tmp.path, `out-${n++}`);
            const at = ["--network", "regtest", "--datadir", datadir, "--what", what, "--format", format];
            const r = await runExport([...at, "--from", "0", "--to", String(to), "--out", out]);
            results.push({
              name: `'quarry export --what ${what} --format ${format}' heights 0-${to} (stopped store, process)`,
              value: r.rows / r.seconds,
              unit: "rows/s",
              note: `${r.rows} rows, ${(r.bytes / 2 ** 20).toFixed(1)} MiB in ${r.seconds.toFixed(2)} s; peak RSS ${(r.peakRss / 2 ** 20).toFixed(0)} MiB`,
            });
          }
        }
      }
      // Constant memory, shown the hard way: the short and the whole range under the same V8 heap
      // ceiling, below the size of the long export's output (a heap that grew with the rows would
      // fail with "heap out of memory"; the baseline after opening the store is ~22 MiB)
      for (const to of [small, tip]) {
        const capped = await runExport(
          [
            ...["--network", "regtest", "--datadir", datadir, "--what", "txs", "--from", "0"],
            ...["--to", String(to), "--out", join(tmp.path, `capped-${to}`)],
          ],
          [`--max-old-space-size=${HEAP_CAP_MIB}`, "--max-semi-space-size=1"],
        );
        results.push({
          name: `'quarry export --what txs --format jsonl' heights 0-${to}, node --max-old-space-size=${HEAP_CAP_MIB} --max-semi-space-size=1`,
          value: capped.rows / capped.seconds,
          unit: "rows/s",
          note: `${capped.rows} rows, ${(capped.bytes / 2 ** 20).toFixed(1)} MiB in ${capped.seconds.toFixed(2)} s; peak RSS ${(capped.peakRss / 2 ** 20).toFixed(0)} MiB`,
        });
      }
      const accounts = await runExport([
        "--network",
        "regtest",
        "--datadir",
        datadir,
        "--what",
        "accounts",
        "--out",
        join(tmp.path, "accounts"),
      ]);
      results.push({
        name: "'quarry export --what accounts' (state at the tip, stopped store, process)",
        value: accounts.rows / accounts.seconds,
        unit: "rows/s",
        note: `${accounts.rows} rows in ${accounts.seconds.toFixed(2)} s; peak RSS ${(accounts.peakRss / 2 ** 20).toFixed(0)} MiB`,
      });
      return results;
    } finally {
      tmp.cleanup();
    }
  },
};
