import { cp, mkdir, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { NetworkParams } from "../consensus/index.js";
import { genesisBlock } from "../consensus/index.js";
import { NODE_KEY_FILE } from "../keystore/index.js";
import { blockHash, toHex } from "../primitives/index.js";
import { type ChainCopyReport, DATADIR_MARKER_FILE } from "../store/index.js";
import type { LevelCopyReport } from "../util/index.js";
import { writeFileAtomic } from "../util/index.js";
import { MaintenanceError, MaintenanceErrorCode } from "./errors.js";
import { type BackupManifest, checksumFiles, MANIFEST_FILE, MANIFEST_FORMAT } from "./manifest.js";

/** The datadir's LevelDB databases as a backup reads them: each copies itself from one snapshot. */
export interface BackupSources {
  chain: { copyTo(location: string): Promise<ChainCopyReport> };
  /** absent when the datadir has no mempool database yet */
  mempool?: { copyTo(location: string): Promise<LevelCopyReport> };
  /** absent when the datadir has no peer database yet */
  peers?: { copyTo(location: string): Promise<LevelCopyReport> };
}

/** Plain files and directories of a datadir that a backup copies as they are, when present. */
export const BACKED_UP_FILES: readonly string[] = ["keystore", NODE_KEY_FILE, DATADIR_MARKER_FILE];

/** The datadir's database directories, by the name a backup gives them. */
export const BACKED_UP_DATABASES = ["chain", "mempool", "peers"] as const;

export interface BackupOptions {
  datadir: string;
  /** absolute path of the backup directory: must not exist or be empty */
  target: string;
  params: NetworkParams;
  /** wall clock for `createdAt` (default: now) */
  now?: () => Date;
}

export interface BackupReport {
  dir: string;
  network: string;
  tip: { hash: string; height: number };
  files: number;
  bytes: number;
  seconds: number;
}

/** Refuses a target that exists with anything in it. */
export async function assertEmptyTarget(target: string): Promise<void> {
  const entries = await readdir(target).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [];
    throw err;
  });
  if (entries.length > 0)
    throw new MaintenanceError(
      MaintenanceErrorCode.TARGET_NOT_EMPTY,
      `${target} is not empty: give a new directory for the backup`,
    );
}

/**
 * Writes a consistent copy of a datadir into `opts.target`: each database through one iterator
 * snapshot (so a running node may keep mining and syncing), the keystore, node key and datadir
 * marker as files, then the manifest (network, genesis, tip, per-file SHA-256) LAST, after every
 * file is fsynced. A copy interrupted before the manifest has none, and restore refuses it.
 */
export async function writeBackup(opts: BackupOptions, sources: BackupSources): Promise<BackupReport> {
  const started = performance.now();
  const { target, datadir, params } = opts;
  await assertEmptyTarget(target);
  await mkdir(target, { recursive: true, mode: 0o700 });
  const chain = await sources.chain.copyTo(join(target, "chain"));
  if (sources.mempool) await sources.mempool.copyTo(join(target, "mempool"));
  if (sources.peers) await sources.peers.copyTo(join(target, "peers"));
  for (const name of BACKED_UP_FILES) {
    const from = join(datadir, name);
    const exists = await stat(from).then(
      () => true,
      () => false,
    );
    // Temp files of atomic writes start with '.': a half-written key is not part of the keystore.
    if (exists)
      await cp(from, join(target, name), {
        recursive: true,
        preserveTimestamps: true,
        filter: (src) =>
          !src
            .slice(from.length + 1)
            .split("/")
            .some((part) => part.startsWith(".")),
      });
  }
  const files = await checksumFiles(target);
  const manifest: BackupManifest = {
    format: MANIFEST_FORMAT,
    network: params.name,
    genesis: toHex(blockHash(genesisBlock(params))),
    tip: { hash: chain.tip, height: chain.height },
    createdAt: (opts.now?.() ?? new Date()).toISOString(),
    files,
  };
  await writeFileAtomic({
    path: join(target, MANIFEST_FILE),
    data: `${JSON.stringify(manifest, null, 2)}\n`,
    mode: 0o600,
    overwrite: false,
  });
  return {
    dir: target,
    network: params.name,
    tip: manifest.tip,
    files: files.length,
    bytes: files.reduce((sum, f) => sum + f.bytes, 0),
    seconds: (performance.now() - started) / 1000,
  };
}
