export type { AccountReader } from "./account-loader.js";
export { MempoolError, MempoolErrorCode, type MempoolErrorType } from "./errors.js";
export type {
  MempoolEvents,
  RemovalReason,
  TxAddedEvent,
  TxRemovedEvent,
} from "./events.js";
export {
  type AddResult,
  Mempool,
  type MempoolDeps,
  type MempoolEntryInfo,
  type MempoolInfo,
  type ReorgReturnResult,
  type TransferSignatureVerifier,
} from "./mempool.js";
export { DEFAULT_MEMPOOL_OPTIONS, type MempoolOptions, resolveMempoolOptions } from "./options.js";
export {
  LevelMempoolStore,
  type LevelMempoolStoreOptions,
  type MempoolStore,
  type PersistedTx,
} from "./persistence.js";
