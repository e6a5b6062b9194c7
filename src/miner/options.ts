import { availableParallelism } from "node:os";
import type { MinerKernel } from "./wasm-kernel.js";

/** Options of {@link MinerPool}; every field has a default in {@link defaultMinerPoolOptions}. */
export interface MinerPoolOptions {
  /** worker threads; default: cores − 1 (the event loop keeps one), at least 1 */
  threads: number;
  /** low nonce words a worker hashes between looks at its message queue (2^14 ≈ 10 ms here) */
  chunkSize: number;
  /** how often a busy worker reports its hash count */
  progressIntervalMs: number;
  /** the moving window over which `hashrate` is averaged */
  hashrateWindowMs: number;
  /** how often the pool logs its hashrate while mining */
  logIntervalMs: number;
  /**
   * the scan kernel: `auto` (WebAssembly SIMD where supported, else JS), or `js`/`wasm` to force
   * one; default: the environment's `QUARRY_MINER_KERNEL`, else `auto`
   */
  kernel: MinerKernel;
}

/** Defaults for this machine (the thread count depends on its cores). */
export function defaultMinerPoolOptions(): MinerPoolOptions {
  return {
    threads: Math.max(1, availableParallelism() - 1),
    chunkSize: 1 << 14,
    progressIntervalMs: 100,
    hashrateWindowMs: 5_000,
    logIntervalMs: 10_000,
    // Validated by the pool: a misspelt value fails its construction rather than being ignored.
    kernel: (process.env.QUARRY_MINER_KERNEL ?? "auto") as MinerKernel,
  };
}
