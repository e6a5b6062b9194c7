import { cp, mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { Chain } from "../chain/index.js";
import type { NetworkParams } from "../consensus/index.js";
import { genesisBlock } from "../consensus/index.js";
import { blockHash, toHex } from "../primitives/index.js";
import { ChainStore } from "../store/index.js";
import { fsyncDir } from "../util/index.js";
import { BACKED_UP_DATABASES, BACKED_UP_FILES } from "./backup.js";
import { MaintenanceError, MaintenanceErrorCode } from "./errors.js";
import { type BackupManifest, readManifest, verifyFiles } from "./manifest.js";

/** Where a restore stages its copy inside the target datadir before moving it into place. */
const STAGING_DIR = ".restore-staging";

export interface RestoreOptions {
  /** the backup directory */
  source: string;
  /** the datadir to restore into: new, empty, or without any of the names a backup holds */
  datadir: string;
  params: NetworkParams;
}

export interface RestoreReport {
  datadir: string;
  network: string;
  tip: { hash: string; height: number };
  createdAt: string;
  files: number;
  seconds: number;
}

/** Checks a backup against its manifest and this network, without writing anything. */
export async function verifyBackup(source: string, params: NetworkParams): Promise<BackupManifest> {
  const manifest = await readManifest(source);
  if (manifest.network !== params.name)
    throw new MaintenanceError(
      MaintenanceErrorCode.NETWORK_MISMATCH,
      `the backup is of network '${manifest.network}', not '${params.name}'`,
    );
  if (manifest.genesis !== toHex(blockHash(genesisBlock(params))))
    throw new MaintenanceError(
      MaintenanceErrorCode.NETWORK_MISMATCH,
      `the backup's genesis ${manifest.genesis} is not ${params.name}'s`,
    );
  await verifyFiles(source, manifest.files);
  return manifest;
}

/**
 * Restores a verified backup into a datadir: refuses a backup that does not verify and a datadir
 * that already holds a store or keys; copies into a staging directory inside the datadir,
 * verifies the copy against the manifest again, moves each part into place (the chain last),
 * and finally opens the restored chain (tip state-root check) and checks its tip is the
 * manifest's.
 */
export async function restoreBackup(opts: RestoreOptions): Promise<RestoreReport> {
  const started = performance.now();
  const { source, datadir, params } = opts;
  const manifest = await verifyBackup(source, params);
  const present = await readdir(datadir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [] as string[];
    throw err;
  });
  const clash = present.filter(
    (name) =>
      (BACKED_UP_DATABASES as readonly string[]).includes(name) ||
      BACKED_UP_FILES.includes(name) ||
      name === STAGING_DIR,
  );
  if (clash.length > 0)
    throw new MaintenanceError(
      MaintenanceErrorCode.TARGET_NOT_EMPTY,
      `${datadir} already holds ${clash.join(", ")}: restore into a new datadir`,
    );

  await mkdir(datadir, { recursive: true, mode: 0o700 });
  const staging = join(datadir, STAGING_DIR);
  await mkdir(staging, { mode: 0o700 });
  try {
    for (const file of manifest.files) {
      const to = join(staging, file.path);
      await mkdir(join(to, ".."), { recursive: true, mode: 0o700 });
      await cp(join(source, file.path), to, { preserveTimestamps: true });
    }
    await verifyFiles(staging, manifest.files);
    const parts = [...new Set(manifest.files.map((f) => f.path.split("/")[0]!))];
    // The chain last: a datadir with a chain store is a restored one.
    parts.sort((a, b) => Number(a === "chain") - Number(b === "chain"));
    for (const part of parts) await rename(join(staging, part), join(datadir, part));
    await fsyncDir(datadir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }

  const store = new ChainStore({ location: join(datadir, "chain"), network: params.name });
  await store.open();
  try {
    const chain = new Chain({ params }, { store });
    await chain.open();
    if (chain.tip.hashHex !== manifest.tip.hash || chain.height !== manifest.tip.height)
      throw new MaintenanceError(
        MaintenanceErrorCode.TIP_MISMATCH,
        `the restored chain's tip is ${chain.height} ${chain.tip.hashHex}, the manifest says ${manifest.tip.height} ${manifest.tip.hash}`,
      );
  } finally {
    await store.close();
  }
  return {
    datadir,
    network: manifest.network,
    tip: manifest.tip,
    createdAt: manifest.createdAt,
    files: manifest.files.length,
    seconds: (performance.now() - started) / 1000,
  };
}
