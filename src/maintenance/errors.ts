import { QuarryError } from "../util/index.js";

export enum MaintenanceErrorCode {
  /** the backup target, or the datadir a restore writes into, already holds data */
  TARGET_NOT_EMPTY = "BACKUP_TARGET_NOT_EMPTY",
  /** the directory has no manifest: not a backup, or a backup that did not finish */
  NO_MANIFEST = "BACKUP_NO_MANIFEST",
  /** the manifest is not one this Quarry writes */
  BAD_MANIFEST = "BACKUP_BAD_MANIFEST",
  /** the backup belongs to another network (or another genesis) */
  NETWORK_MISMATCH = "BACKUP_NETWORK_MISMATCH",
  /** a file is missing, changed, or not listed in the manifest */
  CHECKSUM_MISMATCH = "BACKUP_CHECKSUM_MISMATCH",
  /** the restored chain does not open at the tip the manifest names */
  TIP_MISMATCH = "BACKUP_TIP_MISMATCH",
  /** the datadir has no chain store to reindex */
  NO_STORE = "REINDEX_NO_STORE",
  /** a running node's main chain changed under an export (a reorg): the rows would not be one chain */
  EXPORT_CHAIN_CHANGED = "EXPORT_CHAIN_CHANGED",
  /** an export file's bytes differ from its .sha256 sidecar */
  EXPORT_CHECKSUM_MISMATCH = "EXPORT_CHECKSUM_MISMATCH",
  /** an export file has no .sha256 sidecar, or one that is not a checksum line */
  EXPORT_NO_CHECKSUM = "EXPORT_NO_CHECKSUM",
}

export class MaintenanceError extends QuarryError<{ code: MaintenanceErrorCode }> {
  constructor(code: MaintenanceErrorCode, message: string) {
    super({ code }, message);
  }
}
