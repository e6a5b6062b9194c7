import { QuarryError } from "../util/index.js";

export enum StoreErrorCode {
  /** written by a newer Quarry: refuse rather than misread it */
  SCHEMA_TOO_NEW = "STORE_SCHEMA_TOO_NEW",
  /** the data dir belongs to another network */
  NETWORK_MISMATCH = "STORE_NETWORK_MISMATCH",
  /** a record the index promises is missing or unreadable */
  CORRUPT = "STORE_CORRUPT",
  /** the stored state does not match the state root its tip commits to */
  STATE_MISMATCH = "STORE_STATE_MISMATCH",
  /** another process has the database open */
  LOCKED = "STORE_LOCKED",
  /** no database where one must exist (LevelDB's CURRENT file is gone, or the whole directory) */
  MISSING = "STORE_MISSING",
  /** LevelDB cannot open the database (a MANIFEST or table file is missing or damaged) */
  UNREADABLE = "STORE_UNREADABLE",
  /** LevelDB refused a write (ENOSPC, EIO, EROFS, ...): nothing of the batch was applied */
  WRITE_FAILED = "STORE_WRITE_FAILED",
  /** free space on the datadir's filesystem is below --min-free-space: writers stop before LevelDB fails */
  DISK_LOW = "STORE_DISK_LOW",
  /** the chain stopped writing after a write failure, a low disk or a corrupt record (see Chain.halted) */
  HALTED = "STORE_HALTED",
}

/** What an operator does about a corrupt record: said wherever one is found. */
export const CORRUPTION_ADVICE =
  "stop the node, run 'quarry verify' to find every damaged record, then 'quarry reindex' or restore a backup";

export class StoreError extends QuarryError<{ code: StoreErrorCode }> {
  constructor(code: StoreErrorCode, message: string) {
    super({ code }, message);
  }
}

export enum DatadirErrorCode {
  /** the datadir records a chain store (datadir.json) but it is gone */
  STORE_MISSING = "DATADIR_STORE_MISSING",
  /** the chain store is there but cannot be opened */
  STORE_UNREADABLE = "DATADIR_STORE_UNREADABLE",
  /** datadir.json cannot be read or does not hold a valid record */
  MARKER_INVALID = "DATADIR_MARKER_INVALID",
  /** datadir.json names another network, or another genesis block, than the one asked for */
  NETWORK_MISMATCH = "DATADIR_NETWORK_MISMATCH",
  /** the datadir holds no chain store and the command does not create one */
  NOT_INITIALISED = "DATADIR_NOT_INITIALISED",
  /** `quarry init` on a datadir that already holds a chain */
  EXISTS = "DATADIR_EXISTS",
}

/** A datadir that must not be used as it is; the message says what is wrong and what to do. */
export class DatadirError extends QuarryError<{ code: DatadirErrorCode }> {
  constructor(code: DatadirErrorCode, message: string) {
    super({ code }, message);
  }
}
