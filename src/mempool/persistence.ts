import { ClassicLevel } from "classic-level";
import {
  ByteReader,
  ByteWriter,
  decodeTransaction,
  encodeTransaction,
  type TransferTx,
  TxType,
} from "../primitives/index.js";
import { SMALL_DB_MEMORY } from "../store/index.js";
import { copyLevelDatabase, type LevelCopyReport } from "../util/index.js";
import { type Deferred, deferred } from "./deferred.js";

/**
 * Where accepted transactions survive a restart or a crash.
 *
 * Layout of the LevelDB at `<datadir>/mempool` (its own database, so the chain store's atomic
 * batches never wait on mempool churn):
 *
 *   "t" | txId (32) -> addedAtMs u64 | transfer encoding (145)
 *   "v"             -> u32 schema version (1)
 *
 * Writes are group-committed: every put/del queued while a batch is in flight goes into the next
 * batch, and each caller's promise resolves when the batch holding its write is in LevelDB. A
 * LevelDB write has reached the OS when its callback runs, so a kill -9 after `add` resolved loses
 * nothing (a power loss may lose the last writes unless `syncWrites`: the chain makes the same trade).
 */
export interface MempoolStore {
  open(): Promise<void>;
  close(): Promise<void>;
  /** every persisted transaction with the time it entered the pool */
  load(): Promise<PersistedTx[]>;
  /** resolves when the write is durable against a process crash */
  put(id: Uint8Array, tx: TransferTx, addedAtMs: number): Promise<void>;
  del(id: Uint8Array): Promise<void>;
}

export interface PersistedTx {
  tx: TransferTx;
  addedAtMs: number;
}

export interface LevelMempoolStoreOptions {
  /** directory of the LevelDB database, normally `<datadir>/mempool` */
  location: string;
  /** fsync every batch (survives power loss; slower) */
  syncWrites?: boolean;
}

const TX_PREFIX = 0x74; // "t"
const VERSION_KEY = Uint8Array.of(0x76); // "v"
const SCHEMA_VERSION = 1;

type Op = { type: "put"; key: Uint8Array; value: Uint8Array } | { type: "del"; key: Uint8Array };

function txKey(id: Uint8Array): Uint8Array {
  const key = new Uint8Array(33);
  key[0] = TX_PREFIX;
  key.set(id, 1);
  return key;
}

/** The mempool's LevelDB, with group commit. */
export class LevelMempoolStore implements MempoolStore {
  private readonly db: ClassicLevel<Uint8Array, Uint8Array>;
  private readonly syncWrites: boolean;
  private pending: Op[] = [];
  private pendingDone: Deferred<void> | undefined;
  private flushing: Promise<void> | undefined;

  constructor(opts: LevelMempoolStoreOptions) {
    this.db = new ClassicLevel<Uint8Array, Uint8Array>(opts.location, {
      keyEncoding: "view",
      valueEncoding: "view",
      ...SMALL_DB_MEMORY,
    });
    this.syncWrites = opts.syncWrites ?? false;
  }

  async open(): Promise<void> {
    if (this.db.status === "open") return;
    await this.db.open();
    const version = await this.db.get(VERSION_KEY);
    if (version === undefined) {
      await this.db.put(VERSION_KEY, new ByteWriter(4).u32(SCHEMA_VERSION).finish());
    } else if (new ByteReader(version, "mempool version").u32() !== SCHEMA_VERSION) {
      throw new RangeError(`mempool store schema is not version ${SCHEMA_VERSION}`);
    }
  }

  /** Copies the database as it is now (one snapshot) into a new LevelDB at `location`, for backups. */
  copyTo(location: string): Promise<LevelCopyReport> {
    return copyLevelDatabase(this.db, location);
  }

  async close(): Promise<void> {
    if (this.db.status !== "open") return;
    await this.drain();
    await this.db.close();
  }

  async load(): Promise<PersistedTx[]> {
    const out: PersistedTx[] = [];
    const bad: Uint8Array[] = [];
    const range = { gte: Uint8Array.of(TX_PREFIX), lt: Uint8Array.of(TX_PREFIX + 1) };
    for await (const [key, value] of this.db.iterator(range)) {
      try {
        const r = new ByteReader(value, "mempool entry");
        const addedAtMs = Number(r.u64());
        const tx = decodeTransaction(r.bytesN(r.remaining));
        if (tx.type !== TxType.Transfer) throw new RangeError("not a transfer");
        out.push({ tx, addedAtMs });
      } catch {
        // A corrupt entry is dropped rather than blocking the start: the pool is a cache.
        bad.push(key);
      }
    }
    if (bad.length > 0) await this.db.batch(bad.map((key) => ({ type: "del" as const, key })));
    return out;
  }

  put(id: Uint8Array, tx: TransferTx, addedAtMs: number): Promise<void> {
    const encoded = encodeTransaction(tx);
    const value = new ByteWriter(8 + encoded.length)
      .u64(BigInt(Math.max(0, Math.floor(addedAtMs))))
      .raw(encoded)
      .finish();
    return this.enqueue({ type: "put", key: txKey(id), value });
  }

  del(id: Uint8Array): Promise<void> {
    return this.enqueue({ type: "del", key: txKey(id) });
  }

  private enqueue(op: Op): Promise<void> {
    if (this.db.status !== "open") return Promise.reject(new Error("mempool store is not open"));
    this.pending.push(op);
    this.pendingDone ??= deferred<void>();
    const done = this.pendingDone.promise;
    this.flushing ??= this.flushLoop();
    return done;
  }

  /** Writes queued ops batch by batch until none are left; one batch in flight at a time. */
  private async flushLoop(): Promise<void> {
    // Let the callers of this tick queue their writes first, so they share one batch.
    await Promise.resolve();
    while (this.pending.length > 0) {
      const ops = this.pending;
      const done = this.pendingDone!;
      this.pending = [];
      this.pendingDone = undefined;
      try {
        await this.db.batch(ops, { sync: this.syncWrites });
        done.resolve();
      } catch (err) {
        done.reject(err);
      }
    }
    this.flushing = undefined;
  }

  private async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }
}
