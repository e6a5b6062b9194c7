import { createHash } from "node:crypto";
import { open, readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { MaintenanceError, MaintenanceErrorCode } from "./errors.js";

/** Written last into a backup directory: a backup without it is incomplete. */
export const MANIFEST_FILE = "manifest.json";
export const MANIFEST_FORMAT = "quarry-backup/1";

export interface ManifestFile {
  /** path inside the backup, '/'-separated */
  path: string;
  bytes: number;
  sha256: string;
}

export interface BackupManifest {
  format: typeof MANIFEST_FORMAT;
  network: string;
  /** hex hash of the network's genesis block */
  genesis: string;
  tip: { hash: string; height: number };
  /** ISO 8601 */
  createdAt: string;
  files: ManifestFile[];
}

/** Every regular file under `dir` (relative, '/'-separated, sorted), except the manifest. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join("/"))
    .filter((path) => path !== MANIFEST_FILE)
    .sort();
}

/** SHA-256 and size of a file; with `durable`, fsyncs it too (the manifest may only name data on disk). */
export async function hashFile(path: string, durable: boolean): Promise<{ bytes: number; sha256: string }> {
  const handle = await open(path, "r");
  try {
    const hash = createHash("sha256");
    let bytes = 0;
    for await (const chunk of handle.createReadStream({ autoClose: false })) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).byteLength;
    }
    if (durable) await handle.sync();
    return { bytes, sha256: hash.digest("hex") };
  } finally {
    await handle.close();
  }
}

/** Checksums of every file under `dir`, for the manifest. */
export async function checksumFiles(dir: string): Promise<ManifestFile[]> {
  const out: ManifestFile[] = [];
  for (const path of await listFiles(dir)) out.push({ path, ...(await hashFile(join(dir, path), true)) });
  return out;
}

/** Reads and shape-checks a backup's manifest (not its checksums: see verifyFiles). */
export async function readManifest(dir: string): Promise<BackupManifest> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), "utf8");
  } catch {
    throw new MaintenanceError(
      MaintenanceErrorCode.NO_MANIFEST,
      `${dir} has no ${MANIFEST_FILE}: not a backup, or a backup that did not finish`,
    );
  }
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    throw new MaintenanceError(MaintenanceErrorCode.BAD_MANIFEST, `${MANIFEST_FILE} is not JSON`);
  }
  if (!isManifest(m))
    throw new MaintenanceError(
      MaintenanceErrorCode.BAD_MANIFEST,
      `${MANIFEST_FILE} is not a ${MANIFEST_FORMAT} manifest`,
    );
  return m;
}

function isManifest(m: unknown): m is BackupManifest {
  if (typeof m !== "object" || m === null) return false;
  const r = m as Record<string, unknown>;
  const tip = r.tip as Record<string, unknown> | undefined;
  return (
    r.format === MANIFEST_FORMAT &&
    typeof r.network === "string" &&
    typeof r.genesis === "string" &&
    typeof r.createdAt === "string" &&
    typeof tip === "object" &&
    tip !== null &&
    typeof tip.hash === "string" &&
    Number.isInteger(tip.height) &&
    Array.isArray(r.files) &&
    r.files.every(
      (f: unknown) =>
        typeof f === "object" &&
        f !== null &&
        typeof (f as ManifestFile).path === "string" &&
        isSafeRelativePath((f as ManifestFile).path) &&
        Number.isInteger((f as ManifestFile).bytes) &&
        typeof (f as ManifestFile).sha256 === "string",
    )
  );
}

/** A manifest path may not climb out of the backup ('..', absolute paths). */
function isSafeRelativePath(path: string): boolean {
  return path.length > 0 && !path.startsWith("/") && !path.split("/").some((p) => p === ".." || p === "");
}

/**
 * Checks that `dir` holds exactly the manifest's files with their sizes and checksums; the first
 * difference throws BACKUP_CHECKSUM_MISMATCH naming the file.
 */
export async function verifyFiles(dir: string, files: readonly ManifestFile[]): Promise<void> {
  const listed = new Set(files.map((f) => f.path));
  for (const path of await listFiles(dir)) {
    if (!listed.has(path))
      throw new MaintenanceError(
        MaintenanceErrorCode.CHECKSUM_MISMATCH,
        `${path} is in the backup but not in its manifest`,
      );
  }
  for (const file of files) {
    let actual: { bytes: number; sha256: string };
    try {
      actual = await hashFile(join(dir, file.path), false);
    } catch {
      throw new MaintenanceError(
        MaintenanceErrorCode.CHECKSUM_MISMATCH,
        `${file.path} is missing from the backup`,
      );
    }
    if (actual.bytes !== file.bytes || actual.sha256 !== file.sha256)
      throw new MaintenanceError(
        MaintenanceErrorCode.CHECKSUM_MISMATCH,
        `${file.path} does not match its checksum in the manifest`,
      );
  }
}
