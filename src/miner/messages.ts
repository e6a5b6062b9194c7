/**
 * The typed messages between `MinerPool` and its worker threads (structured clone: the header is
 * copied, the nonce travels as a bigint).
 */

import type { MinerKernel } from "./wasm-kernel.js";

/** Scan low nonce words [start, end) of `header` with high word `nonceHigh` for a hash ≤ target. */
export interface JobMessage {
  type: "job";
  /** which scan kernel to use */
  kernel: MinerKernel;
  jobId: number;
  /** the 116 header bytes (its nonce field is ignored) */
  header: Uint8Array;
  /** the 256-bit target, hex without 0x */
  target: string;
  nonceHigh: number;
  start: number;
  end: number;
  /** low nonce words per chunk between looks at the message queue */
  chunkSize: number;
  /** how often to report progress while scanning */
  progressIntervalMs: number;
}

/** Drop the current job and idle (the thread keeps running until terminated). */
export interface StopMessage {
  type: "stop";
}

export type ToWorkerMessage = JobMessage | StopMessage;

/** The full 64-bit nonce whose header hash is ≤ target; the worker idles afterwards. */
export interface FoundMessage {
  type: "found";
  jobId: number;
  nonce: bigint;
}

/** Hashes computed for `jobId` since the previous report. */
export interface ProgressMessage {
  type: "progress";
  jobId: number;
  hashes: number;
}

/** The job's whole range was hashed without a winner; the worker idles. */
export interface ExhaustedMessage {
  type: "exhausted";
  jobId: number;
}

export type FromWorkerMessage = FoundMessage | ProgressMessage | ExhaustedMessage;
