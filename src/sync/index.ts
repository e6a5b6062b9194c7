export {
  BATCH_DOMAIN_TAG,
  batchSigningMessage,
  type OpenedBatch,
  openBatch,
  signBatch,
  verifyBatchSignature,
} from "./batch.js";
export { Batch, type BatchAttempt, type BatchLimits, BatchStatus } from "./batch-state.js";
export {
  type BatchRequest,
  type BlocksByHashRequest,
  type BlocksByRangeRequest,
  decodeBlocksByHashRequest,
  decodeBlocksByRangeRequest,
  decodeHeadersRequest,
  decodeHeadersResponse,
  decodeLocatorRequest,
  decodeLocatorResponse,
  decodeResponse,
  decodeSignedBatch,
  decodeStatus,
  encodeBlocksByHashRequest,
  encodeBlocksByRangeRequest,
  encodeHeadersRequest,
  encodeHeadersResponse,
  encodeLocatorRequest,
  encodeLocatorResponse,
  encodeResponse,
  encodeSignedBatch,
  encodeStatus,
  type HeadersResponse,
  type LocatorRequest,
  type LocatorResponse,
  MAX_BATCH_BLOCKS,
  MAX_BATCH_BYTES,
  MAX_HEADERS,
  MAX_LOCATOR_HASHES,
  MAX_LOCATOR_LENGTH,
  MAX_REQUEST_FRAME,
  MAX_RESPONSE_FRAME,
  type Response,
  ResultCode,
  type SignedBatch,
  type StatusMessage,
} from "./codec.js";
export { isSyncError, SyncError, SyncErrorCode } from "./errors.js";
export type {
  BatchDownloadedEvent,
  BatchProcessedEvent,
  BatchRejectedEvent,
  PeerStatusEvent,
  SyncCompleteEvent,
  SyncEvents,
  SyncProgress,
} from "./events.js";
export { DEFAULT_SYNC_OPTIONS, resolveSyncOptions, type SyncOptions } from "./options.js";
export { type SyncProtocolIds, syncProtocolIds } from "./protocols/ids.js";
export {
  type RequestHandler,
  type RequestOptions,
  type ServeOptions,
  sendRequest,
  serveProtocol,
} from "./reqresp.js";
export { type SyncDeps, SyncManager } from "./sync-manager.js";
export type { PeerOffence, PeerScorer, SyncChain, SyncLibp2p } from "./types.js";
