/**
 * Memory settings for Quarry's three LevelDB databases (chain, mempool, peers). LevelDB's memory
 * per database: the block cache (`cacheSize`, filled by reads that miss the OS page cache's
 * copy), up to two write buffers (`writeBufferSize`: the memtable being filled and the one being
 * flushed), and per open table file its index block plus an mmap of the file whose touched pages
 * count in RSS (`maxOpenFiles` bounds the open tables). classic-level's defaults are 8 MiB,
 * 4 MiB and 1000 files: up to 16 MiB per database before table files, for each of three.
 *
 * The chain keeps LevelDB's defaults, now stated here: a 4 MiB block cache cost 3-4 % more CPU
 * importing 100-transfer blocks (tree nodes the store's cache evicted are read back through it),
 * and a smaller write buffer means more level-0 files and compactions during import. The mempool
 * and peer databases hold a few MB at most and are written in small batches: 1 MiB each, which
 * bounds what a transaction flood can make the mempool's LevelDB hold. Measurements:
 * docs/BENCHMARKS.md, "Memory".
 */
export interface LevelMemoryOptions {
  /** block cache, bytes */
  cacheSize: number;
  /** memtable size before it is written to a table file, bytes (two may be in memory) */
  writeBufferSize: number;
  /** open table files (each keeps its index in memory and the file mmapped) */
  maxOpenFiles: number;
}

export const CHAIN_DB_MEMORY: Readonly<LevelMemoryOptions> = Object.freeze({
  cacheSize: 8 * 1024 * 1024,
  writeBufferSize: 4 * 1024 * 1024,
  maxOpenFiles: 1000,
});

/** For the small databases: the mempool's and the peer book's. */
export const SMALL_DB_MEMORY: Readonly<LevelMemoryOptions> = Object.freeze({
  cacheSize: 1024 * 1024,
  writeBufferSize: 1024 * 1024,
  maxOpenFiles: 100,
});
