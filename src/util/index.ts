export {
  type AtomicWriteDeps,
  type AtomicWriteOptions,
  defaultAtomicWriteDeps,
  ensureDir,
  fsyncDir,
  TEMP_PREFIX,
  writeFileAtomic,
} from "./atomic-file.js";
export { type Clock, nowSeconds, systemClock } from "./clock.js";
export { type ErrorAction, QuarryError, ValidationError } from "./errors.js";
export { copyLevelDatabase, type LevelCopyReport } from "./level-copy.js";
export { createFileLogger, createLogger, type Logger, type LogLevel, silentLogger } from "./logger.js";
export { LruCache } from "./lru.js";
export { TokenBuckets } from "./token-buckets.js";
export { TypedEmitter } from "./typed-emitter.js";
export { WorkerPool, type WorkerSlot, workerScriptUrl } from "./worker-pool.js";
