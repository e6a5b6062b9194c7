import { basename, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { type ResourceLimits, Worker } from "node:worker_threads";

/**
 * Where a compiled worker script lives, seen from the module that starts it.
 *
 * Worker threads load JavaScript, so from a compiled module (dist/src/<folder>/x.js) the worker is
 * its sibling `script`. When the module itself runs from TypeScript sources (vitest imports
 * src/<folder>/x.ts), Node cannot load a `.ts` worker whose imports say `.js`: the compiled copy in
 * dist/src/<folder>/ is used instead, which `npm test` builds first (`pretest: npm run build`). That
 * copy is only as fresh as the last build.
 */
export function workerScriptUrl(moduleUrl: string, script: string): URL {
  if (!moduleUrl.endsWith(".ts")) return new URL(`./${script}`, moduleUrl);
  const folder = basename(dirname(fileURLToPath(moduleUrl)));
  return new URL(`../../dist/src/${folder}/${script}`, moduleUrl);
}

/** One worker thread of a {@link WorkerPool}, with the owner's per-worker bookkeeping in `state`. */
export interface WorkerSlot<S> {
  readonly worker: Worker;
  readonly threadId: number;
  /** the owner's bookkeeping for this worker (jobs, load, …) */
  readonly state: S;
  /** true once the worker has loaded (its 'online' event, or its ready message) */
  ready: boolean;
  /** resolves once loaded; rejects if the worker exits first */
  readonly loaded: Promise<void>;
  /** resolves on the worker's 'exit' event (its OS thread is gone by then) */
  readonly exited: Promise<void>;
}

export interface WorkerPoolOptions<S> {
  /** the compiled worker script ({@link workerScriptUrl}) */
  url: URL;
  /** thread name, shown in diagnostics */
  name: string;
  threads: number;
  resourceLimits?: ResourceLimits;
  /** fresh bookkeeping for a new worker */
  createState: () => S;
  /**
   * The worker announces it has loaded with a message this returns true for (that message is not
   * passed on); without it, a worker is loaded at its 'online' event.
   */
  isReadyMessage?: (message: unknown) => boolean;
}

export interface WorkerPoolHandlers<S, Res> {
  message(slot: WorkerSlot<S>, message: Res): void;
  /**
   * A worker exited. `owned` is false for one the pool had already let go (terminate, drop);
   * `error` is the uncaught error that ended it, if any.
   */
  exit(slot: WorkerSlot<S>, info: { exitCode: number; error: Error | undefined; owned: boolean }): void;
  /** a worker has loaded */
  ready?(slot: WorkerSlot<S>): void;
}

/**
 * The slots of a set of worker threads running one script: spawning (all at once and awaited, or
 * on demand), replacing and dropping single workers, and terminating them all. What the workers
 * do, and what happens when one dies, is the owner's business (the handlers).
 */
export class WorkerPool<S, Req, Res> {
  private current: WorkerSlot<S>[] = [];
  private alive = 0;

  constructor(
    private readonly opts: WorkerPoolOptions<S>,
    private readonly handlers: WorkerPoolHandlers<S, Res>,
  ) {
    if (!Number.isInteger(opts.threads) || opts.threads < 0)
      throw new RangeError(`threads must be an integer ≥ 0, got ${opts.threads}`);
  }

  get url(): URL {
    return this.opts.url;
  }

  /** The workers the pool owns now. */
  get slots(): readonly WorkerSlot<S>[] {
    return this.current;
  }

  /** Worker threads not yet exited, including ones being terminated. */
  get liveWorkers(): number {
    return this.alive;
  }

  /** On demand: spawns workers up to `threads` without waiting for them to load. */
  fill(): void {
    while (this.current.length < this.opts.threads) this.current.push(this.spawn());
  }

  /**
   * Spawns workers up to `threads` and waits until every one has loaded. If one fails, all are
   * terminated and the error is rethrown.
   */
  async start(): Promise<void> {
    this.fill();
    try {
      await Promise.all(this.current.map((slot) => slot.loaded));
    } catch (err) {
      await this.terminateAll();
      throw err;
    }
  }

  /** Replaces `slot` with a new worker in the same position; the old one is no longer owned. */
  replace(slot: WorkerSlot<S>): WorkerSlot<S> | undefined {
    const index = this.current.indexOf(slot);
    if (index < 0) return undefined;
    const fresh = this.spawn();
    this.current[index] = fresh;
    return fresh;
  }

  /** Lets go of `slot` (already exited, or about to be) without a replacement. */
  drop(slot: WorkerSlot<S>): void {
    this.current = this.current.filter((s) => s !== slot);
  }

  post(slot: WorkerSlot<S>, message: Req, transfer: readonly ArrayBuffer[] = []): void {
    slot.worker.postMessage(message, transfer);
  }

  /** Lets go of every worker, terminates them and waits until each has exited. */
  async terminateAll(): Promise<void> {
    const slots = this.current;
    this.current = [];
    await Promise.all(
      slots.map((slot) => {
        void slot.worker.terminate();
        return slot.exited;
      }),
    );
  }

  private spawn(): WorkerSlot<S> {
    const worker = new Worker(this.opts.url, {
      name: this.opts.name,
      ...(this.opts.resourceLimits ? { resourceLimits: this.opts.resourceLimits } : {}),
    });
    let markLoaded!: () => void;
    let failLoaded!: (err: Error) => void;
    let markExited!: () => void;
    let lastError: Error | undefined;
    const slot: WorkerSlot<S> = {
      worker,
      threadId: worker.threadId,
      state: this.opts.createState(),
      ready: false,
      loaded: new Promise<void>((ok, fail) => {
        markLoaded = ok;
        failLoaded = fail;
      }),
      exited: new Promise<void>((ok) => {
        markExited = ok;
      }),
    };
    // Whoever awaits `loaded` reports the failure; an unawaited one must not be unhandled.
    slot.loaded.catch(() => {});
    this.alive++;
    const loaded = () => {
      if (slot.ready) return;
      slot.ready = true;
      markLoaded();
      this.handlers.ready?.(slot);
    };
    const isReady = this.opts.isReadyMessage;
    if (!isReady) worker.once("online", loaded);
    worker.on("message", (message: Res) => {
      if (isReady?.(message)) loaded();
      else this.handlers.message(slot, message);
    });
    // Without an 'error' listener a worker's uncaught exception would be rethrown on this thread.
    worker.on("error", (err) => {
      lastError = err;
    });
    worker.once("exit", (exitCode) => {
      this.alive--;
      failLoaded(
        lastError ?? new Error(`${this.opts.name} worker exited with code ${exitCode} before it loaded`),
      );
      markExited();
      this.handlers.exit(slot, { exitCode, error: lastError, owned: this.current.includes(slot) });
    });
    return slot;
  }
}
