import { closeSync, fstatSync, openSync, renameSync, rmSync, writeSync } from "node:fs";

export interface RotatingFileOptions {
  path: string;
  /** a line that would take the file past this many bytes first rotates it */
  maxBytes: number;
  /** rotated files kept: PATH.1 (newest) … PATH.keep; 0 keeps none */
  keep: number;
  /** permission bits of new files */
  mode?: number;
}

/**
 * A log file rotated by size, written synchronously (as the logger's stdout destination is: a
 * line is in the file when the call returns, so a crash loses nothing). On rotation PATH.(keep-1)
 * becomes PATH.keep, …, PATH becomes PATH.1, and a new PATH is opened; whole lines only, so a
 * line is never split across two files. A line longer than maxBytes gets a file of its own.
 *
 * A write that fails (disk full, file removed from under us) never throws into the caller: the
 * line is lost and `onError` is told once per kind of failure, so logging can never stop the
 * node.
 */
export class RotatingFileStream {
  private fd: number;
  private size: number;
  private closed = false;
  private readonly reported = new Set<string>();

  /** Opens (appends to) PATH; throws the fs error (e.g. ENOENT, EACCES) if it cannot. */
  constructor(
    private readonly opts: RotatingFileOptions,
    private readonly onError: (message: string) => void = (m) => process.stderr.write(`${m}\n`),
  ) {
    if (!Number.isSafeInteger(opts.maxBytes) || opts.maxBytes < 1)
      throw new RangeError("maxBytes must be >= 1");
    if (!Number.isSafeInteger(opts.keep) || opts.keep < 0) throw new RangeError("keep must be >= 0");
    this.fd = -1;
    this.size = 0;
    this.open();
  }

  write(chunk: string): boolean {
    if (this.closed) return false;
    const bytes = Buffer.from(chunk, "utf8");
    try {
      if (this.fd < 0) this.open();
      if (this.size > 0 && this.size + bytes.length > this.opts.maxBytes) this.rotate();
      writeSync(this.fd, bytes);
      this.size += bytes.length;
    } catch (err) {
      this.report(err);
    }
    return true;
  }

  close(): void {
    this.closed = true;
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }

  private rotate(): void {
    const { path, keep } = this.opts;
    closeSync(this.fd);
    this.fd = -1;
    if (keep === 0) {
      rmSync(path, { force: true });
    } else {
      rmSync(`${path}.${keep}`, { force: true });
      for (let i = keep - 1; i >= 1; i--) renameIfExists(`${path}.${i}`, `${path}.${i + 1}`);
      renameSync(path, `${path}.1`);
    }
    this.open();
  }

  private open(): void {
    this.fd = openSync(this.opts.path, "a", this.opts.mode ?? 0o640);
    this.size = fstatSync(this.fd).size;
  }

  private report(err: unknown): void {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    if (this.reported.has(code)) return;
    this.reported.add(code);
    // A failed rotation may have left no file open: the next write tries to open one again.
    this.onError(`quarry: cannot write the log file ${this.opts.path} (${code}); log lines are lost`);
  }
}

function renameIfExists(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}
