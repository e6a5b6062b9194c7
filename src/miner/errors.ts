import { QuarryError } from "../util/index.js";

/** Stable codes of the miner's own failures (not consensus failures: those are BlockErrorCode). */
export enum MinerErrorCode {
  /** `mine()` called while the pool is not started (or is stopping) */
  NOT_RUNNING = "MINER_NOT_RUNNING",
  /** the header's compact bits do not decode to a usable target (negative, overflow or zero) */
  BAD_TARGET = "MINER_BAD_TARGET",
  /** a worker thread failed to start, threw, or exited on its own */
  WORKER_FAILED = "MINER_WORKER_FAILED",
  /** running from TypeScript sources and the compiled worker (dist/) is missing: run `npm run build` */
  WORKER_NOT_BUILT = "MINER_WORKER_NOT_BUILT",
  /** the WebAssembly kernel was asked for and this runtime does not support WebAssembly SIMD */
  KERNEL_UNAVAILABLE = "MINER_KERNEL_UNAVAILABLE",
}

export class MinerError extends QuarryError<{ code: MinerErrorCode }> {
  constructor(code: MinerErrorCode, message: string) {
    super({ code }, message);
  }
}
