export { prepareBlock, type TemplateChain } from "./block-template.js";
export { MinerError, MinerErrorCode } from "./errors.js";
export type {
  ExhaustedMessage,
  FoundMessage,
  FromWorkerMessage,
  JobMessage,
  ProgressMessage,
  StopMessage,
  ToWorkerMessage,
} from "./messages.js";
export { defaultMinerPoolOptions, type MinerPoolOptions } from "./options.js";
export { MinerPool, type MinerPoolDeps, type MinerPoolEvents, minerWorkerUrl } from "./pool.js";
export { createScanJob, NONCE_LOW_SPACE, type ScanJob, type SearchResult, searchNonce } from "./scanner.js";
export { headerDigestFromMidstate, headerMidstate, SHA256_IV, sha256 } from "./sha256-midstate.js";
export { loadSimdKernel, MINER_KERNELS, type MinerKernel, simdKernelSupported } from "./wasm-kernel.js";
