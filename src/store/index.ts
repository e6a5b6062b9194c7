export { ChainStore, type ChainStoreOptions, StoreBatch } from "./chain-store.js";
export { StoreError, StoreErrorCode } from "./errors.js";
export { keys, Prefix, SCHEMA_VERSION } from "./layout.js";
export { CHAIN_DB_MEMORY, type LevelMemoryOptions, SMALL_DB_MEMORY } from "./level-options.js";
export { type BlockIndexEntry, BlockStatus, type UndoRecord } from "./records.js";
