import { readFileSync } from "node:fs";
import { join } from "node:path";
import { genesisBlock, getNetworkParams, isNetworkName, type NetworkName } from "../consensus/index.js";
import { blockHash, toHex } from "../primitives/index.js";
import { writeFileAtomic } from "../util/index.js";
import { DatadirError, DatadirErrorCode } from "./errors.js";

/** The file that records that a datadir holds a chain store, and of which chain. */
export const DATADIR_MARKER_FILE = "datadir.json";

const MARKER_VERSION = 1;

/**
 * `<datadir>/datadir.json`. Written once, after the chain store was created (or found healthy
 * in a datadir from before the marker existed: `adopted`). While it exists, a missing or
 * unreadable chain store is damage to report, never a reason to start a new chain.
 */
export interface DatadirMarker {
  version: typeof MARKER_VERSION;
  network: NetworkName;
  /** hex hash of the network's genesis block when the store was created */
  genesisHash: string;
  /** the chain store's schema version (store/layout.ts) when it was created */
  schemaVersion: number;
  /** ISO 8601 time the store was created, or adopted */
  createdAt: string;
  /** true: the store existed before this file; it was opened, found healthy and adopted */
  adopted: boolean;
}

export function markerPath(datadir: string): string {
  return join(datadir, DATADIR_MARKER_FILE);
}

export function genesisHashHex(network: NetworkName): string {
  return toHex(blockHash(genesisBlock(getNetworkParams(network))));
}

/** Reads the marker; undefined when the datadir has none. Synchronous: options resolution uses it. */
export function readDatadirMarker(datadir: string): DatadirMarker | undefined {
  const path = markerPath(datadir);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw invalid(path, (err as Error).message);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw invalid(path, `not JSON: ${(err as Error).message}`);
  }
  const m = parsed as Partial<DatadirMarker> | null;
  if (
    typeof m !== "object" ||
    m === null ||
    m.version !== MARKER_VERSION ||
    !isNetworkName(m.network) ||
    typeof m.genesisHash !== "string" ||
    !/^[0-9a-f]{64}$/.test(m.genesisHash) ||
    typeof m.schemaVersion !== "number" ||
    typeof m.createdAt !== "string" ||
    typeof m.adopted !== "boolean"
  ) {
    throw invalid(path, "fields missing or malformed");
  }
  return m as DatadirMarker;
}

/** Writes the marker atomically (temp file, fsync, rename, fsync of the directory). */
export async function writeDatadirMarker(datadir: string, marker: DatadirMarker): Promise<void> {
  await writeFileAtomic({
    path: markerPath(datadir),
    data: `${JSON.stringify(marker, null, 2)}\n`,
    mode: 0o644,
    overwrite: true,
  });
}

function invalid(path: string, why: string): DatadirError {
  return new DatadirError(
    DatadirErrorCode.MARKER_INVALID,
    `${path} is unreadable (${why}); restore it from a backup, or delete it to have a healthy chain store adopted again`,
  );
}
