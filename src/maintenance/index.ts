export {
  assertEmptyTarget,
  BACKED_UP_DATABASES,
  BACKED_UP_FILES,
  type BackupOptions,
  type BackupReport,
  type BackupSources,
  writeBackup,
} from "./backup.js";
export { MaintenanceError, MaintenanceErrorCode } from "./errors.js";
export {
  CHECKSUM_SUFFIX,
  checksumLine,
  EXPORT_COLUMNS,
  EXPORT_FORMATS,
  EXPORT_WHATS,
  type ExportAccount,
  type ExportBlock,
  type ExportFormat,
  type ExportReport,
  type ExportSource,
  type ExportWhat,
  localExportSource,
  verifyExportFile,
  writeExport,
} from "./export.js";
export { type BackupManifest, MANIFEST_FILE, type ManifestFile, readManifest } from "./manifest.js";
export {
  REINDEX_DIR,
  REINDEX_DONE_FILE,
  type ReindexDeps,
  type ReindexOptions,
  type ReindexReport,
  reindexChain,
} from "./reindex.js";
export { type RestoreOptions, type RestoreReport, restoreBackup, verifyBackup } from "./restore.js";
