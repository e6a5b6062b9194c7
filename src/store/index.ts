export {
  type AddressCursor,
  AddressDirection,
  type AddressIndexEntry,
  addressIndexKey,
  decodeAddressIndexRecord,
  encodeAddressIndexValue,
  MAX_ADDRESS_INDEX_POSITION,
} from "./address-index.js";
export { type ChainCopyReport, ChainStore, type ChainStoreOptions, StoreBatch } from "./chain-store.js";
export {
  CACHE_STORE_DIRS,
  CHAIN_STORE_DIR,
  type DatadirState,
  initDatadir,
  type PrepareDatadirOptions,
  prepareDatadir,
} from "./datadir.js";
export {
  DATADIR_MARKER_FILE,
  type DatadirMarker,
  genesisHashHex,
  readDatadirMarker,
} from "./datadir-marker.js";
export { CORRUPTION_ADVICE, DatadirError, DatadirErrorCode, StoreError, StoreErrorCode } from "./errors.js";
export { keys, Prefix, SCHEMA_VERSION } from "./layout.js";
export { CHAIN_DB_MEMORY, type LevelMemoryOptions, SMALL_DB_MEMORY } from "./level-options.js";
export { type BlockIndexEntry, BlockStatus, decodeUndo, type UndoRecord } from "./records.js";
