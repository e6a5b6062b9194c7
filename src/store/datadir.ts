import { existsSync } from "node:fs";
import { readdir, rename } from "node:fs/promises";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import type { NetworkName } from "../consensus/index.js";
import type { Logger } from "../util/index.js";
import { type Clock, ensureDir, systemClock } from "../util/index.js";
import { ChainStore } from "./chain-store.js";
import {
  type DatadirMarker,
  genesisHashHex,
  markerPath,
  readDatadirMarker,
  writeDatadirMarker,
} from "./datadir-marker.js";
import { DatadirError, DatadirErrorCode, StoreError, StoreErrorCode } from "./errors.js";
import { SCHEMA_VERSION } from "./layout.js";

/** The chain store's directory in a datadir. */
export const CHAIN_STORE_DIR = "chain";

/**
 * Databases whose loss costs nothing but time: pending transactions (peers send them again) and
 * the peer book (discovery refills it). A missing or damaged one is recreated empty, with a log line.
 */
export const CACHE_STORE_DIRS = ["mempool", "peers"] as const;

export interface PrepareDatadirOptions {
  datadir: string;
  network: NetworkName;
  /** true: a datadir without a chain store gets one (start, offline mining, import); false: refuse */
  create: boolean;
  /** true: check the cache databases and move an unreadable one aside (for commands that open them) */
  checkCaches?: boolean;
}

export interface PrepareDatadirDeps {
  log?: Logger;
  clock?: Clock;
}

/** `created`: a new chain store and marker; `adopted`: a marker written for a healthy older store. */
export type DatadirState = "created" | "adopted" | "existing";

/**
 * Makes sure a datadir is safe to open: its chain store is there and readable, and belongs to
 * `network`. The only place a chain store is ever created, and only where none exists:
 *
 * - marker present: the store must open (created with `createIfMissing: false`); if it is
 *   missing or unreadable the datadir is damaged: DatadirError, nothing is touched.
 * - no marker, no chain directory (or an empty one): a new datadir. With `create` the store is
 *   created, then the marker written (in that order: a crash between leaves a healthy store
 *   without a marker, which the next run adopts); without `create`, NOT_INITIALISED.
 * - no marker, a chain directory with files: a datadir from before the marker. A store that opens
 *   is adopted (marker written); one that does not is refused, never replaced.
 */
export async function prepareDatadir(
  opts: PrepareDatadirOptions,
  deps: PrepareDatadirDeps = {},
): Promise<{ marker: DatadirMarker; state: DatadirState }> {
  const { datadir, network } = opts;
  const chainDir = join(datadir, CHAIN_STORE_DIR);
  const marker = readDatadirMarker(datadir);
  let result: { marker: DatadirMarker; state: DatadirState };
  if (marker) {
    checkMarkerNetwork(datadir, marker, network);
    const problem = await probeChainStore(chainDir, network);
    if (problem) throw damaged(problem, chainDir, `datadir.json says one was created at ${marker.createdAt}`);
    result = { marker, state: "existing" };
  } else if (await isEmptyDir(chainDir)) {
    if (!opts.create) {
      throw new DatadirError(
        DatadirErrorCode.NOT_INITIALISED,
        `no chain store in ${datadir}; create one with 'quarry init --network ${network} --datadir ${datadir}' (or 'quarry start')`,
      );
    }
    result = { marker: await createChainStore(datadir, network, deps), state: "created" };
    deps.log?.info({ datadir, network }, "created a new datadir and chain store");
  } else {
    const problem = await probeChainStore(chainDir, network);
    if (problem) throw damaged(problem, chainDir, "the datadir has no datadir.json");
    const adopted = newMarker(network, deps.clock ?? systemClock, true);
    await writeDatadirMarker(datadir, adopted);
    deps.log?.warn(
      { datadir, marker: markerPath(datadir) },
      "adopted an existing chain store: wrote datadir.json",
    );
    result = { marker: adopted, state: "adopted" };
  }
  if (opts.checkCaches) await checkCacheStores(datadir, result.state === "existing", deps);
  return result;
}

/**
 * `quarry init`: a new datadir for `network` with an empty chain store (genesis only) and its
 * marker. Refuses a datadir that already has a marker or chain data.
 */
export async function initDatadir(
  datadir: string,
  network: NetworkName,
  deps: PrepareDatadirDeps = {},
): Promise<DatadirMarker> {
  const existing = readDatadirMarker(datadir);
  if (existing || !(await isEmptyDir(join(datadir, CHAIN_STORE_DIR)))) {
    const what = existing
      ? `a ${existing.network} chain store created at ${existing.createdAt}`
      : "a chain store";
    throw new DatadirError(
      DatadirErrorCode.EXISTS,
      `${datadir} already holds ${what}; nothing to do (use another --datadir for a new one)`,
    );
  }
  return createChainStore(datadir, network, deps);
}

function checkMarkerNetwork(datadir: string, marker: DatadirMarker, network: NetworkName): void {
  if (marker.network !== network) {
    throw new DatadirError(
      DatadirErrorCode.NETWORK_MISMATCH,
      `${datadir} holds network '${marker.network}' (datadir.json), not '${network}'; drop --network or use another --datadir`,
    );
  }
  const genesis = genesisHashHex(network);
  if (marker.genesisHash !== genesis) {
    throw new DatadirError(
      DatadirErrorCode.NETWORK_MISMATCH,
      `${datadir} holds a ${network} chain with genesis ${marker.genesisHash} (datadir.json), but this Quarry's ${network} genesis is ${genesis}; use another --datadir`,
    );
  }
}

async function createChainStore(
  datadir: string,
  network: NetworkName,
  deps: PrepareDatadirDeps,
): Promise<DatadirMarker> {
  await ensureDir(datadir, 0o700, false);
  const store = new ChainStore({ location: join(datadir, CHAIN_STORE_DIR), network, create: true });
  await store.open();
  await store.close();
  const marker = newMarker(network, deps.clock ?? systemClock, false);
  await writeDatadirMarker(datadir, marker);
  return marker;
}

function newMarker(network: NetworkName, clock: Clock, adopted: boolean): DatadirMarker {
  return {
    version: 1,
    network,
    genesisHash: genesisHashHex(network),
    schemaVersion: SCHEMA_VERSION,
    createdAt: new Date(clock.nowMs()).toISOString(),
    adopted,
  };
}

/**
 * Opens and closes the chain store without creating it. Returns the reason it is not usable
 * (missing or unreadable), or undefined; other refusals (in use, another network, newer schema)
 * are thrown as they are.
 */
async function probeChainStore(location: string, network: NetworkName): Promise<StoreError | undefined> {
  if (await isEmptyDir(location)) return new StoreError(StoreErrorCode.MISSING, "no files");
  // Without CURRENT LevelDB would find no database; stop before it even rewrites its LOG files.
  if (!existsSync(join(location, "CURRENT")))
    return new StoreError(StoreErrorCode.MISSING, "no CURRENT file");
  const store = new ChainStore({ location, network });
  try {
    await store.open();
  } catch (err) {
    if (
      err instanceof StoreError &&
      (err.code === StoreErrorCode.MISSING ||
        err.code === StoreErrorCode.UNREADABLE ||
        err.code === StoreErrorCode.CORRUPT)
    ) {
      return err;
    }
    throw err;
  }
  await store.close();
  return undefined;
}

function damaged(problem: StoreError, chainDir: string, context: string): DatadirError {
  const missing = problem.code === StoreErrorCode.MISSING;
  return new DatadirError(
    missing ? DatadirErrorCode.STORE_MISSING : DatadirErrorCode.STORE_UNREADABLE,
    `${missing ? `chain store missing at ${chainDir} (${problem.message})` : `chain store at ${chainDir} is unreadable (${problem.message})`} but ${context}; ` +
      `nothing was changed: restore ${chainDir} from a backup, or move it and datadir.json aside to start a new chain and sync it again`,
  );
}

/** Missing cache databases are created empty by their owners; unreadable ones are moved aside first. */
async function checkCacheStores(datadir: string, expected: boolean, deps: PrepareDatadirDeps): Promise<void> {
  for (const name of CACHE_STORE_DIRS) {
    const location = join(datadir, name);
    if (await isEmptyDir(location)) {
      if (expected)
        deps.log?.info({ store: name, location }, "cache database absent: starting with an empty one");
      continue;
    }
    const db = new ClassicLevel(location, { createIfMissing: false });
    try {
      await db.open();
      await db.close();
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      if (cause?.code === "LEVEL_LOCKED") continue; // in use: its owner reports that when it opens it
      const aside = `${location}.damaged-${(deps.clock ?? systemClock).nowMs()}`;
      await rename(location, aside);
      deps.log?.warn(
        { store: name, movedTo: aside, reason: cause?.message ?? (err as Error).message },
        "cache database unreadable: moved aside, starting with an empty one",
      );
    }
  }
}

async function isEmptyDir(path: string): Promise<boolean> {
  try {
    return (await readdir(path)).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw err;
  }
}
