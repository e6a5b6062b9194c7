/**
 * The worker thread: a thin shell around {@link searchNonce} (with the kernel the job names: the
 * WebAssembly SIMD module is compiled once per thread, on the first job). It scans its job in chunks and
 * yields to the event loop between chunks (`setImmediate`), so a new job or a stop message takes
 * effect within one chunk (~10 ms) and progress is reported as it goes. The thread runs at the
 * lowest CPU priority (nice 19) where the OS allows it.
 */
import { type MessagePort, parentPort } from "node:worker_threads";
import type { FromWorkerMessage, JobMessage, ToWorkerMessage } from "./messages.js";
import { createScanJob, type ScanJob, searchNonce } from "./scanner.js";
import { lowerThreadPriority } from "./thread-priority.js";

interface Active {
  jobId: number;
  scan: ScanJob;
  next: number;
  end: number;
  chunkSize: number;
  progressIntervalMs: number;
}

function requireParentPort(): MessagePort {
  if (!parentPort) throw new Error("worker.ts must run in a worker thread");
  return parentPort;
}

const port = requireParentPort();
// Hashing takes only the CPU the rest of the node does not want (thread-priority.ts).
lowerThreadPriority();

let active: Active | undefined;
let scheduled = false;
// Hashes of `pendingJobId` not yet reported.
let pendingHashes = 0;
let pendingJobId = -1;
let lastReport = performance.now();

function post(message: FromWorkerMessage): void {
  port.postMessage(message);
}

function flushProgress(): void {
  if (pendingHashes > 0) post({ type: "progress", jobId: pendingJobId, hashes: pendingHashes });
  pendingHashes = 0;
  lastReport = performance.now();
}

function startJob(msg: JobMessage): void {
  flushProgress();
  active = {
    jobId: msg.jobId,
    scan: createScanJob(msg.header, BigInt(`0x${msg.target}`), msg.nonceHigh, msg.kernel),
    next: msg.start,
    end: msg.end,
    chunkSize: msg.chunkSize,
    progressIntervalMs: msg.progressIntervalMs,
  };
  pendingJobId = msg.jobId;
  schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(step);
}

function step(): void {
  scheduled = false;
  const job = active;
  if (!job) return;
  const chunkEnd = Math.min(job.next + job.chunkSize, job.end);
  const result = searchNonce(job.scan, job.next, chunkEnd);
  pendingHashes += result.hashes;
  if (result.nonce !== undefined) {
    flushProgress();
    active = undefined;
    post({ type: "found", jobId: job.jobId, nonce: result.nonce });
    return;
  }
  job.next = chunkEnd;
  if (job.next >= job.end) {
    flushProgress();
    active = undefined;
    post({ type: "exhausted", jobId: job.jobId });
    return;
  }
  if (performance.now() - lastReport >= job.progressIntervalMs) flushProgress();
  schedule();
}

port.on("message", (msg: ToWorkerMessage) => {
  if (msg.type === "job") startJob(msg);
  else {
    flushProgress();
    active = undefined;
  }
});
