import type { NetworkParams } from "../consensus/index.js";
import {
  type Account,
  applyTransfer,
  checkTransferStateless,
  EMPTY_ACCOUNT,
  TxError,
  TxErrorCode,
} from "../consensus/index.js";
import type { Block } from "../primitives/index.js";
import {
  senderOf,
  type Transaction,
  type TransferTx,
  TxType,
  toHex,
  transactionId,
  transactionSize,
} from "../primitives/index.js";
import { type Clock, type Logger, silentLogger, systemClock, TypedEmitter } from "../util/index.js";
import { AccountLoader, type AccountReader } from "./account-loader.js";
import {
  compareFeeRate,
  entryRate,
  nextExecutableNonce,
  type PoolEntry,
  type SenderTxs,
  sortedNonces,
} from "./entry.js";
import { MempoolError, MempoolErrorCode } from "./errors.js";
import type { MempoolEvents, RemovalReason } from "./events.js";
import { Heap } from "./heap.js";
import { type MempoolOptions, resolveMempoolOptions } from "./options.js";
import type { MempoolStore } from "./persistence.js";
import { selectTransfers } from "./select.js";

export interface MempoolDeps {
  params: NetworkParams;
  /** accounts at the chain tip; the Chain satisfies it */
  state: AccountReader;
  /** persistence; without it the pool lives in memory only. The mempool opens and closes it. */
  store?: MempoolStore;
  /**
   * The node's signature verifier, shared with the chain: a transfer verified at admission is in
   * its cache, so the block that includes it does not verify it again. Without it, inline checks.
   */
  signatures?: TransferSignatureVerifier;
  /** wall clock (default systemClock); expiry reads it */
  clock?: Clock;
  log?: Logger;
}

/** The part of the chain's SignatureVerifier the mempool uses. */
export interface TransferSignatureVerifier {
  /** true when the transfer's signature is valid; a valid one is cached under `txIdHex` */
  verifyTransfer(tx: TransferTx, txIdHex: string): boolean;
}

/** What `add` did with an accepted transaction. */
export interface AddResult {
  id: string;
  /** contiguous from the sender's account nonce (a template may take it now) or waiting for a gap */
  executable: boolean;
  /** id of the transaction it replaced (same sender and nonce, lower fee) */
  replaced?: string;
  /** ids of transactions evicted to make room */
  evicted: string[];
}

/** Summary for the API. */
export interface MempoolInfo {
  size: number;
  bytes: number;
  executable: number;
  waiting: number;
  senders: number;
  maxTxs: number;
  maxBytes: number;
  minFeePerKb: string;
}

/** One pooled transaction as `describe` reports it. */
export interface MempoolEntryInfo {
  tx: TransferTx;
  /** encoded bytes */
  size: number;
  fee: bigint;
  /** wall-clock ms when it entered the pool */
  addedAtMs: number;
  /** contiguous from the sender's account nonce: a block template may take it now */
  executable: boolean;
}

/** Result of returning a reorg's transactions to the pool. */
export interface ReorgReturnResult {
  readded: number;
  dropped: number;
}

type FeeRate = { fee: bigint; size: number };

/** A sender's tail and the rate of its cheapest transaction, valid while `stamp` is current. */
interface EvictionCandidate {
  sender: string;
  stamp: number;
  entry: PoolEntry;
  rate: FeeRate;
}

function evictsFirst(a: EvictionCandidate, b: EvictionCandidate): boolean {
  const c = compareFeeRate(a.rate, b.rate);
  return c !== 0 ? c < 0 : a.entry.seq > b.entry.seq;
}

interface AdmitOptions {
  fromPeer?: string;
  addedAtMs: number;
  persist: boolean;
}

/**
 * The transaction pool: transfers validated against the chain tip, waiting for a block.
 *
 * Invariants: every pooled transfer passed the stateless rules; per sender, nonces are ≥ the tip
 * account nonce, at most `maxTxsPerSender`, and the costs of all of them together are ≤ the tip
 * balance; count and bytes stay within the limits. Tip changes arrive through `onBlockConnected`
 * and `onReorg` (the composition root calls them); the state-dependent part of an `add` is checked
 * against accounts read after the latest tip change it knows of, and re-read when one arrives while
 * it waited. See docs/MEMPOOL.md.
 */
export class Mempool extends TypedEmitter<MempoolEvents> {
  private readonly opts: MempoolOptions;
  private readonly params: NetworkParams;
  private readonly store: MempoolStore | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly state: AccountReader;
  private readonly signatures: TransferSignatureVerifier | undefined;
  private readonly loader: AccountLoader;
  private readonly byId = new Map<string, PoolEntry>();
  private readonly senders = new Map<string, SenderTxs>();
  /** senders whose tip account changed and whose transactions need checking again */
  private readonly dirty = new Set<string>();
  private totalBytes = 0;
  private seq = 0;
  private stamps = 1;
  private evictionHeap = new Heap<EvictionCandidate>(evictsFirst);
  /** bumped on every tip change: an account read at an older version is stale */
  private version = 0;
  /** tip-change work (revalidation, reorg returns), one job at a time */
  private work: Promise<void> = Promise.resolve();
  private started = false;
  private starting: Promise<void> | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(opts: Partial<MempoolOptions>, deps: MempoolDeps) {
    super();
    this.opts = resolveMempoolOptions(opts);
    this.params = deps.params;
    this.store = deps.store;
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log ?? silentLogger;
    this.state = deps.state;
    this.signatures = deps.signatures;
    this.loader = new AccountLoader(deps.state);
  }

  /** Opens the store and loads its transactions, checking each again against the current tip. */
  start(): Promise<void> {
    if (this.started) return Promise.resolve();
    this.starting ??= this.doStart().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async doStart(): Promise<void> {
    if (this.store) {
      await this.store.open();
      try {
        await this.loadPersisted(this.store);
      } catch (err) {
        await this.store.close();
        throw err;
      }
    }
    if (this.opts.expirySweepIntervalMs > 0) {
      this.sweepTimer = setInterval(() => this.expire(), this.opts.expirySweepIntervalMs);
      this.sweepTimer.unref();
    }
    this.started = true;
  }

  /** Waits for pending work and writes, closes the store and empties the in-memory pool. */
  async stop(): Promise<void> {
    if (this.starting) await this.starting.catch(() => {});
    if (!this.started) return;
    this.started = false;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    await this.work.catch(() => {});
    await this.store?.close();
    // The store holds the pool across restarts; the next start() loads it again.
    this.byId.clear();
    this.senders.clear();
    this.dirty.clear();
    this.totalBytes = 0;
    this.evictionHeap = new Heap<EvictionCandidate>(evictsFirst);
  }

  get size(): number {
    return this.byId.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  has(txIdHex: string): boolean {
    return this.byId.has(txIdHex);
  }

  get(txIdHex: string): TransferTx | undefined {
    return this.byId.get(txIdHex)?.tx;
  }

  /** Every pooled transfer, oldest first. */
  all(): TransferTx[] {
    return [...this.byId.values()].map((e) => e.tx);
  }

  /** Every pooled transaction id (hex), oldest first: the inventory a peer asks for. */
  ids(): string[] {
    return [...this.byId.keys()];
  }

  /** One pooled transaction with what the pool knows of it (getMempoolEntry), if pooled. */
  describe(txIdHex: string): MempoolEntryInfo | undefined {
    const e = this.byId.get(txIdHex);
    if (!e) return undefined;
    const sender = this.senders.get(e.sender);
    const executable = sender !== undefined && e.tx.nonce < nextExecutableNonce(sender);
    return { tx: e.tx, size: e.size, fee: e.tx.fee, addedAtMs: e.addedAtMs, executable };
  }

  /** The minimum relay fee rate, base units per 1000 bytes. */
  get minFeePerKb(): bigint {
    return this.opts.minFeePerKb;
  }

  info(): MempoolInfo {
    let executable = 0;
    for (const s of this.senders.values()) executable += Number(nextExecutableNonce(s) - s.account.nonce);
    return {
      size: this.byId.size,
      bytes: this.totalBytes,
      executable,
      waiting: this.byId.size - executable,
      senders: this.senders.size,
      maxTxs: this.opts.maxTxs,
      maxBytes: this.opts.maxBytes,
      minFeePerKb: this.opts.minFeePerKb.toString(),
    };
  }

  /** Resolves when the tip-change work queued so far (revalidation, reorg returns) is done. */
  settled(): Promise<void> {
    return this.work;
  }

  /**
   * Validates a transfer against the tip and the pool and admits it; resolves once it is persisted.
   * Throws `MempoolError` (policy, action `ignore`) or `TxError`
   * (consensus rules: signature, network, overflow with action `reject`; funds with `ignore`).
   * `fromPeer` names the relaying peer (carried in `txAdded`); peers' relay rates are limited by
   * the network layer before a transaction gets here.
   */
  async add(tx: Transaction, fromPeer?: string): Promise<AddResult> {
    if (typeof tx !== "object" || tx === null) throw new TypeError("tx must be a transaction object");
    if (fromPeer !== undefined && typeof fromPeer !== "string")
      throw new TypeError("fromPeer must be a string");
    if (!this.started)
      throw new MempoolError({ code: MempoolErrorCode.NOT_STARTED }, "mempool is not started");
    if (tx.type !== TxType.Transfer) {
      throw new TxError(TxErrorCode.COINBASE_OUTSIDE_BLOCK, "only transfers enter the mempool");
    }
    const entry = this.makeEntry(tx, this.clock.nowMs());
    if (this.byId.has(entry.id))
      throw new MempoolError({ code: MempoolErrorCode.DUPLICATE }, `${entry.id} is pooled`);
    this.checkMinFee(entry);
    this.checkStateless(entry);
    return this.admitAtTip(entry, {
      addedAtMs: entry.addedAtMs,
      persist: true,
      ...(fromPeer ? { fromPeer } : {}),
    });
  }

  /** Transfers for a block template: by fee rate, nonce order kept, executable ones only. */
  selectForBlock(maxTxs: number, maxBytes: number): TransferTx[] {
    if (!Number.isInteger(maxTxs) || maxTxs < 0)
      throw new RangeError("maxTxs must be a non-negative integer");
    if (!Number.isInteger(maxBytes) || maxBytes < 0)
      throw new RangeError("maxBytes must be a non-negative integer");
    this.expire();
    return selectTransfers(this.senders.values(), maxTxs, maxBytes);
  }

  /**
   * Removes transactions older than the expiry, with their senders' higher nonces (they cannot be
   * mined without them). Returns how many left.
   */
  expire(): number {
    const cutoff = this.clock.nowMs() - this.opts.expirySeconds * 1000;
    const expired: PoolEntry[] = [];
    for (const e of this.byId.values()) if (e.addedAtMs <= cutoff) expired.push(e);
    let removed = 0;
    for (const e of expired) {
      if (!this.byId.has(e.id)) continue;
      removed += this.removeFrom(e.sender, e.tx.nonce, "expired");
    }
    return removed;
  }

  /**
   * A block joined the main chain: its transfers leave the pool now, a conflicting nonce of its
   * senders too; their balances are checked again against the tip (resolves when done). `txIds`:
   * the block's transaction ids when the caller has them (the chain's blockConnected event).
   */
  onBlockConnected(block: Block, txIds?: readonly Uint8Array[]): Promise<void> {
    if (!this.started && !this.starting) return Promise.resolve();
    this.version++;
    for (let i = 0; i < block.txs.length; i++) {
      const tx = block.txs[i]!;
      if (tx.type !== TxType.Transfer) continue;
      const id = toHex(txIds?.[i] ?? transactionId(tx));
      const e = this.byId.get(id);
      if (e) this.removeEntry(e, "included");
      const sender = toHex(senderOf(tx));
      const s = this.senders.get(sender);
      if (!s) continue;
      // The block proves the nonce moved; the balance is read again below.
      if (tx.nonce + 1n > s.account.nonce) s.account = { ...s.account, nonce: tx.nonce + 1n };
      this.pruneLowNonces(sender);
      this.dirty.add(sender);
    }
    return this.enqueue(() => this.revalidateDirty());
  }

  /**
   * The main chain switched branches: every sender is checked again against the new tip, then the
   * disconnected blocks' transfers that the new branch lacks come back if still valid (oldest first,
   * so each sender's nonces return in order). Call it after the `blockConnected` calls of the
   * reorg's new blocks (the chain emits `reorg` last).
   */
  onReorg(event: { returnedTransactions: readonly TransferTx[] }): Promise<ReorgReturnResult> {
    if (!this.started && !this.starting) return Promise.resolve({ readded: 0, dropped: 0 });
    this.version++;
    for (const sender of this.senders.keys()) this.dirty.add(sender);
    const result: ReorgReturnResult = { readded: 0, dropped: 0 };
    const returned = [...event.returnedTransactions];
    return this.enqueue(async () => {
      await this.revalidateDirty();
      const now = this.clock.nowMs();
      for (const tx of returned) {
        const entry = this.makeEntry(tx, now);
        if (this.byId.has(entry.id)) continue;
        try {
          // They were in valid blocks: the stateless rules held and still do.
          this.checkMinFee(entry);
          await this.admitAtTip(entry, { addedAtMs: now, persist: true });
          result.readded++;
        } catch (err) {
          if (!(err instanceof MempoolError || err instanceof TxError)) throw err;
          result.dropped++;
          this.log.debug({ id: entry.id, code: err.code }, "reorg transaction not returned to the mempool");
        }
      }
    }).then(() => result);
  }

  // ---- admission ----

  private makeEntry(tx: TransferTx, addedAtMs: number): PoolEntry {
    const idBytes = transactionId(tx);
    return {
      id: toHex(idBytes),
      idBytes,
      tx,
      sender: toHex(senderOf(tx)),
      size: transactionSize(tx),
      cost: tx.amount + tx.fee,
      addedAtMs,
      seq: this.seq++,
    };
  }

  /** The stateless consensus rules; the signature through the shared verifier when there is one. */
  private checkStateless(e: PoolEntry): void {
    if (!this.signatures) {
      checkTransferStateless(e.tx, this.params);
      return;
    }
    checkTransferStateless(e.tx, this.params, true);
    if (!this.signatures.verifyTransfer(e.tx, e.id))
      throw new TxError(TxErrorCode.BAD_SIGNATURE, "signature does not verify (strict RFC 8032)");
  }

  private checkMinFee(e: PoolEntry): void {
    // Rule: fee / size ≥ minFeePerKb / 1000.
    if (e.tx.fee * 1000n < this.opts.minFeePerKb * BigInt(e.size)) {
      throw new MempoolError(
        { code: MempoolErrorCode.FEE_TOO_LOW },
        `fee ${e.tx.fee} below ${this.opts.minFeePerKb} per 1000 bytes`,
      );
    }
  }

  /** Reads the sender's tip account (re-reading if the tip moved meanwhile), admits, persists. */
  private async admitAtTip(entry: PoolEntry, o: AdmitOptions): Promise<AddResult> {
    const address = senderOf(entry.tx);
    let account: Account;
    for (;;) {
      const version = this.version;
      const s = this.senders.get(entry.sender);
      if (s && s.accountVersion === version) {
        account = s.account;
        break;
      }
      const accounts = await this.loader.load(entry.sender, address);
      if (version === this.version) {
        account = accounts.get(entry.sender) ?? EMPTY_ACCOUNT;
        break;
      }
    }
    if (!this.started && this.starting === undefined) {
      throw new MempoolError({ code: MempoolErrorCode.NOT_STARTED }, "mempool stopped");
    }
    const { result, removed } = this.admit(entry, address, account, o);
    const writes: Promise<void>[] = [];
    if (o.persist && this.store) writes.push(this.store.put(entry.idBytes, entry.tx, entry.addedAtMs));
    if (this.store) for (const r of removed) writes.push(this.store.del(r.entry.idBytes));
    await Promise.all(writes);
    return result;
  }

  /** The synchronous admission decision; on refusal the pool is unchanged. */
  private admit(
    entry: PoolEntry,
    address: Uint8Array,
    account: Account,
    o: AdmitOptions,
  ): { result: AddResult; removed: { entry: PoolEntry; reason: RemovalReason }[] } {
    // Re-checked: another add of the same transaction may have finished while this one read state.
    if (this.byId.has(entry.id))
      throw new MempoolError({ code: MempoolErrorCode.DUPLICATE }, `${entry.id} is pooled`);
    const tx = entry.tx;
    if (tx.nonce < account.nonce) {
      throw new MempoolError(
        { code: MempoolErrorCode.NONCE_TOO_LOW },
        `nonce ${tx.nonce} < account nonce ${account.nonce}`,
      );
    }
    let s = this.senders.get(entry.sender);
    if (s) {
      s.account = account;
      s.accountVersion = this.version;
      this.pruneLowNonces(entry.sender);
      s = this.senders.get(entry.sender);
    }
    const existing = s?.txs.get(tx.nonce);
    if (existing) {
      // Rule: replacement needs fee rate ≥ old × (1 + bump%) and strictly more fee (geth's price bump).
      const bump = BigInt(100 + this.opts.replacementBumpPercent);
      const enough = tx.fee * BigInt(existing.size) * 100n >= existing.tx.fee * BigInt(entry.size) * bump;
      if (!enough || tx.fee <= existing.tx.fee) {
        throw new MempoolError(
          { code: MempoolErrorCode.REPLACEMENT_UNDERPRICED },
          `replacing nonce ${tx.nonce} needs a fee bump of ${this.opts.replacementBumpPercent}% over ${existing.tx.fee}`,
        );
      }
    } else if (s) {
      if (s.txs.size >= this.opts.maxTxsPerSender) {
        throw new MempoolError(
          { code: MempoolErrorCode.SENDER_FULL },
          `sender already has ${s.txs.size} pooled transactions`,
        );
      }
    }
    const next = s ? nextExecutableNonce(s) : account.nonce;
    if (!existing && tx.nonce - next > BigInt(this.opts.maxNonceGap)) {
      throw new MempoolError(
        { code: MempoolErrorCode.NONCE_GAP_TOO_LARGE },
        `nonce ${tx.nonce} is more than ${this.opts.maxNonceGap} past the next executable nonce ${next}`,
      );
    }
    // Rule: the sender's pooled transfers together must be affordable at the tip (consensus
    // applyTransfer decides, with the balance left after the sender's other pooled transfers).
    const othersCost = (s?.totalCost ?? 0n) - (existing?.cost ?? 0n);
    const left = account.balance > othersCost ? account.balance - othersCost : 0n;
    try {
      applyTransfer(tx, { balance: left, nonce: tx.nonce }, () => EMPTY_ACCOUNT);
    } catch (err) {
      // Funds depend on our tip and pool, not on the transaction alone: not the relayer's fault.
      if (err instanceof TxError) throw new TxError(err.code, err.message, "ignore");
      throw err;
    }

    // Tentatively apply, then make room; undo everything if room would cost a better transaction.
    const removed: { entry: PoolEntry; reason: RemovalReason }[] = [];
    if (existing) this.detach(existing);
    this.attach(entry, address, account);
    const evicted: PoolEntry[] = [];
    const effective = this.effectiveRate(entry);
    while (this.byId.size > this.opts.maxTxs || this.totalBytes > this.opts.maxBytes) {
      const victim = this.cheapestTail();
      if (!victim || victim.entry === entry || compareFeeRate(victim.rate, effective) >= 0) {
        this.detach(entry);
        if (existing) this.attach(existing, address, account);
        // Detached entries kept their sender records, so re-attaching restores them exactly.
        for (const e of evicted) this.attach(e, address, account);
        this.dropIfEmpty(entry.sender);
        throw new MempoolError(
          { code: MempoolErrorCode.FULL },
          "mempool full and the transaction pays no more than the cheapest it would evict",
        );
      }
      this.detach(victim.entry);
      evicted.push(victim.entry);
    }

    for (const e of evicted) this.dropIfEmpty(e.sender);
    if (existing) {
      removed.push({ entry: existing, reason: "replaced" });
      this.emit("txRemoved", { id: existing.id, tx: existing.tx, reason: "replaced" });
    }
    for (const e of evicted) {
      removed.push({ entry: e, reason: "evicted" });
      this.emit("txRemoved", { id: e.id, tx: e.tx, reason: "evicted" });
    }
    const sNow = this.senders.get(entry.sender)!;
    const executable = tx.nonce < nextExecutableNonce(sNow);
    this.emit("txAdded", { id: entry.id, tx, executable, ...(o.fromPeer ? { fromPeer: o.fromPeer } : {}) });
    return {
      result: {
        id: entry.id,
        executable,
        ...(existing ? { replaced: existing.id } : {}),
        evicted: evicted.map((e) => e.id),
      },
      removed,
    };
  }

  /** The lowest fee rate among the sender's transactions up to and including this one. */
  private effectiveRate(entry: PoolEntry): FeeRate {
    let rate = entryRate(entry);
    const s = this.senders.get(entry.sender);
    if (!s) return rate;
    for (const e of s.txs.values()) {
      if (e.tx.nonce < entry.tx.nonce && compareFeeRate(entryRate(e), rate) < 0) rate = entryRate(e);
    }
    return rate;
  }

  /**
   * The eviction candidate: the highest nonce of the sender whose cheapest transaction pays the
   * lowest rate (a tail has no dependants; its sender's cheapest transaction gates it for mining).
   * Ties: the newest tail goes first. A heap with lazy deletion keeps this O(log senders).
   */
  private cheapestTail(): EvictionCandidate | undefined {
    for (;;) {
      const top = this.evictionHeap.peek();
      if (!top || this.senders.get(top.sender)?.stamp === top.stamp) return top;
      this.evictionHeap.pop();
    }
  }

  /** Records a change of the sender's transactions: a fresh eviction candidate, a new stamp. */
  private touch(sender: string): void {
    const s = this.senders.get(sender);
    if (!s) return;
    s.stamp = this.stamps++;
    let tail: PoolEntry | undefined;
    let rate: FeeRate | undefined;
    for (const e of s.txs.values()) {
      if (!tail || e.tx.nonce > tail.tx.nonce) tail = e;
      if (!rate || compareFeeRate(entryRate(e), rate) < 0) rate = entryRate(e);
    }
    if (!tail || !rate) return;
    // Stale nodes are skipped at the top; rebuild when they would outnumber live ones.
    if (this.evictionHeap.size > 2 * this.senders.size + 1024) this.rebuildEvictionHeap();
    this.evictionHeap.push({ sender, stamp: s.stamp, entry: tail, rate });
  }

  private rebuildEvictionHeap(): void {
    this.evictionHeap = new Heap<EvictionCandidate>(evictsFirst);
    for (const sender of [...this.senders.keys()]) this.touch(sender);
  }

  // ---- tip changes ----

  private enqueue(job: () => Promise<void>): Promise<void> {
    const run = this.work.then(job);
    // A failed job is logged; the queue keeps going.
    this.work = run.catch((err: unknown) => {
      this.log.error({ err }, "mempool tip-change work failed");
    });
    return run;
  }

  /** Reads the dirty senders' tip accounts and drops what no longer fits them. */
  private async revalidateDirty(): Promise<void> {
    while (this.dirty.size > 0) {
      const version = this.version;
      const senders = [...this.dirty].filter((hex) => this.senders.has(hex));
      this.dirty.clear();
      if (senders.length === 0) return;
      const accounts = await this.state.getAccounts(senders.map((hex) => this.senders.get(hex)!.address));
      if (version !== this.version) {
        // The tip moved while we read: read again at the newer tip.
        for (const hex of senders) this.dirty.add(hex);
        continue;
      }
      const removed: PoolEntry[] = [];
      for (const hex of senders) {
        const s = this.senders.get(hex);
        if (!s) continue;
        s.account = accounts.get(hex) ?? EMPTY_ACCOUNT;
        s.accountVersion = version;
        this.pruneLowNonces(hex);
        removed.push(...this.pruneUnaffordable(hex));
      }
      if (removed.length > 0)
        this.log.debug({ removed: removed.length }, "mempool revalidated after tip change");
    }
  }

  /** Drops the sender's transactions below its account nonce (already spent on chain). */
  private pruneLowNonces(sender: string): void {
    const s = this.senders.get(sender);
    if (!s) return;
    for (const e of [...s.txs.values()])
      if (e.tx.nonce < s.account.nonce) this.removeEntry(e, "nonce-too-low");
  }

  /** Drops the sender's highest nonces until its pooled costs fit its balance. */
  private pruneUnaffordable(sender: string): PoolEntry[] {
    const s = this.senders.get(sender);
    if (!s) return [];
    const removed: PoolEntry[] = [];
    const nonces = sortedNonces(s);
    while (s.totalCost > s.account.balance && nonces.length > 0) {
      const e = s.txs.get(nonces.pop()!)!;
      this.removeEntry(e, "unaffordable");
      removed.push(e);
    }
    return removed;
  }

  /** Removes the sender's transaction at `nonce` and every higher nonce of the sender. */
  private removeFrom(sender: string, nonce: bigint, reason: RemovalReason): number {
    const s = this.senders.get(sender);
    if (!s) return 0;
    let n = 0;
    for (const e of [...s.txs.values()]) {
      if (e.tx.nonce >= nonce) {
        this.removeEntry(e, reason);
        n++;
      }
    }
    return n;
  }

  // ---- bookkeeping ----

  /** Puts an entry into the indexes (no events, no writes). */
  private attach(entry: PoolEntry, address: Uint8Array, account: Account): void {
    let s = this.senders.get(entry.sender);
    if (!s) {
      s = { address, txs: new Map(), totalCost: 0n, account, accountVersion: this.version, stamp: 0 };
      this.senders.set(entry.sender, s);
    }
    s.txs.set(entry.tx.nonce, entry);
    s.totalCost += entry.cost;
    this.byId.set(entry.id, entry);
    this.totalBytes += entry.size;
    this.touch(entry.sender);
  }

  /** Takes an entry out of the indexes (no events, no writes). */
  private detach(entry: PoolEntry): void {
    const s = this.senders.get(entry.sender);
    if (!s || s.txs.get(entry.tx.nonce) !== entry) return;
    s.txs.delete(entry.tx.nonce);
    s.totalCost -= entry.cost;
    this.byId.delete(entry.id);
    this.totalBytes -= entry.size;
    this.touch(entry.sender);
  }

  /** Forgets a sender with no transactions left (kept by detach so an undo finds its record). */
  private dropIfEmpty(sender: string): void {
    if (this.senders.get(sender)?.txs.size === 0) this.senders.delete(sender);
  }

  /** Removes an entry for good: indexes, event, store. */
  private removeEntry(entry: PoolEntry, reason: RemovalReason): void {
    this.detach(entry);
    this.dropIfEmpty(entry.sender);
    this.emit("txRemoved", { id: entry.id, tx: entry.tx, reason });
    this.store?.del(entry.idBytes).catch((err: unknown) => {
      this.log.error({ err, id: entry.id }, "mempool store delete failed");
    });
  }

  // ---- start ----

  private async loadPersisted(store: MempoolStore): Promise<void> {
    const persisted = await store.load();
    // Sender then nonce, so each sender's transactions come back in order.
    persisted.sort((a, b) => {
      const sa = toHex(senderOf(a.tx));
      const sb = toHex(senderOf(b.tx));
      if (sa !== sb) return sa < sb ? -1 : 1;
      return a.tx.nonce < b.tx.nonce ? -1 : a.tx.nonce > b.tx.nonce ? 1 : 0;
    });
    const cutoff = this.clock.nowMs() - this.opts.expirySeconds * 1000;
    let kept = 0;
    let dropped = 0;
    for (const { tx, addedAtMs } of persisted) {
      const entry = this.makeEntry(tx, addedAtMs);
      if (addedAtMs <= cutoff) {
        dropped++;
        await store.del(entry.idBytes);
        continue;
      }
      try {
        this.checkMinFee(entry);
        // The store is ours, but the disk is not proof: check signatures again.
        this.checkStateless(entry);
        await this.admitAtTip(entry, { addedAtMs, persist: false });
        kept++;
      } catch (err) {
        if (!(err instanceof MempoolError || err instanceof TxError)) throw err;
        dropped++;
        await store.del(entry.idBytes);
      }
    }
    this.log.info({ kept, dropped }, "mempool loaded");
  }
}
