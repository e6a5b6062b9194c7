import { QuarryError } from "../util/errors.js";

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
}

export class StoreError extends QuarryError<{ code: StoreErrorCode }> {
  constructor(code: StoreErrorCode, message: string) {
    super({ code }, message);
  }
}
