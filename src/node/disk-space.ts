import { statfs } from "node:fs/promises";
import type { Chain } from "../chain/index.js";
import { StoreErrorCode } from "../store/index.js";
import { type Logger, silentLogger } from "../util/index.js";

export interface DiskSpaceOptions {
  /** a directory on the filesystem to watch (the datadir) */
  path: string;
  /** below this many free bytes the chain halts (STORE_DISK_LOW); 0: never halts for space */
  minFreeBytes: number;
  /** time between checks */
  intervalMs: number;
}

export interface DiskSpaceDeps {
  chain: Pick<Chain, "halted" | "halt" | "resume">;
  /** free bytes available to this process on the filesystem holding `path` (statfs by default) */
  freeBytes?: (path: string) => Promise<number>;
  log?: Logger;
}

/** Free space with at most this many times the minimum left gets one warning. */
const WARN_FACTOR = 2;
/**
 * Resuming reopens LevelDB, which writes a new log and MANIFEST: with --min-free-space 0 it waits
 * for at least this much room, so a reopen on a still-full disk does not leave the store closed.
 */
const RESUME_FLOOR_BYTES = 8 * 1024 ** 2;

/** statfs: blocks available to unprivileged users times the block size. */
export async function statfsFreeBytes(path: string): Promise<number> {
  const s = await statfs(path);
  return s.bavail * s.bsize;
}

/**
 * Watches the datadir's free space: warns once when it falls under twice `minFreeBytes`, halts the
 * chain (STORE_DISK_LOW) under `minFreeBytes`, before LevelDB runs into ENOSPC, and, while the
 * chain is halted for space or a refused write, asks it to resume once there is room again
 * (`Chain.resume` reopens the store and probes a write; a failed probe leaves it halted).
 */
export class DiskSpaceMonitor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private warned = false;
  private lastFree: number | undefined;
  private readonly log: Logger;
  private readonly freeBytes: (path: string) => Promise<number>;

  constructor(
    private readonly opts: DiskSpaceOptions,
    private readonly deps: DiskSpaceDeps,
  ) {
    if (!Number.isSafeInteger(opts.minFreeBytes) || opts.minFreeBytes < 0)
      throw new RangeError("minFreeBytes must be a non-negative integer");
    if (!Number.isInteger(opts.intervalMs) || opts.intervalMs < 1)
      throw new RangeError("intervalMs must be a positive integer");
    this.log = (deps.log ?? silentLogger).child({ module: "disk" });
    this.freeBytes = deps.freeBytes ?? statfsFreeBytes;
  }

  /** Free bytes at the last check (undefined before the first). */
  get free(): number | undefined {
    return this.lastFree;
  }

  /** Checks once now (so a node started on a full disk starts halted), then every interval. */
  async start(): Promise<void> {
    if (this.timer) return;
    await this.check();
    this.timer = setInterval(() => {
      this.running ??= this.check().finally(() => {
        this.running = undefined;
      });
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One check: warn, halt or resume as the free space says. */
  async check(): Promise<void> {
    let free: number;
    try {
      free = await this.freeBytes(this.opts.path);
    } catch (err) {
      this.log.warn({ err, path: this.opts.path }, "cannot read the datadir's free space");
      return;
    }
    this.lastFree = free;
    const { minFreeBytes } = this.opts;
    const mib = (n: number) => Math.floor(n / 1024 ** 2);
    if (free < minFreeBytes) {
      this.deps.chain.halt(
        StoreErrorCode.DISK_LOW,
        `free space on ${this.opts.path} is ${mib(free)} MiB, below --min-free-space ${mib(minFreeBytes)} MiB`,
      );
      return;
    }
    if (free < minFreeBytes * WARN_FACTOR) {
      if (!this.warned)
        this.log.warn(
          { path: this.opts.path, freeMiB: mib(free), minFreeMiB: mib(minFreeBytes) },
          "datadir is running out of space: the node stops storing blocks below --min-free-space",
        );
      this.warned = true;
    } else {
      this.warned = false;
    }
    const halt = this.deps.chain.halted;
    const resumable = halt?.code === StoreErrorCode.DISK_LOW || halt?.code === StoreErrorCode.WRITE_FAILED;
    if (resumable && free >= Math.max(minFreeBytes, RESUME_FLOOR_BYTES)) {
      await this.deps.chain.resume();
    }
  }
}
