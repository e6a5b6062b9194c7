import { ClassicLevel } from "classic-level";
import { type Account, decodeAccount, encodeAccount, isEmptyAccount } from "../consensus/account.js";
import type { TreeNodeReader } from "../consensus/state-tree.js";
import type { Block } from "../primitives/block.js";
import { decodeBlock, encodeBlock } from "../primitives/block.js";
import { toHex } from "../primitives/bytes.js";
import { StoreError, StoreErrorCode } from "./errors.js";
import { keys, Prefix, prefixRange, SCHEMA_VERSION } from "./layout.js";
import { TwoGenerationCache } from "./node-cache.js";
import {
  type BlockIndexEntry,
  decodeIndexEntry,
  decodeUndo,
  encodeIndexEntry,
  encodeUndo,
  type UndoRecord,
} from "./records.js";

export interface ChainStoreOptions {
  /** directory of the LevelDB database */
  location: string;
  network: string;
  /** fsync every batch (survives power loss; slower). kill -9 safety does not need it. */
  syncWrites?: boolean;
  /** state tree nodes kept in memory */
  treeNodeCacheSize?: number;
}

type Op = { type: "put"; key: Uint8Array; value: Uint8Array } | { type: "del"; key: Uint8Array };

/** Collects the writes of one block connect/disconnect; `ChainStore.write` applies them atomically. */
export class StoreBatch {
  readonly ops: Op[] = [];
  readonly treeNodes = new Map<string, Uint8Array>();
  /** account writes by hex address: the encoding, or undefined for a delete (see ChainStore.write) */
  readonly accounts = new Map<string, Uint8Array | undefined>();

  putIndex(entry: BlockIndexEntry): this {
    this.ops.push({ type: "put", key: keys.index(entry.hash), value: encodeIndexEntry(entry) });
    return this;
  }

  putBlock(hash: Uint8Array, block: Block): this {
    this.ops.push({ type: "put", key: keys.block(hash), value: encodeBlock(block) });
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
    if (isEmptyAccount(account)) {
      this.ops.push({ type: "del", key: keys.account(address) });
      this.accounts.set(toHex(address), undefined);
    } else {
      const value = encodeAccount(account);
      this.ops.push({ type: "put", key: keys.account(address), value });
      this.accounts.set(toHex(address), value);
    }
    return this;
  }

  putTreeNodes(nodes: Map<string, Uint8Array>): this {
    for (const [hashHex, node] of nodes) {
      this.ops.push({ type: "put", key: keys.treeNodeFromHex(hashHex), value: node });
      this.treeNodes.set(hashHex, node);
    }
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

  putTip(hash: Uint8Array): this {
    this.ops.push({ type: "put", key: keys.tip(), value: hash });
    return this;
  }
}

/**
 * The chain's LevelDB database (layout in layout.ts). It knows records and batches, not rules:
 * the chain decides what to write, this writes it atomically.
 *
 * Writes are applied one after another, in the order `write` was called, and every read issued
 * after a `write` call sees that batch even before LevelDB has it: accounts from the batches still
 * in flight, tree nodes from the verified cache, everything else by waiting for them. So a caller
 * may go on with the next block while the last batch is being written. A failed batch fails every
 * later write and read (the in-memory state above it can no longer be trusted).
 */
export class ChainStore implements TreeNodeReader {
  private readonly db: ClassicLevel<Uint8Array, Uint8Array>;
  /** the last batch written: resolves when it and all before it are in LevelDB */
  private tail: Promise<void> = Promise.resolve();
  /** the error of a failed batch: every later write and read fails with it */
  private failure: unknown;
  /** account values of batches not yet in LevelDB, by hex address, with the batch that wrote them */
  private readonly pendingAccounts = new Map<string, { value: Uint8Array | undefined; batch: StoreBatch }>();
  /** verified state tree nodes by hex hash (see getVerifiedNode) */
  private readonly treeCache: TwoGenerationCache<string, Uint8Array>;

  constructor(private readonly opts: ChainStoreOptions) {
    this.db = new ClassicLevel<Uint8Array, Uint8Array>(opts.location, {
      keyEncoding: "view",
      valueEncoding: "view",
    });
    this.treeCache = new TwoGenerationCache(opts.treeNodeCacheSize ?? 200_000);
  }

  /** Opens the database; refuses a newer schema or another network's data. */
  async open(): Promise<void> {
    try {
      await this.db.open();
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause?.message ?? "";
      if (/lock/i.test(cause)) {
        throw new StoreError(
          StoreErrorCode.LOCKED,
          `chain database ${this.opts.location} is in use by another process`,
        );
      }
      throw err;
    }
    const schema = await this.db.get(keys.meta("schema"));
    const network = await this.db.get(keys.meta("network"));
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
        `data dir holds network '${storedNetwork}', not '${this.opts.network}'; use another --datadir`,
      );
    }
  }

  /** Waits for the batches in flight (a failed one does not stop the close), then closes. */
  async close(): Promise<void> {
    await this.tail.catch(() => undefined);
    if (this.db.status === "open") await this.db.close();
  }

  /**
   * Writes a batch atomically, after every batch written before it; resolves once it is in LevelDB.
   * Reads started after this call already see it (see the class comment), so the promise need
   * not be awaited before the next read; it rejects if this or an earlier batch failed.
   */
  write(batch: StoreBatch): Promise<void> {
    for (const [hashHex, node] of batch.treeNodes) this.treeCache.set(hashHex, node);
    for (const [addressHex, value] of batch.accounts) this.pendingAccounts.set(addressHex, { value, batch });
    const written = this.tail.then(() => this.commit(batch));
    this.tail = written;
    // Nobody may be waiting for this one: a failure surfaces through the next write or read.
    written.catch((err: unknown) => {
      this.failure ??= err;
    });
    return written;
  }

  private async commit(batch: StoreBatch): Promise<void> {
    // A chained batch hands each key and value to LevelDB directly; the array form makes the
    // binding read three properties of every op object, ~20 % more main-thread time per op.
    const chained = this.db.batch();
    for (const op of batch.ops) {
      if (op.type === "put") chained.put(op.key, op.value);
      else chained.del(op.key);
    }
    await chained.write({ sync: this.opts.syncWrites ?? false });
    for (const addressHex of batch.accounts.keys()) {
      if (this.pendingAccounts.get(addressHex)?.batch === batch) this.pendingAccounts.delete(addressHex);
    }
  }

  /** Resolves when every batch written so far is in LevelDB; rejects if one failed. */
  private settled(): Promise<void> {
    return this.tail;
  }

  async *indexEntries(): AsyncGenerator<BlockIndexEntry> {
    await this.settled();
    for await (const value of this.db.values(prefixRange(Prefix.index))) yield decodeIndexEntry(value);
  }

  async getTip(): Promise<Uint8Array | undefined> {
    await this.settled();
    return this.db.get(keys.tip());
  }

  async getBlock(hash: Uint8Array): Promise<Block | undefined> {
    await this.settled();
    const bytes = await this.db.get(keys.block(hash));
    return bytes === undefined ? undefined : decodeBlock(bytes);
  }

  async getUndo(hash: Uint8Array): Promise<UndoRecord> {
    await this.settled();
    const bytes = await this.db.get(keys.undo(hash));
    if (bytes === undefined)
      throw new StoreError(StoreErrorCode.CORRUPT, `undo record of block ${toHex(hash)} is missing`);
    return decodeUndo(bytes);
  }

  /** The main-chain block that includes a transaction, if any. */
  async getTxBlock(txId: Uint8Array): Promise<Uint8Array | undefined> {
    await this.settled();
    return this.db.get(keys.txIndex(txId));
  }

  async getMainChainHash(height: number): Promise<Uint8Array | undefined> {
    await this.settled();
    return this.db.get(keys.height(height));
  }

  /** Main-chain hashes by height, from 0 up. */
  async mainChainHashes(): Promise<Uint8Array[]> {
    await this.settled();
    const hashes: Uint8Array[] = [];
    for await (const [key, value] of this.db.iterator(prefixRange(Prefix.height))) {
      const height = new DataView(key.buffer, key.byteOffset).getUint32(1);
      if (height !== hashes.length) {
        throw new StoreError(StoreErrorCode.CORRUPT, `main chain has a gap at height ${hashes.length}`);
      }
      hashes.push(value);
    }
    return hashes;
  }

  /**
   * Tip-state accounts by hex address; missing ones are absent from the map (empty). Accounts a
   * batch in flight writes come from that batch; no other account changes until it lands.
   */
  async getAccounts(addresses: readonly Uint8Array[]): Promise<Map<string, Account>> {
    if (this.failure !== undefined) throw this.failure;
    const out = new Map<string, Account>();
    const fromDisk: Uint8Array[] = [];
    for (const address of addresses) {
      const pending = this.pendingAccounts.get(toHex(address));
      if (pending === undefined) fromDisk.push(address);
      else if (pending.value !== undefined) out.set(toHex(address), decodeAccount(pending.value));
    }
    if (fromDisk.length === 0) return out;
    const values = await this.db.getMany(fromDisk.map((a) => keys.account(a)));
    values.forEach((value, i) => {
      if (value !== undefined) out.set(toHex(fromDisk[i]!), decodeAccount(value));
    });
    return out;
  }

  /** Every non-empty account at the tip, for integrity checks. */
  async *accounts(): AsyncGenerator<{ address: Uint8Array; account: Account }> {
    await this.settled();
    for await (const [key, value] of this.db.iterator(prefixRange(Prefix.account))) {
      yield { address: key.subarray(1), account: decodeAccount(value) };
    }
  }

  /** A tree node as stored on disk: untrusted, the state tree checks it against its hash. */
  async getNode(hash: Uint8Array): Promise<Uint8Array | undefined> {
    return this.db.get(keys.treeNode(hash));
  }

  /** A tree node from the cache; it holds only nodes written by `write` or verified by the tree. */
  getVerifiedNode(hash: Uint8Array): Uint8Array | undefined {
    return this.treeCache.get(toHex(hash));
  }

  nodeVerified(hash: Uint8Array, encoded: Uint8Array): void {
    this.treeCache.set(toHex(hash), encoded);
  }
}

function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}
