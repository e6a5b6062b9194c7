import { availableParallelism } from "node:os";
import {
  encodeTransaction,
  sha256d,
  TRANSFER_SIZE,
  type Transaction,
  type TransferTx,
  TxType,
  toHex,
} from "../primitives/index.js";
import type { Logger } from "../util/index.js";
import {
  LruCache,
  QuarryError,
  TypedEmitter,
  WorkerPool,
  type WorkerSlot,
  workerScriptUrl,
} from "../util/index.js";
import {
  type SignatureWorkerRequest,
  type SignatureWorkerResponse,
  verifyEncodedTransfers,
} from "./signature-verify.js";

/**
 * Ed25519 signature verification for block import, on a pool of worker threads, with a cache of
 * transactions that verified.
 *
 * Work crosses to the workers as chunks of whole 145-byte transfer encodings (one transferable
 * ArrayBuffer per chunk, no copy); the worker rebuilds the signing message (domain || first 81
 * bytes) itself. The main thread has to encode each transfer anyway to compute the cache key
 * (the tx id), so sending the encoding costs one memcpy, and the worker verifies exactly the
 * bytes the id commits to.
 *
 * The cache holds POSITIVE results only, keyed by tx id hex. That is safe because the id is
 * SHA-256d of the whole encoding, signature included: a second encoding with the same id — e.g. a
 * tampered twin of a good transaction — would be a SHA-256 collision. Negative results are never
 * cached: a bad signature costs its sender a peer penalty anyway, caching it would let anyone fill
 * the cache with junk that evicts good entries, and a negative entry under any key weaker than
 * the full encoding (say, the signing message without the signature) could be planted by an
 * attacker to make a good transaction look bad.
 */

/** Transfers per message to a worker: large enough to amortise postMessage, small enough to balance. */
export const SIGNATURE_CHUNK_SIZE = 64;
export const DEFAULT_SIGNATURE_CACHE_SIZE = 100_000;
/**
 * Workers idle this long are stopped (each is a V8 isolate of ~10-20 MiB RSS); the next
 * verification starts them again, which costs ~50-100 ms of CPU per worker.
 */
export const DEFAULT_SIGNATURE_IDLE_STOP_MS = 30_000;

export enum SignatureVerifierErrorCode {
  /** the worker verifying this chunk exited (crashed or was killed) before answering */
  WORKER_DIED = "SIGNATURE_VERIFIER_WORKER_DIED",
  /** stop() was called while this chunk was still being verified */
  STOPPED = "SIGNATURE_VERIFIER_STOPPED",
}

export class SignatureVerifierError extends QuarryError<{ code: SignatureVerifierErrorCode }> {}

export {
  type SignatureWorkerRequest,
  type SignatureWorkerResponse,
  verifyEncodedTransfers,
} from "./signature-verify.js";

export interface SignatureVerifierOptions {
  /** Worker threads; 0 verifies inline on the calling thread. Default: max(1, available cores). */
  threads?: number;
  /** Verified tx ids remembered. Default 100 000 (~10 MB). */
  cacheSize?: number;
  /**
   * Workers are started on first use and stopped after this many ms without work; the next use
   * starts them again. Default DEFAULT_SIGNATURE_IDLE_STOP_MS. 0: start() starts them and they
   * run until stop().
   */
  idleStopMs?: number;
}

export interface SignatureVerifierEvents {
  /** worker threads were started (on first use, or by start() when idleStopMs is 0) */
  workersStarted: { threads: number };
  /** the workers have exited: idle for idleStopMs, or stop() */
  workersStopped: { reason: "idle" | "stop" };
}

export interface SignatureVerifierDeps {
  log?: Logger;
}

/**
 * "workers" while started with threads > 0 (workers up, or started on the next use); "inline"
 * before start, after stop, with threads = 0, or when workers failed to load.
 */
export type SignatureVerifierMode = "workers" | "inline";

interface Chunk {
  id: number;
  ids: string[];
  promise: Promise<Uint8Array>;
  resolve(results: Uint8Array): void;
  reject(err: Error): void;
}

/** The verifier's bookkeeping per worker. */
interface SlotState {
  /** chunks posted to this worker and not yet answered, by chunk id */
  pending: Map<number, Chunk>;
  /** transfers in `pending`, for balancing */
  load: number;
}

type Slot = WorkerSlot<SlotState>;

/** A transfer prepared for verification: its encoding and id, or null when it cannot be encoded. */
interface Prepared {
  encoding: Uint8Array;
  id: string;
}

/** The compiled worker: the sibling signature-worker.js, or dist/'s copy under TypeScript sources. */
export function signatureWorkerUrl(moduleUrl: string = import.meta.url): URL {
  return workerScriptUrl(moduleUrl, "signature-worker.js");
}

/** `id`: the tx id when the caller has it (a decoded block's ids), so it is not hashed again. */
function prepare(tx: TransferTx, id?: Uint8Array): Prepared | null {
  let encoding: Uint8Array;
  try {
    encoding = encodeTransaction(tx);
  } catch {
    // Wrong-sized key or signature, out-of-range integers: no valid signature can cover it
    // (verifySignature answers false for such input as well).
    return null;
  }
  return { encoding, id: toHex(id ?? sha256d(encoding)) };
}

function checkIds(txs: readonly Transaction[], ids: readonly Uint8Array[] | undefined): void {
  if (ids !== undefined && (!Array.isArray(ids) || ids.length !== txs.length))
    throw new RangeError("ids must hold one id per transaction");
}

function packEncodings(items: readonly Prepared[]): Uint8Array<ArrayBuffer> {
  const buffer = new Uint8Array(items.length * TRANSFER_SIZE);
  for (let i = 0; i < items.length; i++) buffer.set(items[i]!.encoding, i * TRANSFER_SIZE);
  return buffer;
}

/**
 * Verifies transfer signatures on worker threads and remembers which transactions verified.
 *
 * Before start(), after stop(), with `threads: 0`, or when no worker could be started, it verifies
 * inline on the calling thread (prefetch then does nothing). If a worker dies, the chunks it held
 * fail with SignatureVerifierError WORKER_DIED and a replacement worker is started.
 *
 * Workers start on the first verification that needs them and stop after `idleStopMs` without
 * work, so an idle node carries no worker isolates (`idleStopMs: 0`: start() starts them and they
 * stay until stop()). Work posted to a worker that is still loading waits in its message queue.
 */
export class SignatureVerifier extends TypedEmitter<SignatureVerifierEvents> {
  private readonly threads: number;
  private readonly cache: LruCache<string, true>;
  private readonly log: Logger | undefined;
  private readonly workers: WorkerPool<SlotState, SignatureWorkerRequest, SignatureWorkerResponse>;
  /** tx id -> the chunk verifying it now */
  private readonly inFlight = new Map<string, { chunk: Chunk; index: number }>();
  private running = false;
  private nextChunkId = 1;
  private lifecycle: Promise<void> = Promise.resolve();
  private readonly idleStopMs: number;
  private idleTimer: NodeJS.Timeout | undefined;
  /** set when on-demand workers died while loading: verify inline from then on */
  private workersFailed = false;

  constructor(opts: SignatureVerifierOptions, deps: SignatureVerifierDeps = {}) {
    const threads = opts.threads ?? Math.max(1, availableParallelism());
    if (!Number.isInteger(threads) || threads < 0) throw new RangeError("threads must be an integer >= 0");
    const cacheSize = opts.cacheSize ?? DEFAULT_SIGNATURE_CACHE_SIZE;
    if (!Number.isInteger(cacheSize) || cacheSize < 1)
      throw new RangeError("cacheSize must be an integer >= 1");
    const idleStopMs = opts.idleStopMs ?? DEFAULT_SIGNATURE_IDLE_STOP_MS;
    if (!Number.isInteger(idleStopMs) || idleStopMs < 0)
      throw new RangeError("idleStopMs must be an integer >= 0");
    super();
    this.threads = threads;
    this.idleStopMs = idleStopMs;
    this.cache = new LruCache(cacheSize);
    this.log = deps.log;
    this.workers = new WorkerPool<SlotState, SignatureWorkerRequest, SignatureWorkerResponse>(
      {
        url: signatureWorkerUrl(),
        name: "quarry-signature",
        threads,
        // A small young generation (4 MiB new space instead of up to 64 MiB kept per worker): the
        // verifier's garbage is short-lived. Throughput: docs/BENCHMARKS.md, "Memory".
        resourceLimits: { maxYoungGenerationSizeMb: 6 },
        createState: () => ({ pending: new Map(), load: 0 }),
        isReadyMessage: (msg) => (msg as SignatureWorkerResponse).type === "ready",
      },
      {
        message: (slot, msg) => {
          if (msg.type === "result") this.finishChunk(slot, msg.chunkId, new Uint8Array(msg.results));
        },
        exit: (slot, { exitCode, error, owned }) => {
          if (owned) this.onWorkerExit(slot, exitCode, error);
        },
      },
    );
  }

  /** Whether work currently goes to worker threads or is done inline. */
  get mode(): SignatureVerifierMode {
    if (!this.running || this.threads === 0 || this.workersFailed) return "inline";
    return this.idleStopMs === 0 && this.slots.length === 0 ? "inline" : "workers";
  }

  /** Thread ids of the live workers (empty when inline or when on-demand workers are stopped). */
  get threadIds(): number[] {
    return this.slots.map((s) => s.threadId);
  }

  /** Verified tx ids currently cached. */
  get cacheSize(): number {
    return this.cache.size;
  }

  /**
   * Enables the workers. With idleStopMs 0 starts them and waits until each has loaded; else they
   * start on first use. Idempotent.
   */
  start(): Promise<void> {
    this.lifecycle = this.lifecycle.catch(() => {}).then(() => this.doStart());
    return this.lifecycle;
  }

  /** Fails in-flight chunks with STOPPED, terminates the workers and awaits their exit. Idempotent. */
  stop(): Promise<void> {
    this.lifecycle = this.lifecycle.catch(() => {}).then(() => this.doStop());
    return this.lifecycle;
  }

  /**
   * Verifies all transfers' signatures (coinbases skipped: they answer true, having none) in the
   * workers; valid ones go to the cache. Resolves with one boolean per input tx, in order.
   * Rejects with SignatureVerifierError if a worker died or stop() ran while verifying.
   * `ids`: the transactions' ids, when the caller has them (one per tx), so they are not hashed again.
   */
  async verifyTransactions(txs: readonly Transaction[], ids?: readonly Uint8Array[]): Promise<boolean[]> {
    if (!Array.isArray(txs)) throw new TypeError("txs must be an array");
    checkIds(txs, ids);
    const results = new Array<boolean>(txs.length).fill(true);
    const waits: { index: number; chunk: Chunk; at: number }[] = [];
    const fresh: Prepared[] = [];
    const freshAt: number[] = [];
    for (let i = 0; i < txs.length; i++) {
      const tx = txs[i]!;
      if (tx.type !== TxType.Transfer) continue;
      const prepared = prepare(tx, ids?.[i]);
      if (prepared === null) {
        results[i] = false;
        continue;
      }
      if (this.cache.has(prepared.id)) continue;
      const flying = this.inFlight.get(prepared.id);
      if (flying !== undefined) {
        waits.push({ index: i, chunk: flying.chunk, at: flying.index });
        continue;
      }
      fresh.push(prepared);
      freshAt.push(i);
    }
    if (this.mode === "inline") {
      const verdicts = this.verifyInline(fresh);
      for (let k = 0; k < fresh.length; k++) results[freshAt[k]!] = verdicts[k] === 1;
    } else if (fresh.length > 0) {
      this.ensureWorkers();
      const size = this.chunkSize(fresh.length);
      for (let start = 0; start < fresh.length; start += size) {
        const chunk = this.dispatch(fresh.slice(start, start + size));
        const end = Math.min(fresh.length, start + size);
        for (let k = start; k < end; k++) waits.push({ index: freshAt[k]!, chunk, at: k - start });
      }
    }
    // Duplicates inside `txs` land here too: the second copy waits on the first copy's chunk.
    for (const wait of waits) results[wait.index] = (await wait.chunk.promise)[wait.at] === 1;
    return results;
  }

  /**
   * Starts verification of these transfers ahead of need (e.g. a whole sync batch); returns
   * immediately. Does nothing while inline (there is no other core to do it on). Failures are
   * logged, not thrown: an unverified tx is simply verified again when it is needed.
   */
  prefetch(txs: readonly Transaction[], ids?: readonly Uint8Array[]): void {
    if (!Array.isArray(txs)) throw new TypeError("txs must be an array");
    checkIds(txs, ids);
    if (this.mode === "inline") return;
    const fresh: Prepared[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < txs.length; i++) {
      const tx = txs[i]!;
      if (tx.type !== TxType.Transfer) continue;
      const prepared = prepare(tx, ids?.[i]);
      if (prepared === null || seen.has(prepared.id)) continue;
      if (this.cache.has(prepared.id) || this.inFlight.has(prepared.id)) continue;
      seen.add(prepared.id);
      fresh.push(prepared);
    }
    if (fresh.length === 0) return;
    this.ensureWorkers();
    const size = this.chunkSize(fresh.length);
    for (let start = 0; start < fresh.length; start += size) {
      this.dispatch(fresh.slice(start, start + size));
    }
  }

  /**
   * Verifies one transfer on the calling thread unless its id is cached; a valid one joins the
   * cache, so the block that later includes it is not verified again (the mempool's admission
   * check). `txIdHex` must be the transfer's id. Synchronous.
   */
  verifyTransfer(tx: TransferTx, txIdHex: string): boolean {
    if (typeof txIdHex !== "string") throw new TypeError("txIdHex must be a string");
    if (this.cache.has(txIdHex)) return true;
    const prepared = prepare(tx);
    if (prepared === null || prepared.id !== txIdHex) return false;
    return this.verifyInline([prepared])[0] === 1;
  }

  /** True only if this exact tx (by id hex) verified before (cache hit). Synchronous. */
  isVerified(txIdHex: string): boolean {
    if (typeof txIdHex !== "string") throw new TypeError("txIdHex must be a string");
    return this.cache.has(txIdHex);
  }

  /**
   * Awaits any in-flight verification of these tx ids (from prefetch). Never rejects: afterwards
   * isVerified tells which of them verified; a failed chunk just leaves its ids unverified.
   */
  async settle(txIdHexes: readonly string[]): Promise<void> {
    if (!Array.isArray(txIdHexes)) throw new TypeError("txIdHexes must be an array");
    const chunks = new Set<Chunk>();
    for (const id of txIdHexes) {
      const flying = this.inFlight.get(id);
      if (flying !== undefined) chunks.add(flying.chunk);
    }
    await Promise.allSettled([...chunks].map((c) => c.promise));
  }

  private get slots(): readonly Slot[] {
    return this.workers.slots;
  }

  // At most SIGNATURE_CHUNK_SIZE, but a small batch is split evenly over the workers (100 txs on
  // 2 workers: 50 + 50, not 64 + 36, which would leave one core idle for a third of the time).
  private chunkSize(items: number): number {
    return Math.max(1, Math.min(SIGNATURE_CHUNK_SIZE, Math.ceil(items / this.slots.length)));
  }

  private verifyInline(items: readonly Prepared[]): Uint8Array {
    const verdicts = verifyEncodedTransfers(packEncodings(items), items.length);
    for (let k = 0; k < items.length; k++) if (verdicts[k] === 1) this.cache.set(items[k]!.id, true);
    return verdicts;
  }

  /** On-demand mode: starts the workers if none is running (they load while work queues). */
  private ensureWorkers(): void {
    this.disarmIdleStop();
    if (this.slots.length > 0) return;
    // A worker that fails to load is handled in onWorkerExit (its chunks fail, it is dropped).
    this.workers.fill();
    this.log?.debug({ threads: this.threads }, "signature workers started on demand");
    this.emit("workersStarted", { threads: this.threads });
  }

  private disarmIdleStop(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** Once no worker holds work, stops them all after idleStopMs unless work arrives first. */
  private armIdleStop(): void {
    if (this.idleStopMs === 0 || !this.running || this.slots.length === 0) return;
    if (this.slots.some((s) => s.state.pending.size > 0)) return;
    this.disarmIdleStop();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      void this.stopIdleWorkers();
    }, this.idleStopMs);
    // An idle verifier must not keep the process alive.
    this.idleTimer.unref();
  }

  private async stopIdleWorkers(): Promise<void> {
    if (!this.running || this.slots.some((s) => s.state.pending.size > 0)) return;
    await this.workers.terminateAll();
    this.log?.debug({ idleStopMs: this.idleStopMs }, "signature workers stopped after idling");
    this.emit("workersStopped", { reason: "idle" });
  }

  /** Posts one chunk to the least loaded worker; its ids are in flight until it answers or fails. */
  private dispatch(items: readonly Prepared[]): Chunk {
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.state.load < slot.state.load) slot = s;
    let resolve!: (results: Uint8Array) => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<Uint8Array>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Prefetched chunks may fail with nobody awaiting them: that must not be an unhandled rejection.
    promise.catch(() => {});
    const chunk: Chunk = { id: this.nextChunkId++, ids: items.map((p) => p.id), promise, resolve, reject };
    for (let k = 0; k < items.length; k++) this.inFlight.set(items[k]!.id, { chunk, index: k });
    slot.state.pending.set(chunk.id, chunk);
    slot.state.load += items.length;
    const encodings = packEncodings(items).buffer;
    const request: SignatureWorkerRequest = {
      type: "verify",
      chunkId: chunk.id,
      count: items.length,
      encodings,
    };
    this.workers.post(slot, request, [encodings]);
    return chunk;
  }

  private finishChunk(slot: Slot, chunkId: number, results: Uint8Array): void {
    const chunk = slot.state.pending.get(chunkId);
    if (chunk === undefined) return;
    slot.state.pending.delete(chunkId);
    slot.state.load -= chunk.ids.length;
    for (let k = 0; k < chunk.ids.length; k++) {
      const id: string = chunk.ids[k]!;
      if (results[k] === 1) this.cache.set(id, true);
      if (this.inFlight.get(id)?.chunk === chunk) this.inFlight.delete(id);
    }
    chunk.resolve(results);
    if (slot.state.pending.size === 0) this.armIdleStop();
  }

  private failChunks(slot: Slot, err: SignatureVerifierError): void {
    for (const chunk of slot.state.pending.values()) {
      for (const id of chunk.ids) if (this.inFlight.get(id)?.chunk === chunk) this.inFlight.delete(id);
      chunk.reject(err);
    }
    slot.state.pending.clear();
    slot.state.load = 0;
  }

  /** A worker the verifier still owned exited: fail its chunks, then replace or drop it. */
  private onWorkerExit(slot: Slot, exitCode: number, error: Error | undefined): void {
    // One that never loaded is reported by whoever awaited its loading (start or the restart).
    if (slot.ready) {
      this.log?.error(
        { exitCode, err: error?.message, pending: slot.state.pending.size },
        "signature worker died; restarting it",
      );
    }
    this.failChunks(
      slot,
      new SignatureVerifierError(
        { code: SignatureVerifierErrorCode.WORKER_DIED },
        `signature worker exited with code ${exitCode}${error ? `: ${error.message}` : ""}`,
      ),
    );
    if (!this.running || !slot.ready) {
      // Died while loading: a replacement would most likely die the same way.
      this.workers.drop(slot);
      if (this.running && this.slots.length === 0 && this.idleStopMs > 0) {
        // On-demand workers cannot load here (a worker-less environment or a missing build).
        this.workersFailed = true;
        this.log?.warn(
          { err: error?.message, url: this.workers.url.href },
          "signature workers failed to start; verifying inline",
        );
      }
      return;
    }
    const replacement = this.workers.replace(slot);
    replacement?.loaded.catch((err: unknown) => {
      this.log?.error({ err: (err as Error).message }, "replacement signature worker failed to start");
    });
    this.armIdleStop();
  }

  private async doStart(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.workersFailed = false;
    // On demand: the first verification that needs workers starts them (ensureWorkers).
    if (this.threads === 0 || this.idleStopMs > 0) return;
    try {
      await this.workers.start();
    } catch (err) {
      // A worker-less environment (or a missing build): verify inline rather than not at all.
      // (The pool has terminated the workers that did start.)
      this.log?.warn(
        { err: (err as Error).message, url: this.workers.url.href },
        "signature workers failed to start; verifying inline",
      );
      return;
    }
    this.log?.info({ threads: this.threads }, "signature verifier started");
    this.emit("workersStarted", { threads: this.threads });
  }

  private async doStop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.disarmIdleStop();
    const slots = this.slots;
    const stopped = new SignatureVerifierError(
      { code: SignatureVerifierErrorCode.STOPPED },
      "signature verifier stopped",
    );
    for (const slot of slots) this.failChunks(slot, stopped);
    await this.workers.terminateAll();
    if (slots.length > 0) this.emit("workersStopped", { reason: "stop" });
  }
}
