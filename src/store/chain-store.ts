import { existsSync } from "node:fs";
import { join } from "node:path";
import { ClassicLevel, type IteratorOptions } from "classic-level";
import {
  type Account,
  decodeAccount,
  encodeAccount,
  isEmptyAccount,
  NEW_NODE_ENTRY_LENGTH,
  type NewTreeNodes,
  TREE_HASH_LENGTH,
  type TreeNodeReader,
} from "../consensus/index.js";
import { type DecodedBlock, decodeBlockEnvelope, equalBytes, toHex } from "../primitives/index.js";
import { copyLevelDatabase, type LevelCopyReport } from "../util/index.js";
import {
  ADDRESS_INDEX_MARKER,
  type AddressCursor,
  type AddressIndexEntry,
  addressIndexKey,
  addressIndexRange,
  decodeAddressIndexRecord,
  encodeAddressIndexValue,
} from "./address-index.js";
import { CORRUPTION_ADVICE, StoreError, StoreErrorCode } from "./errors.js";
import { keys, Prefix, prefixRange, SCHEMA_VERSION } from "./layout.js";
import { CHAIN_DB_MEMORY } from "./level-options.js";
import {
  type BlockIndexEntry,
  decodeIndexEntry,
  decodeUndo,
  encodeIndexEntry,
  encodeUndo,
  type UndoRecord,
} from "./records.js";
import { TreeNodeCache } from "./tree-node-cache.js";

export interface ChainStoreOptions {
  /** directory of the LevelDB database */
  location: string;
  network: string;
  /**
   * true: create the database if it does not exist (only for a new datadir: see prepareDatadir).
   * Default false: a missing database is refused (STORE_MISSING), never silently replaced by an
   * empty one, which would also make LevelDB delete the old table files.
   */
  create?: boolean;
  /** fsync every batch (survives power loss; slower). kill -9 safety does not need it. */
  syncWrites?: boolean;
  /**
   * Memory for verified state tree nodes kept in memory, in bytes (TREE_NODE_CACHE_ENTRY_BYTES per
   * node). Default DEFAULT_TREE_NODE_CACHE_BYTES.
   */
  treeNodeCacheBytes?: number;
}

/**
 * Default memory for the tree-node cache: 32 MiB, ~320k nodes at TREE_NODE_CACHE_ENTRY_BYTES (105 B)
 * each (it was ~125k nodes when they were Map entries of ~265 B). Importing 300 blocks of 100 transfers over 5,200 accounts costs the
 * same CPU as with 200k nodes (±3 %, noise); with 24 MiB it cost ~13 % more (nodes evicted between
 * two touches are read back from LevelDB and hashed). docs/BENCHMARKS.md, "Memory".
 */
export const DEFAULT_TREE_NODE_CACHE_BYTES = 32 * 1024 * 1024;

export interface ChainCopyReport extends LevelCopyReport {
  /** hex hash of the tip in the copy */
  tip: string;
  height: number;
}

type Op = { type: "put"; key: Uint8Array; value: Uint8Array } | { type: "del"; key: Uint8Array };

/** 'n' + node hash */
const TREE_NODE_KEY_LENGTH = 1 + TREE_HASH_LENGTH;

/**
 * V8 keeps a typed array of at most 64 bytes on its heap; handing one to a native binding makes
 * V8 move its bytes off the heap first (an allocation each: ~4x the cost of the put itself,
 * measured with classic-level's chained batch). Such arrays (fresh ones start at offset 0) are
 * copied into one buffer per write instead, and the binding gets views of it.
 */
const ON_HEAP_MAX_LENGTH = 64;
const mayBeOnHeap = (bytes: Uint8Array): boolean =>
  bytes.length <= ON_HEAP_MAX_LENGTH && bytes.byteOffset === 0;

/** Keys for a `getMany`, small ones copied into one off-heap buffer (see above). */
function offHeapKeys(list: Uint8Array[]): Uint8Array[] {
  let small = 0;
  for (const key of list) if (mayBeOnHeap(key)) small += key.length;
  const slab = new Uint8Array(Math.max(small, ON_HEAP_MAX_LENGTH + 1));
  let at = 0;
  return list.map((key) => {
    if (!mayBeOnHeap(key)) return key;
    const start = at;
    for (let i = 0; i < key.length; i++) slab[at++] = key[i]!;
    return slab.subarray(start, at);
  });
}

/** The batch's ops with small keys and values copied into one off-heap buffer (see above). */
function offHeapOps(ops: readonly Op[]): Op[] {
  let small = 0;
  for (const op of ops) {
    if (mayBeOnHeap(op.key)) small += op.key.length;
    if (op.type === "put" && mayBeOnHeap(op.value)) small += op.value.length;
  }
  // Longer than 64 bytes, so the buffer itself lives off the heap.
  const slab = new Uint8Array(Math.max(small, ON_HEAP_MAX_LENGTH + 1));
  let at = 0;
  const moved = (bytes: Uint8Array): Uint8Array => {
    if (!mayBeOnHeap(bytes)) return bytes;
    const start = at;
    for (let i = 0; i < bytes.length; i++) slab[at++] = bytes[i]!;
    return slab.subarray(start, at);
  };
  return ops.map((op) =>
    op.type === "put"
      ? { type: "put", key: moved(op.key), value: moved(op.value) }
      : { type: "del", key: moved(op.key) },
  );
}

/** Collects the writes of one block connect/disconnect; `ChainStore.write` applies them atomically. */
export class StoreBatch {
  readonly ops: Op[] = [];
  /** tree nodes of this batch (hash, encoding), for the cache once written */
  readonly treeNodes: NewTreeNodes[] = [];

  putIndex(entry: BlockIndexEntry): this {
    this.ops.push({ type: "put", key: keys.index(entry.hash), value: encodeIndexEntry(entry) });
    return this;
  }

  /** Stores a block's bytes exactly as they were received or mined (served as they are). */
  putBlock(block: DecodedBlock): this {
    this.ops.push({ type: "put", key: keys.block(block.hash), value: block.bytes });
    return this;
  }

  putUndo(hash: Uint8Array, undo: UndoRecord): this {
    this.ops.push({ type: "put", key: keys.undo(hash), value: encodeUndo(undo) });
    return this;
  }

  putMainChain(height: number, hash: Uint8Array): this {
    this.ops.push({ type: "put", key: keys.height(height), value: hash });
    return this;
  }

  delMainChain(height: number): this {
    this.ops.push({ type: "del", key: keys.height(height) });
    return this;
  }

  /** Writes an account; an empty account is deleted (absent = empty). */
  putAccount(address: Uint8Array, account: Account): this {
    if (isEmptyAccount(account)) this.ops.push({ type: "del", key: keys.account(address) });
    else this.ops.push({ type: "put", key: keys.account(address), value: encodeAccount(account) });
    return this;
  }

  putTreeNodes(nodes: NewTreeNodes): this {
    const entries = nodes.entries;
    // All keys in one buffer: views into it reach LevelDB's binding without a copy off V8's heap
    // each (see `ChainStore.write`).
    const keyBytes = new Uint8Array(Math.max(1, nodes.size) * TREE_NODE_KEY_LENGTH);
    for (let i = 0, at = 0; i < nodes.size; i++, at += NEW_NODE_ENTRY_LENGTH) {
      const key = i * TREE_NODE_KEY_LENGTH;
      keyBytes[key] = Prefix.treeNode;
      for (let j = 0; j < TREE_HASH_LENGTH; j++) keyBytes[key + 1 + j] = entries[at + j]!;
      this.ops.push({
        type: "put",
        key: keyBytes.subarray(key, key + TREE_NODE_KEY_LENGTH),
        value: entries.subarray(at + TREE_HASH_LENGTH, at + NEW_NODE_ENTRY_LENGTH),
      });
    }
    this.treeNodes.push(nodes);
    return this;
  }

  /** Main-chain transaction index: tx id -> including block. */
  putTxIndex(txIds: readonly Uint8Array[], blockHash: Uint8Array): this {
    for (const id of txIds) this.ops.push({ type: "put", key: keys.txIndex(id), value: blockHash });
    return this;
  }

  delTxIndex(txIds: readonly Uint8Array[]): this {
    for (const id of txIds) this.ops.push({ type: "del", key: keys.txIndex(id) });
    return this;
  }

  /** Address index entries of a connected block (address-index.ts). */
  putAddressEntries(entries: readonly AddressIndexEntry[]): this {
    for (const e of entries)
      this.ops.push({
        type: "put",
        key: addressIndexKey(e.address, e.height, e.position),
        value: encodeAddressIndexValue(e),
      });
    return this;
  }

  delAddressEntries(entries: readonly AddressIndexEntry[]): this {
    for (const e of entries)
      this.ops.push({ type: "del", key: addressIndexKey(e.address, e.height, e.position) });
    return this;
  }

  /** 'M' "addressIndex": the address index is complete for the main chain. */
  putAddressIndexMarker(): this {
    this.ops.push({ type: "put", key: keys.meta(ADDRESS_INDEX_MARKER), value: u32(1) });
    return this;
  }

  putTip(hash: Uint8Array): this {
    this.ops.push({ type: "put", key: keys.tip(), value: hash });
    return this;
  }
}

/**
 * The chain's LevelDB database (layout in layout.ts). It knows records and batches, not rules:
 * the chain decides what to write, this writes it atomically.
 */
export class ChainStore implements TreeNodeReader {
  private readonly db: ClassicLevel<Uint8Array, Uint8Array>;
  /** verified state tree nodes by hash (see getVerifiedNode) */
  private readonly treeCache: TreeNodeCache;

  constructor(private readonly opts: ChainStoreOptions) {
    this.db = new ClassicLevel<Uint8Array, Uint8Array>(opts.location, {
      keyEncoding: "view",
      valueEncoding: "view",
      // Here, not in open(): classic-level opens on its own a tick after construction.
      createIfMissing: opts.create === true,
      ...CHAIN_DB_MEMORY,
    });
    this.treeCache = new TreeNodeCache(opts.treeNodeCacheBytes ?? DEFAULT_TREE_NODE_CACHE_BYTES);
  }

  /** Opens the database; refuses a missing or unreadable one, a newer schema, another network's data. */
  async open(): Promise<void> {
    try {
      await this.db.open();
    } catch (err) {
      throw openError(this.opts.location, err);
    }
    const schema = await this.db.get(keys.meta("schema"));
    const network = await this.db.get(keys.meta("network"));
    if (schema === undefined && this.opts.create !== true) {
      await this.db.close();
      throw new StoreError(
        StoreErrorCode.CORRUPT,
        `chain database ${this.opts.location} has no schema record: it is damaged or not a Quarry chain store`,
      );
    }
    if (schema === undefined) {
      await this.db.batch(
        [
          { type: "put", key: keys.meta("schema"), value: u32(SCHEMA_VERSION) },
          { type: "put", key: keys.meta("network"), value: new TextEncoder().encode(this.opts.network) },
        ],
        { sync: true },
      );
      return;
    }
    const version = new DataView(schema.buffer, schema.byteOffset).getUint32(0);
    if (version > SCHEMA_VERSION) {
      await this.db.close();
      throw new StoreError(
        StoreErrorCode.SCHEMA_TOO_NEW,
        `chain database schema ${version} is newer than this Quarry understands (${SCHEMA_VERSION}); upgrade Quarry`,
      );
    }
    const storedNetwork = network ? new TextDecoder().decode(network) : "";
    if (storedNetwork !== this.opts.network) {
      await this.db.close();
      throw new StoreError(
        StoreErrorCode.NETWORK_MISMATCH,
        `data dir holds network '${storedNetwork}', not '${this.opts.network}'; use --network ${storedNetwork} or another --datadir`,
      );
    }
  }

  async close(): Promise<void> {
    if (this.db.status === "open") await this.db.close();
  }

  /**
   * Closes and opens the database again. LevelDB keeps a failed background write (a compaction
   * that hit ENOSPC) as an error every later write returns, until the database is reopened.
   */
  async reopen(): Promise<void> {
    await this.close();
    try {
      await this.db.open();
    } catch (err) {
      throw openError(this.opts.location, err);
    }
  }

  /** One small durable write ('M' "probe"): throws STORE_WRITE_FAILED while the disk refuses writes. */
  async probeWrite(nowSeconds: number): Promise<void> {
    try {
      await this.db.put(keys.meta("probe"), u32(nowSeconds), { sync: true });
    } catch (err) {
      throw writeError(this.opts.location, err);
    }
  }

  async write(batch: StoreBatch): Promise<void> {
    // A chained batch hands each key and value to LevelDB directly; the array form makes the
    // binding read three properties of every op object, ~20 % more main-thread time per op.
    const chained = this.db.batch();
    for (const op of offHeapOps(batch.ops)) {
      if (op.type === "put") chained.put(op.key, op.value);
      else chained.del(op.key);
    }
    try {
      await chained.write({ sync: this.opts.syncWrites ?? false });
    } catch (err) {
      throw writeError(this.opts.location, err);
    }
    // Only once the batch is on disk: the cache never holds a node the store lacks.
    for (const nodes of batch.treeNodes) this.treeCache.setEntries(nodes.entries, nodes.size);
  }

  async *indexEntries(): AsyncGenerator<BlockIndexEntry> {
    for await (const [key, value] of this.records(Prefix.index)) {
      let entry: BlockIndexEntry;
      try {
        entry = decodeIndexEntry(value);
      } catch (err) {
        throw corruptRecord("block index entry", key.subarray(1), (err as Error).message);
      }
      if (!equalBytes(entry.hash, key.subarray(1)))
        throw corruptRecord("block index entry", key.subarray(1), `its header hashes to ${entry.hashHex}`);
      yield entry;
    }
  }

  /**
   * Every record under one key prefix, in key order, as stored (for `quarry verify`). LevelDB's
   * corruption error becomes STORE_CORRUPT.
   */
  records(prefix: number): AsyncGenerator<[Uint8Array, Uint8Array]> {
    return this.scan(prefixRange(prefix), `records under prefix '${String.fromCharCode(prefix)}'`);
  }

  /**
   * The records of one iterator range as stored; a read LevelDB reports as corrupt becomes
   * STORE_CORRUPT naming `what` (and `id`). The iterator is closed however the caller stops.
   */
  private async *scan(
    range: IteratorOptions<Uint8Array, Uint8Array>,
    what: string,
    id?: Uint8Array,
  ): AsyncGenerator<[Uint8Array, Uint8Array]> {
    const it = this.db.iterator(range);
    try {
      for (;;) {
        let next: [Uint8Array, Uint8Array] | undefined;
        try {
          next = await it.next();
        } catch (err) {
          throw readError(what, id, err);
        }
        if (next === undefined) return;
        yield next;
      }
    } finally {
      await it.close();
    }
  }

  /**
   * Every stored block body as raw bytes with the hash its key names, in key order; for repair,
   * which decodes each itself and counts the unreadable ones.
   */
  async *blockEntries(): AsyncGenerator<{ hash: Uint8Array; bytes: Uint8Array }> {
    for await (const [key, value] of this.db.iterator(prefixRange(Prefix.block))) {
      yield { hash: key.subarray(1), bytes: value };
    }
  }

  /**
   * Copies the whole database into a new LevelDB at `location`, from one snapshot (consistent
   * while blocks keep connecting), and says which tip and height the copy holds.
   */
  async copyTo(location: string): Promise<ChainCopyReport> {
    let tip: Uint8Array | undefined;
    let lastHeight = -1;
    let lastHeightHash: Uint8Array | undefined;
    const copied = await copyLevelDatabase(this.db, location, (key, value) => {
      if (key[0] === Prefix.height && key.byteLength === 5) {
        lastHeight = new DataView(key.buffer, key.byteOffset).getUint32(1);
        lastHeightHash = value;
      } else if (key[0] === Prefix.tip && key.byteLength === 1) tip = value;
    });
    // 'h' keys sort before 't': the highest main-chain height must name the tip the copy holds.
    if (!tip || !lastHeightHash || toHex(tip) !== toHex(lastHeightHash))
      throw new StoreError(
        StoreErrorCode.CORRUPT,
        "the copied store's tip is not its highest main-chain block",
      );
    return { ...copied, tip: toHex(tip), height: lastHeight };
  }

  /** Whether the address index is complete for the main chain (its marker is stored). */
  async hasAddressIndex(): Promise<boolean> {
    return (await this.read(keys.meta(ADDRESS_INDEX_MARKER), "meta record", new Uint8Array())) !== undefined;
  }

  /**
   * Deletes the address index: its marker first (durably), so an interrupted delete leaves an
   * index marked absent, which a later start rebuilds from scratch.
   */
  async clearAddressIndex(): Promise<void> {
    try {
      await this.db.del(keys.meta(ADDRESS_INDEX_MARKER), { sync: true });
      await this.db.clear(prefixRange(Prefix.addressIndex));
    } catch (err) {
      throw writeError(this.opts.location, err);
    }
  }

  /** Up to `limit` entries of one address's history after (before, with `reverse`) `cursor`. */
  async addressEntries(
    address: Uint8Array,
    opts: { cursor?: AddressCursor | undefined; reverse: boolean; limit: number },
  ): Promise<AddressIndexEntry[]> {
    const out: AddressIndexEntry[] = [];
    const range = {
      ...addressIndexRange(address, opts.cursor, opts.reverse),
      reverse: opts.reverse,
      limit: opts.limit,
    };
    for await (const [key, value] of this.scan(range, "address index entries", address)) {
      try {
        out.push(decodeAddressIndexRecord(key, value));
      } catch (err) {
        throw corruptRecord("address index entry", key.subarray(1), (err as Error).message);
      }
    }
    return out;
  }

  async getTip(): Promise<Uint8Array | undefined> {
    return this.db.get(keys.tip());
  }

  /** A stored block decoded, with its bytes, id and tx ids computed from those bytes. */
  async getBlock(hash: Uint8Array): Promise<DecodedBlock | undefined> {
    const bytes = await this.read(keys.block(hash), "block", hash);
    if (bytes === undefined) return undefined;
    try {
      return decodeBlockEnvelope(bytes);
    } catch (err) {
      throw corruptRecord("block", hash, (err as Error).message);
    }
  }

  /** A stored block's bytes as they are, for peers and packages. */
  async getBlockBytes(hash: Uint8Array): Promise<Uint8Array | undefined> {
    return this.read(keys.block(hash), "block", hash);
  }

  async getUndo(hash: Uint8Array): Promise<UndoRecord> {
    const bytes = await this.read(keys.undo(hash), "undo record", hash);
    if (bytes === undefined) throw corruptRecord("undo record", hash, "missing");
    try {
      return decodeUndo(bytes);
    } catch (err) {
      throw corruptRecord("undo record", hash, (err as Error).message);
    }
  }

  /** The main-chain block that includes a transaction, if any. */
  async getTxBlock(txId: Uint8Array): Promise<Uint8Array | undefined> {
    const hash = await this.read(keys.txIndex(txId), "tx index entry", txId);
    if (hash !== undefined && hash.byteLength !== 32)
      throw corruptRecord("tx index entry", txId, "not a hash");
    return hash;
  }

  /** The including block of each transaction (undefined where none), by point reads as the API does. */
  async getTxBlocks(txIds: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    try {
      return await this.db.getMany(offHeapKeys(txIds.map((id) => keys.txIndex(id))));
    } catch (err) {
      throw readError("tx index entries", undefined, err);
    }
  }

  async getMainChainHash(height: number): Promise<Uint8Array | undefined> {
    return this.db.get(keys.height(height));
  }

  /** Main-chain hashes by height, from 0 up. */
  async mainChainHashes(): Promise<Uint8Array[]> {
    const hashes: Uint8Array[] = [];
    for await (const [key, value] of this.records(Prefix.height)) {
      const height = new DataView(key.buffer, key.byteOffset).getUint32(1);
      if (height !== hashes.length) {
        throw new StoreError(StoreErrorCode.CORRUPT, `main chain has a gap at height ${hashes.length}`);
      }
      hashes.push(value);
    }
    return hashes;
  }

  /** Tip-state accounts by hex address; missing ones are absent from the map (empty). */
  async getAccounts(addresses: readonly Uint8Array[]): Promise<Map<string, Account>> {
    let values: (Uint8Array | undefined)[];
    try {
      values = await this.db.getMany(offHeapKeys(addresses.map((a) => keys.account(a))));
    } catch (err) {
      throw readError("accounts", undefined, err);
    }
    const out = new Map<string, Account>();
    values.forEach((value, i) => {
      if (value !== undefined) out.set(toHex(addresses[i]!), decodeAccount(value));
    });
    return out;
  }

  /** Every non-empty account at the tip, for integrity checks. */
  async *accounts(): AsyncGenerator<{ address: Uint8Array; account: Account }> {
    for await (const [key, value] of this.records(Prefix.account)) {
      let account: Account;
      try {
        account = decodeAccount(value);
      } catch (err) {
        throw corruptRecord("account", key.subarray(1), (err as Error).message);
      }
      yield { address: key.subarray(1), account };
    }
  }

  /** A tree node as stored on disk: untrusted, the state tree checks it against its hash. */
  async getNode(hash: Uint8Array): Promise<Uint8Array | undefined> {
    return this.read(keys.treeNode(hash), "state tree node", hash);
  }

  /** A tree node from the cache; it holds only nodes written by `write` or verified by the tree. */
  getVerifiedNode(hash: Uint8Array): Uint8Array | undefined {
    return this.treeCache.get(hash);
  }

  nodeVerified(hash: Uint8Array, encoded: Uint8Array): void {
    this.treeCache.set(hash, encoded);
  }

  /** One record; LevelDB's corruption error becomes STORE_CORRUPT naming the record. */
  private async read(key: Uint8Array, what: string, id: Uint8Array): Promise<Uint8Array | undefined> {
    try {
      return await this.db.get(key);
    } catch (err) {
      throw readError(what, id, err);
    }
  }

  /** Bytes the tree-node cache holds by its estimate (at most treeNodeCacheBytes). */
  get treeCacheBytes(): number {
    return this.treeCache.weight;
  }
}

/** Classic-level's open failure as a StoreError: in use, missing, or unreadable (with LevelDB's reason). */
function openError(location: string, err: unknown): StoreError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const reason = cause?.message ?? (err as Error).message;
  // by code: a message test for "lock" also matched paths such as /srv/blockchain/…
  if (cause?.code === "LEVEL_LOCKED") {
    return new StoreError(StoreErrorCode.LOCKED, `chain database ${location} is in use by another process`);
  }
  // CURRENT names the live MANIFEST; without it LevelDB sees no database (create_if_missing is off)
  if (!existsSync(join(location, "CURRENT"))) {
    return new StoreError(
      StoreErrorCode.MISSING,
      `chain database ${location} does not exist (no CURRENT file)`,
    );
  }
  return new StoreError(StoreErrorCode.UNREADABLE, `chain database ${location} cannot be opened: ${reason}`);
}

/** LevelDB's error code and message, wherever abstract-level put them. */
function levelReason(err: unknown): { code: string | undefined; message: string } {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  return { code: e.cause?.code ?? e.code, message: e.cause?.message ?? e.message ?? String(err) };
}

/** The operating system's reason in LevelDB's message, as an errno name. */
export function osErrorCode(message: string): string | undefined {
  if (/no space left/i.test(message)) return "ENOSPC";
  if (/read-only file system/i.test(message)) return "EROFS";
  if (/input\/output error/i.test(message)) return "EIO";
  if (/quota exceeded/i.test(message)) return "EDQUOT";
  return undefined;
}

/** A refused batch: STORE_WRITE_FAILED with LevelDB's reason and the errno it names. */
function writeError(location: string, err: unknown): StoreError {
  const { message } = levelReason(err);
  const os = osErrorCode(message);
  return new StoreError(
    StoreErrorCode.WRITE_FAILED,
    `chain database ${location} refused a write${os ? ` (${os})` : ""}: ${message}`,
  );
}

function corruptRecord(what: string, id: Uint8Array, reason: string): StoreError {
  return new StoreError(
    StoreErrorCode.CORRUPT,
    `${what} ${toHex(id)} is corrupt (${reason}); ${CORRUPTION_ADVICE}`,
  );
}

/** A failed read: LevelDB's corruption error is STORE_CORRUPT; anything else is passed on. */
function readError(what: string, id: Uint8Array | undefined, err: unknown): unknown {
  const { code, message } = levelReason(err);
  if (code !== "LEVEL_CORRUPTION") return err;
  return id
    ? corruptRecord(what, id, message)
    : new StoreError(StoreErrorCode.CORRUPT, `${what}: ${message}; ${CORRUPTION_ADVICE}`);
}

function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}
