import { ClassicLevel } from "classic-level";

/** Entries copied per write batch (bounded so a copy of a large database stays in small memory). */
const COPY_BATCH_ENTRIES = 2_000;
/** Bytes of keys and values per write batch, whichever bound is reached first. */
const COPY_BATCH_BYTES = 4 * 1024 * 1024;

export interface LevelCopyReport {
  entries: number;
  /** bytes of keys and values copied */
  bytes: number;
}

/**
 * Copies every entry of `source` into a NEW LevelDB at `location` (refuses an existing one). One
 * iterator reads the whole source: LevelDB iterators read from the snapshot taken when they are
 * created, so the copy is the database as it was at that instant even while others keep writing
 * to it. `onEntry` sees every key and value in key order (e.g. to note the tip it copied).
 */
export async function copyLevelDatabase(
  source: ClassicLevel<Uint8Array, Uint8Array>,
  location: string,
  onEntry?: (key: Uint8Array, value: Uint8Array) => void,
): Promise<LevelCopyReport> {
  const target = new ClassicLevel<Uint8Array, Uint8Array>(location, {
    keyEncoding: "view",
    valueEncoding: "view",
    createIfMissing: true,
    errorIfExists: true,
  });
  await target.open();
  let entries = 0;
  let bytes = 0;
  try {
    let batch = target.batch();
    let batchBytes = 0;
    for await (const [key, value] of source.iterator()) {
      onEntry?.(key, value);
      batch.put(key, value);
      entries++;
      bytes += key.byteLength + value.byteLength;
      batchBytes += key.byteLength + value.byteLength;
      if (batch.length >= COPY_BATCH_ENTRIES || batchBytes >= COPY_BATCH_BYTES) {
        await batch.write();
        batch = target.batch();
        batchBytes = 0;
      }
    }
    await batch.write({ sync: true });
  } finally {
    await target.close();
  }
  return { entries, bytes };
}
