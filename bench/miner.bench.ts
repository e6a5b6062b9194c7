import { availableParallelism, loadavg } from "node:os";
import { compactToTarget } from "../src/consensus/pow.js";
import { createScanJob, MinerPool, searchNonce } from "../src/miner/index.js";
import { type BlockHeader, encodeHeader } from "../src/primitives/index.js";
import type { BenchResult, BenchSuite } from "./harness.js";
import { opensslHeaderHashesPerSecond } from "./openssl.js";

const MEASURE_MS = 3000;
const WARMUP_MS = 500;
/** The JS kernel's target, and the WebAssembly SIMD kernel's (≥ 35 % of the SHA-NI limit here). */
const JS_TARGET_PER_CORE = 1.5e6;
const WASM_TARGET_PER_CORE = 4.5e6;
// A target no run will meet (~2^-48 per hash), so the workers hash for the whole interval.
const NEVER_BITS = 0x1b00ffff;

const header: BlockHeader = {
  version: 1,
  prevHash: new Uint8Array(32).fill(0x5a),
  merkleRoot: new Uint8Array(32).fill(0xa5),
  stateRoot: new Uint8Array(32).fill(0x3c),
  time: 1_700_000_000,
  bits: NEVER_BITS,
  nonce: 0n,
};

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A rate over wall time, and the same hashes per second of process CPU time (robust to a busy machine). */
interface Rate {
  perSecond: number;
  perCpuSecond: number;
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

/** Hashes/s of the scanner on the main thread: the kernel alone, no worker or messaging. */
function inThreadHashrate(kernel: "js" | "wasm"): Rate {
  const job = createScanJob(encodeHeader(header), compactToTarget(NEVER_BITS).target, 0, kernel);
  const chunk = 1 << 16;
  let next = 0;
  let hashes = 0;
  const warmEnd = performance.now() + WARMUP_MS;
  while (performance.now() < warmEnd) next += searchNonce(job, next, next + chunk).hashes;
  const cpu = process.cpuUsage();
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < MEASURE_MS) {
    hashes += searchNonce(job, next, next + chunk).hashes;
    next += chunk;
    elapsed = performance.now() - start;
  }
  return { perSecond: (hashes * 1000) / elapsed, perCpuSecond: hashes / cpuSeconds(cpu) };
}

/** Hashes/s of a MinerPool with `threads` workers, from its hash counter over MEASURE_MS. */
async function poolHashrate(threads: number): Promise<Rate> {
  // The pool's default kernel (QUARRY_MINER_KERNEL, else WebAssembly SIMD where supported).
  const pool = new MinerPool({ threads, progressIntervalMs: 20 });
  await pool.start();
  try {
    const controller = new AbortController();
    const mining = pool.mine(header, controller.signal);
    await delay(WARMUP_MS);
    const h0 = pool.totalHashes;
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    await delay(MEASURE_MS);
    const hashes = pool.totalHashes - h0;
    const elapsed = performance.now() - t0;
    const cpuUsed = cpuSeconds(cpu);
    controller.abort();
    await mining;
    // Process CPU time includes the (mostly idle) main thread, so this slightly understates the kernel.
    return { perSecond: (hashes * 1000) / elapsed, perCpuSecond: hashes / cpuUsed };
  } finally {
    await pool.stop();
  }
}

/**
 * Miner hashrate next to the machine's SHA-NI ceiling, measured in the same run. The ceiling is
 * for one core (OpenSSL); the all-workers row compares with that × the thread count. Each row also
 * gives hashes per CPU-second and its share of the ceiling, which hold up on a busy machine.
 */
export const minerSuite: BenchSuite = {
  name: "miner",
  async run(): Promise<BenchResult[]> {
    const cores = availableParallelism();
    const ceiling = await opensslHeaderHashesPerSecond();
    const js = inThreadHashrate("js");
    const wasm = inThreadHashrate("wasm");
    const kernel = new MinerPool().kernel;
    const one = await poolHashrate(1);
    const all = await poolHashrate(cores);
    const load = `load avg ${loadavg()[0]!.toFixed(2)} at the end`;
    const limitNote =
      ceiling === undefined ? "openssl missing: no limit" : "limit: openssl speed sha256 16 KiB ÷64÷2";
    const share = (rate: Rate, threads: number): string =>
      ceiling === undefined
        ? ""
        : `; ${((100 * rate.perSecond) / (ceiling * threads)).toFixed(0)} % of the limit (${((100 * rate.perCpuSecond) / ceiling).toFixed(0)} % per CPU-second)`;
    const result = (
      name: string,
      rate: Rate,
      threads: number,
      perCore: number,
      note: string,
    ): BenchResult => ({
      name,
      value: rate.perSecond,
      unit: "H/s",
      target: perCore * threads,
      ...(ceiling === undefined ? {} : { limit: ceiling * threads }),
      note: `${note}; ${(rate.perCpuSecond / 1e6).toFixed(2)} MH per CPU-second${share(rate, threads)}`,
    });
    const poolTarget = kernel === "wasm" ? WASM_TARGET_PER_CORE : JS_TARGET_PER_CORE;
    return [
      result("scanner in-thread, JS kernel (1 core, no worker)", js, 1, JS_TARGET_PER_CORE, limitNote),
      result(
        "scanner in-thread, WebAssembly SIMD kernel (1 core, no worker)",
        wasm,
        1,
        WASM_TARGET_PER_CORE,
        `${limitNote}; ${(wasm.perCpuSecond / js.perCpuSecond).toFixed(2)}× the JS kernel per CPU-second`,
      ),
      result(`MinerPool 1 worker (${kernel} kernel)`, one, 1, poolTarget, `${limitNote}; ${load}`),
      result(
        `MinerPool ${cores} workers (all cores, ${kernel} kernel)`,
        all,
        cores,
        poolTarget,
        `${limitNote} × ${cores} cores; ${(all.perSecond / cores / 1e6).toFixed(2)} MH/s per worker; ${load}`,
      ),
    ];
  },
};
