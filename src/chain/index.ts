export { type AddressIndexMode, addressEntries } from "./address-index.js";
export {
  type AcceptResult,
  type AcceptStatus,
  Chain,
  type ChainDeps,
  type ChainMetrics,
  type ChainOptions,
  type ProcessBlockOptions,
} from "./chain.js";
export type { BlockOutcome } from "./connect-run.js";
export type {
  BlockConnectedEvent,
  BlockRef,
  ChainEvents,
  InvalidBlockEvent,
  OrphanEvent,
  ReorgEvent,
} from "./events.js";
export { DEFAULT_ORPHAN_POOL, OrphanPool, type OrphanPoolOptions } from "./orphan-pool.js";
export { SignatureVerifier } from "./signature-verifier.js";
export { type ReplayReport, replayMainChain, verifyTipState } from "./verify.js";
export { checkStoreRecords } from "./verify-store.js";
