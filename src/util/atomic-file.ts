import { randomBytes } from "node:crypto";
import { chmod, link, mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Crash-safe file writes: temp file in the same directory → write → fsync → read back and
 * verify → commit → fsync the directory. A crash (or any failure) before the commit leaves the
 * previous file untouched; at worst a `.NAME.tmp-*` file is left behind, which readers skip.
 *
 * Commit is `rename` when replacing is intended, and `link` + `unlink` when it is not: link(2)
 * fails with EEXIST if the name exists, so two writers racing for one name can never overwrite
 * each other (rename would silently replace).
 */

export interface AtomicWriteOptions {
  path: string;
  data: Uint8Array | string;
  /** permission bits of the new file, e.g. 0o600 */
  mode: number;
  /** false: never replace an existing file (fails with an EEXIST error) */
  overwrite: boolean;
  /** Checks the bytes read back from the temp file before the commit; throw to abort. */
  verify?: (written: Uint8Array) => Promise<void> | void;
}

/** The commit steps, injectable so tests can fail a write just before it becomes visible. */
export interface AtomicWriteDeps {
  rename(from: string, to: string): Promise<void>;
  link(from: string, to: string): Promise<void>;
}

export const defaultAtomicWriteDeps: AtomicWriteDeps = { rename, link };

/** Prefix of temp files; directory listings must skip names starting with it. */
export const TEMP_PREFIX = ".";

/** Writes `opts.data` to `opts.path` atomically and durably. */
export async function writeFileAtomic(
  opts: AtomicWriteOptions,
  deps: AtomicWriteDeps = defaultAtomicWriteDeps,
): Promise<void> {
  const dir = dirname(opts.path);
  const tmp = join(dir, `${TEMP_PREFIX}${basename(opts.path)}.tmp-${randomBytes(6).toString("hex")}`);
  const data = typeof opts.data === "string" ? Buffer.from(opts.data, "utf8") : opts.data;
  let committed = false;
  try {
    const handle = await open(tmp, "wx", opts.mode);
    try {
      await handle.writeFile(data);
      await handle.chmod(opts.mode); // the umask may have narrowed or (if odd) widened it
      await handle.sync();
    } finally {
      await handle.close();
    }
    const back = new Uint8Array(await readFile(tmp));
    try {
      if (Buffer.compare(back, data) !== 0)
        throw new Error(`read-back of ${tmp} differs from what was written`);
      await opts.verify?.(back);
    } finally {
      back.fill(0);
    }
    if (opts.overwrite) {
      await deps.rename(tmp, opts.path);
    } else {
      await deps.link(tmp, opts.path);
      committed = true;
      await unlink(tmp);
    }
    committed = true;
    await fsyncDir(dir);
  } finally {
    if (!committed) await unlink(tmp).catch(() => undefined);
    if (typeof opts.data === "string") data.fill(0);
  }
}

/** Creates `dir` (and parents) if missing and, when `exact`, forces its mode (e.g. 0o700). */
export async function ensureDir(dir: string, mode: number, exact: boolean): Promise<void> {
  await mkdir(dir, { recursive: true, mode });
  if (exact) await chmod(dir, mode);
}

/** Makes a rename/link in `dir` durable. Some platforms cannot fsync a directory: ignored there. */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EISDIR" && code !== "EPERM" && code !== "EINVAL" && code !== "EBADF") throw err;
  } finally {
    await handle?.close();
  }
}
