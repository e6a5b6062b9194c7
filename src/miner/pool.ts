import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { compactToTarget, hashToBigInt } from "../consensus/index.js";
import { type BlockHeader, encodeHeader, headerHash, toHex, U32_MAX } from "../primitives/index.js";
import {
  type Logger,
  silentLogger,
  TypedEmitter,
  WorkerPool,
  type WorkerSlot,
  workerScriptUrl,
} from "../util/index.js";
import { MinerError, MinerErrorCode } from "./errors.js";
import type { FromWorkerMessage, ToWorkerMessage } from "./messages.js";
import { defaultMinerPoolOptions, type MinerPoolOptions } from "./options.js";
import { NONCE_LOW_SPACE } from "./scanner.js";
import { MINER_KERNELS, simdKernelSupported } from "./wasm-kernel.js";

/** What {@link MinerPool} needs from the node. */
export interface MinerPoolDeps {
  log?: Logger;
}

/** Events of {@link MinerPool}. */
export interface MinerPoolEvents {
  /** the moving-window hashrate, at most once a second while workers report */
  hashrate: { hashesPerSecond: number; threads: number };
  /** a header meeting its target was found (and checked with `headerHash`); `mine()` resolves with it */
  found: { header: BlockHeader; hash: Uint8Array };
  /** a worker thread is running */
  "worker-online": { threadId: number };
  /** a worker thread has exited (after `stop()`, or on its own on a failure) */
  "worker-exit": { threadId: number; exitCode: number };
  /** a worker was handed nonces [nonceHigh·2^32 + start, nonceHigh·2^32 + end) of job `jobId` */
  range: { jobId: number; nonceHigh: number; start: number; end: number };
}

/** The pool's bookkeeping per worker. */
interface SlotState {
  /** scanning a range of the current job */
  busy: boolean;
}

type Slot = WorkerSlot<SlotState>;

interface ActiveJob {
  jobId: number;
  header: BlockHeader;
  headerBytes: Uint8Array;
  target: bigint;
  targetHex: string;
  /** the header without its nonce, hex: two jobs with equal keys search the same hash space */
  key: string;
  /** the next high nonce word to hand to a worker */
  nextHigh: number;
  resolve(header: BlockHeader | undefined): void;
  reject(error: Error): void;
  /** detach the abort listener */
  cleanup(): void;
}

/**
 * The scanner allocates almost nothing per hash, so the worker needs only a small young generation;
 * V8's default lets each isolate's new space grow to 64 MiB here and keep it. 6 MB of young
 * generation is a 4 MiB new space (what `--max-semi-space-size=2` gives). Hashrate unchanged within
 * noise (docs/BENCHMARKS.md, "Memory").
 */
const MINER_WORKER_RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 6 } as const;

/**
 * The compiled worker script: the sibling worker.js, or dist/src/miner/worker.js when this module
 * runs from TypeScript sources (util/worker-pool.ts, workerScriptUrl).
 *
 * @throws MinerError WORKER_NOT_BUILT when running from sources and dist/ has no worker: run
 *   `npm run build` (after editing the scanner, rebuild before running the tests with vitest)
 */
export function minerWorkerUrl(): URL {
  const url = workerScriptUrl(import.meta.url, "worker.js");
  if (import.meta.url.endsWith(".ts") && !existsSync(url)) {
    throw new MinerError(
      MinerErrorCode.WORKER_NOT_BUILT,
      `${fileURLToPath(url)} is missing: run \`npm run build\` first`,
    );
  }
  return url;
}

/**
 * Proof-of-work search on worker threads.
 *
 * `mine(header)` splits the 64-bit nonce space: every worker scans all 2^32 low words under its
 * own high word (0, 1, 2, … handed out in turn), so no two workers ever hash the same header.
 * Calling `mine` again replaces the job (a template refresh): the previous promise resolves
 * `undefined`. A new header starts at high word 0 whatever `header.nonce` says; the same header
 * again (equal in every field but the nonce: the template did not change) resumes after the last
 * high word handed out, so a refresh never searches a (header, nonce) range twice. Ranges a
 * replaced job had begun are abandoned, not resumed: the space is 2^64, a skipped remainder costs
 * nothing. If the whole space is exhausted without a winner (about 390,000 years at 1.5 MH/s),
 * `mine` resolves `undefined` and logs a warning: the caller must change the header (its `time`
 * field) and mine again.
 */
export class MinerPool extends TypedEmitter<MinerPoolEvents> {
  private readonly opts: MinerPoolOptions;
  private readonly log: Logger;
  private workers: WorkerPool<SlotState, ToWorkerMessage, FromWorkerMessage> | undefined;
  private running = false;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private job: ActiveJob | undefined;
  private jobCounter = 0;
  /** where the last job's search stopped, so the same header mined again resumes there */
  private resume: { key: string; nextHigh: number } | undefined;
  private readonly samples: { atMs: number; hashes: number }[] = [];
  private windowHashes = 0;
  private windowStartMs = 0;
  private lastEmitMs = 0;
  private lastLogMs = 0;
  private hashesTotal = 0;

  constructor(opts: Partial<MinerPoolOptions> = {}, deps: MinerPoolDeps = {}) {
    super();
    this.opts = { ...defaultMinerPoolOptions(), ...opts };
    const { threads, chunkSize, kernel } = this.opts;
    if (!Number.isInteger(threads) || threads < 1)
      throw new RangeError(`threads must be ≥ 1, got ${threads}`);
    if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > NONCE_LOW_SPACE) {
      throw new RangeError(`chunkSize must be in [1, 2^32], got ${chunkSize}`);
    }
    if (!MINER_KERNELS.includes(kernel)) {
      throw new RangeError(
        `kernel (QUARRY_MINER_KERNEL) must be one of ${MINER_KERNELS.join("|")}, got ${kernel}`,
      );
    }
    this.log = (deps.log ?? silentLogger).child({ module: "miner" });
  }

  /** Worker threads configured. */
  get threads(): number {
    return this.opts.threads;
  }

  /**
   * The scan kernel the workers use (`auto` resolved: validates the WebAssembly module once).
   *
   * @throws Error when the WebAssembly kernel's file is missing
   */
  get kernel(): "js" | "wasm" {
    if (this.opts.kernel === "auto") return simdKernelSupported() ? "wasm" : "js";
    return this.opts.kernel;
  }

  /** Worker threads alive right now (0 after `stop()` has resolved). */
  get workerCount(): number {
    return this.workers?.liveWorkers ?? 0;
  }

  /** Whether `start()` has completed and `stop()` has not begun. */
  get isRunning(): boolean {
    return this.running;
  }

  /** Hashes per second over the last `hashrateWindowMs` (all workers together). */
  get hashrate(): number {
    const now = performance.now();
    this.prune(now);
    const span = Math.min(this.opts.hashrateWindowMs, now - this.windowStartMs);
    return span > 0 ? (this.windowHashes * 1000) / span : 0;
  }

  /** Hashes computed since construction. */
  get totalHashes(): number {
    return this.hashesTotal;
  }

  /**
   * Spawn the worker threads and wait until each is online. Idempotent.
   *
   * @throws MinerError WORKER_FAILED when a worker cannot start (the others are terminated) or
   *   the WebAssembly kernel's file is missing; WORKER_NOT_BUILT when running from sources without
   *   a build; KERNEL_UNAVAILABLE when `kernel` is `wasm` and the runtime has no WebAssembly SIMD
   */
  async start(): Promise<void> {
    if (this.stopping) await this.stopping;
    if (this.running) return;
    if (!this.starting) {
      this.starting = this.spawnAll().finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  /**
   * Resolve the pending `mine()` with `undefined`, terminate every worker and wait for each to
   * exit. Idempotent; `start()` may be called again afterwards.
   */
  async stop(): Promise<void> {
    if (this.starting) await this.starting.catch(() => undefined);
    if (!this.stopping) {
      if (!this.running && this.slots.length === 0) return;
      this.stopping = this.stopAll().finally(() => {
        this.stopping = undefined;
      });
    }
    return this.stopping;
  }

  /**
   * Search for a nonce that puts `header`'s hash at or below the target of its `bits`.
   *
   * Resolves with the header carrying the winning nonce (its hash checked with `headerHash`), or
   * `undefined` when `signal` aborts, a newer `mine()` call replaces this one, `stop()` is called,
   * or the nonce space is exhausted (change `time` and call again).
   *
   * @throws MinerError NOT_RUNNING before `start()`; BAD_TARGET for unusable bits;
   *   WORKER_FAILED when a worker dies meanwhile. TypeError/RangeError for a malformed header.
   */
  mine(header: BlockHeader, signal?: AbortSignal): Promise<BlockHeader | undefined> {
    let headerBytes: Uint8Array;
    let target: bigint;
    try {
      if (!this.running || this.stopping) {
        throw new MinerError(MinerErrorCode.NOT_RUNNING, "start() the miner before mine()");
      }
      headerBytes = encodeHeader(header);
      const decoded = compactToTarget(header.bits);
      if (decoded.negative || decoded.overflow || decoded.target === 0n) {
        throw new MinerError(
          MinerErrorCode.BAD_TARGET,
          `bits 0x${header.bits.toString(16)} give no usable target`,
        );
      }
      target = decoded.target;
    } catch (err) {
      return Promise.reject(err);
    }
    if (signal?.aborted) return Promise.resolve(undefined);
    // Template refresh: the previous search (if any) ends with `undefined`; its workers get the
    // new job below, which replaces theirs.
    this.finishJob(undefined);
    const jobId = ++this.jobCounter;
    const key = toHex(encodeHeader({ ...header, nonce: 0n }));
    const nextHigh = this.resume?.key === key ? this.resume.nextHigh : 0;
    return new Promise<BlockHeader | undefined>((resolvePromise, rejectPromise) => {
      const onAbort = (): void => {
        if (this.job?.jobId !== jobId) return;
        this.finishJob(undefined);
        this.idleAll();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const job: ActiveJob = {
        jobId,
        header,
        headerBytes,
        target,
        targetHex: target.toString(16),
        key,
        nextHigh,
        resolve: resolvePromise,
        reject: rejectPromise,
        cleanup: () => signal?.removeEventListener("abort", onAbort),
      };
      this.job = job;
      this.log.debug({ jobId, bits: header.bits, time: header.time }, "mining job");
      for (const slot of this.slots) this.assign(slot, job);
    });
  }

  private get slots(): readonly Slot[] {
    return this.workers?.slots ?? [];
  }

  private async spawnAll(): Promise<void> {
    let kernel: "js" | "wasm";
    try {
      kernel = this.kernel;
      if (this.opts.kernel === "wasm" && !simdKernelSupported()) {
        throw new MinerError(
          MinerErrorCode.KERNEL_UNAVAILABLE,
          "this runtime does not support WebAssembly SIMD",
        );
      }
      this.workers ??= new WorkerPool<SlotState, ToWorkerMessage, FromWorkerMessage>(
        {
          url: minerWorkerUrl(),
          name: "quarry-miner",
          threads: this.opts.threads,
          resourceLimits: MINER_WORKER_RESOURCE_LIMITS,
          createState: () => ({ busy: false }),
        },
        {
          ready: (slot) => this.emit("worker-online", { threadId: slot.threadId }),
          message: (slot, msg) => this.onMessage(slot, msg),
          exit: (slot, { exitCode, error, owned }) => {
            this.emit("worker-exit", { threadId: slot.threadId, exitCode });
            // Workers leave the pool before they are terminated, so an expected exit is not owned.
            if (owned) this.onWorkerFailure(slot, error ?? new Error(`worker exited with code ${exitCode}`));
          },
        },
      );
      await this.workers.start();
    } catch (err) {
      if (err instanceof MinerError) throw err;
      throw new MinerError(MinerErrorCode.WORKER_FAILED, `miner worker failed to start: ${String(err)}`);
    }
    this.running = true;
    const now = performance.now();
    this.windowStartMs = now;
    this.lastLogMs = now;
    this.log.info({ threads: this.opts.threads, kernel }, "miner started");
  }

  /** A worker threw or exited while it still belonged to the pool: fail the job, stop the pool. */
  private onWorkerFailure(slot: Slot, err: Error): void {
    if (!this.running) return;
    this.log.error({ threadId: slot.threadId, err: String(err) }, "miner worker failed; stopping the miner");
    this.finishJob(new MinerError(MinerErrorCode.WORKER_FAILED, `miner worker failed: ${String(err)}`));
    void this.stop();
  }

  private async stopAll(): Promise<void> {
    this.running = false;
    this.finishJob(undefined);
    await this.terminateAll();
    this.log.info({ totalHashes: this.hashesTotal }, "miner stopped");
  }

  private async terminateAll(): Promise<void> {
    await this.workers?.terminateAll();
  }

  private onMessage(slot: Slot, msg: FromWorkerMessage): void {
    switch (msg.type) {
      case "progress":
        this.recordHashes(msg.hashes);
        return;
      case "found":
        this.onFound(slot, msg.jobId, msg.nonce);
        return;
      case "exhausted": {
        const job = this.job;
        if (!job || msg.jobId !== job.jobId) return;
        slot.state.busy = false;
        this.assign(slot, job);
        return;
      }
    }
  }

  private onFound(slot: Slot, jobId: number, nonce: bigint): void {
    const job = this.job;
    if (!job || jobId !== job.jobId) return; // a late answer to a replaced job
    slot.state.busy = false;
    const solved: BlockHeader = { ...job.header, nonce };
    const hash = headerHash(solved);
    // Trust but verify: the scanner's arithmetic must agree with the consensus hash.
    if (hashToBigInt(hash) > job.target) {
      this.log.error(
        { jobId, nonce: nonce.toString(), hash: toHex(hash) },
        "worker reported a nonce above target",
      );
      this.assign(slot, job);
      return;
    }
    this.log.info({ nonce: nonce.toString(), hash: toHex(hash), bits: job.header.bits }, "found block");
    this.finishJob(solved);
    this.idleAll();
    this.emit("found", { header: solved, hash });
  }

  /** Give `slot` the next high nonce word of `job`, or note that the job's nonce space is used up. */
  private assign(slot: Slot, job: ActiveJob): void {
    if (job.nextHigh > U32_MAX) {
      slot.state.busy = false;
      if (this.slots.every((s) => !s.state.busy)) {
        this.log.warn({ jobId: job.jobId }, "nonce space exhausted: change the header time and mine again");
        this.finishJob(undefined);
      }
      return;
    }
    const nonceHigh = job.nextHigh++;
    this.resume = { key: job.key, nextHigh: job.nextHigh };
    slot.state.busy = true;
    this.post(slot, {
      type: "job",
      kernel: this.opts.kernel,
      jobId: job.jobId,
      header: job.headerBytes,
      target: job.targetHex,
      nonceHigh,
      start: 0,
      end: NONCE_LOW_SPACE,
      chunkSize: this.opts.chunkSize,
      progressIntervalMs: this.opts.progressIntervalMs,
    });
    this.emit("range", { jobId: job.jobId, nonceHigh, start: 0, end: NONCE_LOW_SPACE });
  }

  private idleAll(): void {
    for (const slot of this.slots) {
      slot.state.busy = false;
      this.post(slot, { type: "stop" });
    }
  }

  private post(slot: Slot, msg: ToWorkerMessage): void {
    this.workers?.post(slot, msg);
  }

  /** End the current job with a header, `undefined` (aborted/replaced/stopped) or an error. */
  private finishJob(outcome: BlockHeader | undefined | Error): void {
    const job = this.job;
    if (!job) return;
    this.job = undefined;
    job.cleanup();
    if (outcome instanceof Error) job.reject(outcome);
    else job.resolve(outcome);
  }

  private recordHashes(hashes: number): void {
    const now = performance.now();
    this.hashesTotal += hashes;
    this.samples.push({ atMs: now, hashes });
    this.windowHashes += hashes;
    this.prune(now);
    if (now - this.lastEmitMs >= 1000) {
      this.lastEmitMs = now;
      this.emit("hashrate", { hashesPerSecond: this.hashrate, threads: this.opts.threads });
    }
    if (now - this.lastLogMs >= this.opts.logIntervalMs) {
      this.lastLogMs = now;
      this.log.info({ hashesPerSecond: Math.round(this.hashrate), threads: this.opts.threads }, "hashrate");
    }
  }

  private prune(now: number): void {
    const cutoff = now - this.opts.hashrateWindowMs;
    while (this.samples.length > 0 && this.samples[0]!.atMs < cutoff) {
      this.windowHashes -= this.samples.shift()!.hashes;
    }
  }
}
