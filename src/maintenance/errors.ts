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
}

export class MaintenanceError extends QuarryError<{ code: MaintenanceErrorCode }> {
  constructor(code: MaintenanceErrorCode, message: string) {
    super({ code }, message);
  }
}
