import { type Account, accountTreeKey, accountValueHash, EMPTY_ACCOUNT } from "../consensus/account.js";
import { checkBlockBody, checkHeader } from "../consensus/block-rules.js";
import { expectedBits, medianTimePast, powLimit } from "../consensus/difficulty.js";
import { BlockError, BlockErrorCode, TxError } from "../consensus/errors.js";
import { genesisBlock } from "../consensus/genesis.js";
import { merkleRoot } from "../consensus/merkle.js";
import { BLOCK_VERSION, blockSubsidy, type NetworkParams } from "../consensus/params.js";
import { checkProofOfWork, workFromBits } from "../consensus/pow.js";
import { applyBlockState, stateRootAfter, touchedAddresses } from "../consensus/state.js";
import { rootFromLeaves } from "../consensus/state-tree.js";
import { applyTransfer } from "../consensus/tx-rules.js";
import type { Block } from "../primitives/block.js";
import { blockHash } from "../primitives/block.js";
import { equalBytes, fromHex, toHex } from "../primitives/bytes.js";
import {
  type CoinbaseTx,
  senderOf,
  type Transaction,
  type TransferTx,
  TxType,
  transactionId,
} from "../primitives/transaction.js";
import { type ChainStore, StoreBatch } from "../store/chain-store.js";
import { StoreError, StoreErrorCode } from "../store/errors.js";
import { type BlockIndexEntry, BlockStatus } from "../store/records.js";
import { type Logger, silentLogger } from "../util/logger.js";
import { LruCache } from "../util/lru.js";
import { TypedEmitter } from "../util/typed-emitter.js";
import type { BlockRef, ChainEvents, ReorgEvent } from "./events.js";
import { DEFAULT_ORPHAN_POOL, OrphanPool, type OrphanPoolOptions } from "./orphan-pool.js";
import { type SignatureVerifier, SignatureVerifierError } from "./signature-verifier.js";

export interface ChainOptions {
  params: NetworkParams;
  orphanPool?: OrphanPoolOptions;
}

export interface ChainDeps {
  store: ChainStore;
  /** verifies transfer signatures in worker threads and caches them; without it, inline */
  signatures?: SignatureVerifier;
  /** unix seconds; injected so tests control time */
  clock?: () => number;
  log?: Logger;
  metrics?: ChainMetrics;
}

/** What the chain reports to metrics; the node passes its collectors in. */
export interface ChainMetrics {
  /** one `processBlock` call (gossip, sync, our own miner): seconds from call to answer, and its outcome */
  observeBlockImport(seconds: number, result: AcceptStatus | "error"): void;
}

export type AcceptStatus = "connected" | "side-branch" | "orphan" | "duplicate";

export interface AcceptResult {
  status: AcceptStatus;
  hash: string;
  height?: number;
  /** for orphans: the first ancestor we lack */
  missingAncestor?: string;
}

// Failures that say nothing about the block id itself (the body may have been swapped in transit,
// or the work was never verified): never persisted as invalid, so a correct copy can still arrive.
const NOT_PERSISTED = new Set<string>([
  BlockErrorCode.BAD_MERKLE_ROOT,
  BlockErrorCode.HIGH_HASH,
  BlockErrorCode.BAD_BITS,
  BlockErrorCode.BAD_DIFFICULTY,
  BlockErrorCode.BAD_VERSION,
  BlockErrorCode.BAD_PREV,
  BlockErrorCode.TIME_TOO_NEW,
]);

const systemClock = () => Math.floor(Date.now() / 1000);

function coinbaseTx(
  params: NetworkParams,
  height: number,
  recipient: Uint8Array,
  amount: bigint,
): CoinbaseTx {
  return { type: TxType.Coinbase, networkId: params.networkId, height, recipient, amount };
}

/**
 * The block index, fork choice and the main chain's state. Every block that passes header and
 * body checks is stored, on whatever branch; the main chain is the valid branch with the most
 * cumulative work (ties: first seen). Switching branches disconnects to the fork point and
 * connects the new branch block by block, each one atomic batch; a block that fails on the way
 * is marked invalid with its descendants and the chain returns to the best valid branch.
 *
 * Calls that change the chain are serialised: one block is processed at a time.
 */
export class Chain extends TypedEmitter<ChainEvents> {
  private readonly params: NetworkParams;
  private readonly store: ChainStore;
  private readonly signatures: SignatureVerifier | undefined;
  private readonly clock: () => number;
  private readonly log: Logger;
  private readonly metrics: ChainMetrics | undefined;
  private readonly index = new Map<string, BlockIndexEntry>();
  private readonly children = new Map<string, Set<string>>();
  private readonly main: BlockIndexEntry[] = [];
  private readonly orphans: OrphanPool;
  /** blocks rejected without being stored, so a re-send is refused without work */
  private readonly recentlyRejected = new LruCache<string, string>(4096);
  /** errors of blocks that failed to connect during the current activation, for the caller */
  private readonly connectFailures = new Map<string, BlockError>();
  /**
   * The block `acceptBlock` just validated, with its tx ids, so connecting it right after neither
   * reads it back nor hashes its transactions again. `unwritten` is its block + index batch: when
   * the block connects at once, that goes into the connect batch (one LevelDB write per block, not
   * two); otherwise `flushJustStored` writes it: before a disconnect or an invalid mark (so the
   * stored block never lags behind a status written about it), and at the latest when that
   * acceptBlock call ends, which also clears this.
   */
  private justStored:
    | { hashHex: string; block: Block; txIds: Uint8Array[]; unwritten: StoreBatch | undefined }
    | undefined;
  private nextSequence = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private opened = false;

  constructor(opts: ChainOptions, deps: ChainDeps) {
    super();
    this.params = opts.params;
    this.store = deps.store;
    this.signatures = deps.signatures;
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log ?? silentLogger;
    this.metrics = deps.metrics;
    this.orphans = new OrphanPool(opts.orphanPool ?? DEFAULT_ORPHAN_POOL);
  }

  /**
   * Loads the index, writes genesis into an empty store, checks that the stored state matches the
   * tip's state root (refusing to run otherwise), and finishes any interrupted reorg.
   */
  async open(): Promise<void> {
    if (this.opened) return;
    for await (const entry of this.store.indexEntries()) this.addToIndex(entry);
    if (this.index.size === 0) await this.writeGenesis();
    const hashes = await this.store.mainChainHashes();
    for (const hash of hashes) {
      const entry = this.index.get(toHex(hash));
      if (!entry)
        throw new StoreError(StoreErrorCode.CORRUPT, `main-chain block ${toHex(hash)} has no index entry`);
      this.main.push(entry);
    }
    const tipHash = await this.store.getTip();
    if (!tipHash || !equalBytes(tipHash, this.tip.hash)) {
      throw new StoreError(StoreErrorCode.CORRUPT, "stored tip does not match the main chain");
    }
    await this.verifyTipState();
    this.opened = true;
    await this.serialised(() => this.activateBestChain());
  }

  get tip(): BlockIndexEntry {
    const tip = this.main[this.main.length - 1];
    if (!tip) throw new StoreError(StoreErrorCode.CORRUPT, "main chain is empty");
    return tip;
  }

  get height(): number {
    return this.main.length - 1;
  }

  get networkParams(): NetworkParams {
    return this.params;
  }

  get orphanCount(): number {
    return this.orphans.count;
  }

  getEntry(hashHex: string): BlockIndexEntry | undefined {
    return this.index.get(hashHex);
  }

  /** The main-chain entry at a height, if any. */
  entryAtHeight(height: number): BlockIndexEntry | undefined {
    return this.main[height];
  }

  isOnMainChain(entry: BlockIndexEntry): boolean {
    return this.main[entry.height] === entry;
  }

  async getBlock(hashHex: string): Promise<Block | undefined> {
    if (this.justStored?.hashHex === hashHex) return this.justStored.block;
    const entry = this.index.get(hashHex);
    return entry ? this.store.getBlock(entry.hash) : undefined;
  }

  /** A main-chain transaction with the block that includes it. */
  async getTransaction(
    txIdHex: string,
  ): Promise<{ tx: Transaction; blockHash: string; height: number; index: number } | undefined> {
    const blockHash = await this.store.getTxBlock(fromHex(txIdHex));
    if (!blockHash) return undefined;
    const entry = this.index.get(toHex(blockHash));
    const block = entry ? await this.store.getBlock(entry.hash) : undefined;
    if (!entry || !block)
      throw new StoreError(StoreErrorCode.CORRUPT, `tx index points at missing block ${toHex(blockHash)}`);
    const index = block.txs.findIndex((tx) => toHex(transactionId(tx)) === txIdHex);
    if (index < 0)
      throw new StoreError(StoreErrorCode.CORRUPT, `block ${entry.hashHex} lacks indexed tx ${txIdHex}`);
    return { tx: block.txs[index]!, blockHash: entry.hashHex, height: entry.height, index };
  }

  /** A main-chain block by height. */
  async getBlockAtHeight(height: number): Promise<Block | undefined> {
    const entry = this.main[height];
    return entry ? this.store.getBlock(entry.hash) : undefined;
  }

  /**
   * Block locator (Bitcoin's): main-chain hashes from the tip back, dense for the last 10 then
   * doubling the step, always ending at genesis. A peer finds the fork point from it.
   */
  getLocator(): string[] {
    const hashes: string[] = [];
    let step = 1;
    for (let height = this.height; height > 0; height -= step) {
      hashes.push(this.main[height]!.hashHex);
      if (hashes.length >= 10) step *= 2;
    }
    hashes.push(this.main[0]!.hashHex);
    return hashes;
  }

  /** The highest main-chain block named in a locator (genesis at worst, if it is ours). */
  findForkPoint(locator: readonly string[]): BlockIndexEntry | undefined {
    for (const hashHex of locator) {
      const entry = this.index.get(hashHex);
      if (entry && this.isOnMainChain(entry)) return entry;
    }
    return undefined;
  }

  /** Up to `count` main-chain entries from `fromHeight` upwards. */
  mainChainRange(fromHeight: number, count: number): BlockIndexEntry[] {
    return this.main.slice(Math.max(0, fromHeight), Math.max(0, fromHeight) + Math.max(0, count));
  }

  /**
   * An unsolved block on the current tip: coinbase to `recipient` paying subsidy + fees, the given
   * transfers in order (those that do not apply to the tip state are left out), merkle and state
   * roots filled in, bits from ASERT, time = max(now, median time past + 1). The miner searches
   * the nonce; mining may also bump `time`, which needs no other change.
   */
  async prepareBlock(recipient: Uint8Array, candidates: readonly TransferTx[]): Promise<Block> {
    const parent = this.tip;
    const height = parent.height + 1;
    const time = Math.max(this.clock(), medianTimePast(this.ancestorTimes(parent)) + 1);
    const working = await this.store.getAccounts([...touchedAddresses(candidates), recipient]);
    const txs: TransferTx[] = [];
    for (const tx of candidates) {
      if (txs.length >= this.params.maxBlockTxs - 1) break;
      if (tx.networkId !== this.params.networkId) continue;
      const senderHex = toHex(senderOf(tx));
      const senderBefore = working.get(senderHex) ?? EMPTY_ACCOUNT;
      try {
        const result = applyTransfer(tx, senderBefore, (senderAfter) => {
          working.set(senderHex, senderAfter);
          return working.get(toHex(tx.recipient)) ?? EMPTY_ACCOUNT;
        });
        working.set(toHex(tx.recipient), result.recipient);
        txs.push(tx);
      } catch (err) {
        if (!(err instanceof TxError)) throw err;
        working.set(senderHex, senderBefore); // a transfer that does not apply leaves no trace
      }
    }
    const pre = await this.store.getAccounts(
      touchedAddresses([coinbaseTx(this.params, height, recipient, 0n), ...txs]),
    );
    const fees = txs.reduce((sum, tx) => sum + tx.fee, 0n);
    const coinbase = coinbaseTx(this.params, height, recipient, blockSubsidy(height, this.params) + fees);
    const block: Block = {
      header: {
        version: BLOCK_VERSION,
        prevHash: parent.hash,
        merkleRoot: merkleRoot([coinbase, ...txs].map(transactionId)),
        stateRoot: parent.header.stateRoot,
        time,
        bits: expectedBits(
          height,
          { height: parent.height, time: parent.header.time },
          height === 1 ? undefined : parent.block1Time,
          this.params,
        ),
        nonce: 0n,
      },
      txs: [coinbase, ...txs],
    };
    const diff = applyBlockState(block, height, this.params, pre);
    block.header.stateRoot = (
      await stateRootAfter(parent.header.stateRoot, diff.changes.values(), this.store)
    ).root;
    return block;
  }

  /** Accounts at the tip, by hex address (absent = empty). */
  async getAccounts(addresses: readonly Uint8Array[]): Promise<Map<string, Account>> {
    return this.store.getAccounts(addresses);
  }

  /**
   * Validates and stores a block, moving the main chain if it now leads the most-work valid
   * branch. Throws BlockError (with `action`) when the block or the branch it completes is invalid.
   */
  processBlock(block: Block): Promise<AcceptResult> {
    const metrics = this.metrics;
    if (!metrics) return this.serialised(() => this.acceptBlock(block));
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    return this.serialised(() => this.acceptBlock(block)).then(
      (result) => {
        metrics.observeBlockImport(seconds(), result.status);
        return result;
      },
      (err: unknown) => {
        metrics.observeBlockImport(seconds(), "error");
        throw err;
      },
    );
  }

  private serialised<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async acceptBlock(block: Block): Promise<AcceptResult> {
    const hash = blockHash(block);
    const hashHex = toHex(hash);
    const known = this.index.get(hashHex);
    if (known) {
      if (known.status === BlockStatus.Invalid || known.status === BlockStatus.InvalidChild) {
        throw new BlockError(
          { code: BlockErrorCode.KNOWN_INVALID },
          `block ${hashHex} was marked invalid before`,
        );
      }
      return { status: "duplicate", hash: hashHex, height: known.height };
    }
    const rejectedCode = this.recentlyRejected.get(hashHex);
    if (rejectedCode !== undefined) {
      throw new BlockError(
        { code: BlockErrorCode.KNOWN_INVALID },
        `block ${hashHex} was rejected before (${rejectedCode})`,
      );
    }
    const parentHex = toHex(block.header.prevHash);
    const parent = this.index.get(parentHex);
    if (!parent) return this.acceptOrphan(block, hash, hashHex);
    if (parent.status === BlockStatus.Invalid || parent.status === BlockStatus.InvalidChild) {
      this.recentlyRejected.set(hashHex, BlockErrorCode.INVALID_ANCESTOR);
      throw new BlockError({ code: BlockErrorCode.INVALID_ANCESTOR }, `parent ${parentHex} is invalid`);
    }

    const { entry, txIds, unwritten } = await this.storeNewBlock(block, hash, hashHex, parent);
    this.connectFailures.clear();
    this.justStored = { hashHex, block, txIds, unwritten };
    try {
      await this.activateBestChain();
      await this.flushJustStored();
    } finally {
      this.justStored = undefined;
    }
    const failure = this.connectFailures.get(hashHex);
    if (failure) throw failure;
    if (entry.status === BlockStatus.InvalidChild) {
      throw new BlockError(
        { code: BlockErrorCode.INVALID_ANCESTOR },
        `an ancestor failed with ${entry.invalidCode}`,
      );
    }
    const result: AcceptResult = {
      status: this.isOnMainChain(entry) ? "connected" : "side-branch",
      hash: hashHex,
      height: entry.height,
    };
    await this.acceptOrphansOf(hashHex);
    return result;
  }

  private acceptOrphan(block: Block, hash: Uint8Array, hashHex: string): AcceptResult {
    // Anti-spam: an orphan must at least meet the network's minimum difficulty to be kept.
    checkProofOfWork(hash, block.header.bits, powLimit(this.params));
    this.orphans.add(block, hashHex, this.clock());
    const missingAncestor = this.orphans.missingRoot(hashHex) ?? toHex(block.header.prevHash);
    this.emit("orphan", { hash: hashHex, missingAncestor });
    return { status: "orphan", hash: hashHex, missingAncestor };
  }

  private async acceptOrphansOf(parentHex: string): Promise<void> {
    const pending = [parentHex];
    while (pending.length > 0) {
      for (const child of this.orphans.takeChildren(pending.pop()!)) {
        try {
          const result = await this.acceptBlock(child);
          pending.push(result.hash);
        } catch (err) {
          this.log.warn(
            { err, hash: toHex(blockHash(child)) },
            "orphan block rejected when its parent arrived",
          );
        }
      }
    }
  }

  /**
   * Header and body checks; the block joins the index, and the batch that stores it and its index
   * entry is returned for the caller to write (see `justStored`).
   */
  private async storeNewBlock(
    block: Block,
    hash: Uint8Array,
    hashHex: string,
    parent: BlockIndexEntry,
  ): Promise<{ entry: BlockIndexEntry; txIds: Uint8Array[]; unwritten: StoreBatch }> {
    const height = parent.height + 1;
    const entry: BlockIndexEntry = {
      hash,
      hashHex,
      header: block.header,
      height,
      chainWork: parent.chainWork + workFromBits(block.header.bits),
      status: BlockStatus.Data,
      invalidCode: "",
      sequence: this.nextSequence,
      block1Time: height === 1 ? block.header.time : parent.block1Time,
    };
    let txIds: Uint8Array[];
    try {
      checkHeader(
        block.header,
        hash,
        {
          parentHash: parent.hash,
          medianTimePast: medianTimePast(this.ancestorTimes(parent)),
          expectedBits: expectedBits(
            height,
            { height: parent.height, time: parent.header.time },
            height === 1 ? undefined : parent.block1Time,
            this.params,
          ),
          nowSeconds: this.clock(),
        },
        this.params,
      );
      await this.verifySignaturesAhead(block);
      const verifier = this.signatures;
      txIds = checkBlockBody(
        block,
        height,
        this.params,
        verifier ? (id) => verifier.isVerified(id) : undefined,
      );
    } catch (err) {
      if (err instanceof BlockError) await this.rejectNewBlock(entry, err);
      throw err;
    }
    this.nextSequence++;
    const unwritten = new StoreBatch().putBlock(hash, block).putIndex(entry);
    this.addToIndex(entry);
    return { entry, txIds, unwritten };
  }

  /** Writes the just-validated block and its index entry if no connect batch took them. */
  private async flushJustStored(): Promise<void> {
    const unwritten = this.justStored?.unwritten;
    if (unwritten === undefined) return;
    this.justStored!.unwritten = undefined;
    await this.store.write(unwritten);
  }

  /**
   * Starts verifying these blocks' signatures in the worker pool (e.g. a whole sync batch right
   * after download), so they are cached by the time each block is processed.
   */
  prefetchSignatures(blocks: readonly Block[]): void {
    if (this.signatures) for (const block of blocks) this.signatures.prefetch(block.txs);
  }

  /** Fills the signature cache for a block; failures fall back to inline checks in the rules. */
  private async verifySignaturesAhead(block: Block): Promise<void> {
    if (!this.signatures || block.txs.length < 2) return;
    try {
      await this.signatures.verifyTransactions(block.txs);
    } catch (err) {
      if (!(err instanceof SignatureVerifierError)) throw err;
      this.log.warn({ err }, "signature workers failed; verifying inline");
    }
  }

  private async rejectNewBlock(entry: BlockIndexEntry, err: BlockError): Promise<void> {
    const code = err.type.code;
    this.log.warn({ hash: entry.hashHex, height: entry.height, code }, "rejected block");
    this.emit("invalidBlock", { hash: entry.hashHex, code });
    if (err.action === "ignore") return;
    if (NOT_PERSISTED.has(code)) {
      this.recentlyRejected.set(entry.hashHex, code);
      return;
    }
    // The header met its proof of work and the block is provably bad: remember it for good.
    entry.status = BlockStatus.Invalid;
    entry.invalidCode = code;
    entry.sequence = this.nextSequence++;
    await this.store.write(new StoreBatch().putIndex(entry));
    this.addToIndex(entry);
  }

  /** Times of `entry` and up to medianTimeSpan − 1 of its ancestors. */
  private ancestorTimes(entry: BlockIndexEntry): number[] {
    const times: number[] = [];
    let cursor: BlockIndexEntry | undefined = entry;
    while (cursor && times.length < this.params.medianTimeSpan) {
      times.push(cursor.header.time);
      cursor = cursor.height === 0 ? undefined : this.index.get(toHex(cursor.header.prevHash));
    }
    return times;
  }

  private addToIndex(entry: BlockIndexEntry): void {
    this.index.set(entry.hashHex, entry);
    if (entry.sequence >= this.nextSequence) this.nextSequence = entry.sequence + 1;
    if (entry.height > 0) {
      const parentHex = toHex(entry.header.prevHash);
      let set = this.children.get(parentHex);
      if (!set) {
        set = new Set();
        this.children.set(parentHex, set);
      }
      set.add(entry.hashHex);
    }
  }

  /** The valid entry with the most work; ties go to the lower sequence (first seen). */
  private bestCandidate(): BlockIndexEntry {
    let best = this.tip;
    for (const entry of this.index.values()) {
      if (entry.status !== BlockStatus.Data && entry.status !== BlockStatus.Valid) continue;
      if (
        entry.chainWork > best.chainWork ||
        (entry.chainWork === best.chainWork && entry.sequence < best.sequence)
      ) {
        best = entry;
      }
    }
    return best;
  }

  /** Moves the main chain to the best valid branch, retrying after every invalid block found. */
  private async activateBestChain(): Promise<void> {
    for (;;) {
      const best = this.bestCandidate();
      if (best === this.tip) return;
      if (await this.switchTo(best)) return;
    }
  }

  /** Reorganises onto `target`. Returns false when a block of its branch failed (rolled back). */
  private async switchTo(target: BlockIndexEntry): Promise<boolean> {
    const oldTip = this.tip;
    const path: BlockIndexEntry[] = [];
    let cursor: BlockIndexEntry = target;
    while (!this.isOnMainChain(cursor)) {
      path.push(cursor);
      cursor = this.index.get(toHex(cursor.header.prevHash))!;
    }
    const fork = cursor;
    path.reverse();

    const disconnected: { entry: BlockIndexEntry; block: Block }[] = [];
    while (this.tip !== fork) disconnected.push(await this.disconnectTip());

    const connected: { entry: BlockIndexEntry; block: Block }[] = [];
    for (const entry of path) {
      try {
        connected.push(await this.connectBlock(entry));
      } catch (err) {
        if (!(err instanceof BlockError)) throw err;
        this.connectFailures.set(entry.hashHex, err);
        await this.markInvalid(entry, err.type.code);
        // Back to the chain we left; its blocks connected before, so they connect again.
        while (this.tip !== fork) await this.disconnectTip();
        for (const { entry: old } of [...disconnected].reverse()) await this.connectBlock(old);
        return false;
      }
    }
    if (disconnected.length > 0) this.emit("reorg", this.reorgReport(oldTip, fork, disconnected, connected));
    return true;
  }

  private reorgReport(
    oldTip: BlockIndexEntry,
    fork: BlockIndexEntry,
    disconnected: { entry: BlockIndexEntry; block: Block }[],
    connected: { entry: BlockIndexEntry; block: Block }[],
  ): ReorgEvent {
    const ref = (e: BlockIndexEntry): BlockRef => ({ hash: e.hashHex, height: e.height });
    const included = new Set<string>();
    for (const { block } of connected) for (const tx of block.txs) included.add(toHex(transactionId(tx)));
    const returnedTransactions: TransferTx[] = [];
    // Oldest block first, so each sender's transfers come back in nonce order.
    for (const { block } of [...disconnected].reverse()) {
      for (const tx of block.txs) {
        if (tx.type === TxType.Transfer && !included.has(toHex(transactionId(tx))))
          returnedTransactions.push(tx);
      }
    }
    const report: ReorgEvent = {
      depth: disconnected.length,
      forkPoint: ref(fork),
      oldTip: ref(oldTip),
      newTip: ref(this.tip),
      disconnected: disconnected.map(({ entry }) => ref(entry)),
      connected: connected.map(({ entry }) => ref(entry)),
      returnedTransactions,
    };
    this.log.info(
      { depth: report.depth, forkHeight: fork.height, oldTip: oldTip.hashHex, newTip: this.tip.hashHex },
      "chain reorganised",
    );
    return report;
  }

  /** Applies a stored block on top of the tip: state transition, state root check, one batch. */
  private async connectBlock(entry: BlockIndexEntry): Promise<{ entry: BlockIndexEntry; block: Block }> {
    const stored = this.justStored?.hashHex === entry.hashHex ? this.justStored : undefined;
    const block = stored?.block ?? (await this.store.getBlock(entry.hash));
    if (!block)
      throw new StoreError(StoreErrorCode.CORRUPT, `block ${entry.hashHex} is indexed but not stored`);
    const parent = this.tip;
    const pre = await this.store.getAccounts(touchedAddresses(block.txs));
    const diff = applyBlockState(block, entry.height, this.params, pre);
    const { root, newNodes } = await stateRootAfter(
      parent.header.stateRoot,
      diff.changes.values(),
      this.store,
    );
    if (!equalBytes(root, entry.header.stateRoot)) {
      throw new BlockError(
        { code: BlockErrorCode.BAD_STATE_ROOT },
        "state root does not match the state after the block",
      );
    }
    // The block itself, if it was validated just now, is stored by this same batch.
    const batch = stored?.unwritten ?? new StoreBatch();
    const undo = [];
    for (const change of diff.changes.values()) {
      batch.putAccount(change.address, change.after);
      undo.push({ address: change.address, before: change.before });
    }
    entry.status = BlockStatus.Valid;
    batch
      .putTxIndex(stored?.txIds ?? block.txs.map(transactionId), entry.hash)
      .putTreeNodes(newNodes)
      .putUndo(entry.hash, { accounts: undo })
      .putIndex(entry)
      .putMainChain(entry.height, entry.hash)
      .putTip(entry.hash);
    await this.store.write(batch);
    if (stored) stored.unwritten = undefined;
    this.main.push(entry);
    this.emit("blockConnected", { hash: entry.hashHex, height: entry.height, block });
    return { entry, block };
  }

  /** Undoes the tip block: restores the accounts it touched, one batch. */
  private async disconnectTip(): Promise<{ entry: BlockIndexEntry; block: Block }> {
    await this.flushJustStored();
    const entry = this.tip;
    if (entry.height === 0) throw new RangeError("cannot disconnect genesis");
    const block = await this.store.getBlock(entry.hash);
    if (!block)
      throw new StoreError(StoreErrorCode.CORRUPT, `block ${entry.hashHex} is indexed but not stored`);
    const undo = await this.store.getUndo(entry.hash);
    const batch = new StoreBatch();
    for (const { address, before } of undo.accounts) batch.putAccount(address, before);
    batch.delTxIndex(block.txs.map(transactionId)).delMainChain(entry.height).putTip(entry.header.prevHash);
    await this.store.write(batch);
    this.main.pop();
    this.emit("blockDisconnected", { hash: entry.hashHex, height: entry.height, block });
    return { entry, block };
  }

  /** Marks a block invalid and every stored descendant invalid-child, persistently. */
  private async markInvalid(entry: BlockIndexEntry, code: string): Promise<void> {
    await this.flushJustStored();
    const batch = new StoreBatch();
    entry.status = BlockStatus.Invalid;
    entry.invalidCode = code;
    batch.putIndex(entry);
    const pending = [...(this.children.get(entry.hashHex) ?? [])];
    while (pending.length > 0) {
      const child = this.index.get(pending.pop()!)!;
      child.status = BlockStatus.InvalidChild;
      child.invalidCode = code;
      batch.putIndex(child);
      pending.push(...(this.children.get(child.hashHex) ?? []));
    }
    await this.store.write(batch);
    this.log.warn({ hash: entry.hashHex, height: entry.height, code }, "block invalid on connect");
    this.emit("invalidBlock", { hash: entry.hashHex, code });
  }

  private async writeGenesis(): Promise<void> {
    const block = genesisBlock(this.params);
    const hash = blockHash(block);
    const entry: BlockIndexEntry = {
      hash,
      hashHex: toHex(hash),
      header: block.header,
      height: 0,
      chainWork: workFromBits(block.header.bits),
      status: BlockStatus.Valid,
      invalidCode: "",
      sequence: 0,
      block1Time: 0,
    };
    await this.store.write(
      new StoreBatch()
        .putBlock(hash, block)
        .putIndex(entry)
        .putUndo(hash, { accounts: [] })
        .putMainChain(0, hash)
        .putTip(hash),
    );
    this.addToIndex(entry);
  }

  /** The start-up integrity check: the stored accounts must hash to the tip's state root. */
  async verifyTipState(): Promise<void> {
    const leaves: { key: Uint8Array; valueHash: Uint8Array }[] = [];
    for await (const { address, account } of this.store.accounts()) {
      const valueHash = accountValueHash(account);
      if (valueHash) leaves.push({ key: accountTreeKey(address), valueHash });
    }
    const root = rootFromLeaves(leaves);
    const tip = this.tip;
    if (!equalBytes(root, tip.header.stateRoot)) {
      throw new StoreError(
        StoreErrorCode.STATE_MISMATCH,
        `stored state does not match the state root of tip ${tip.hashHex} at height ${tip.height}; run 'quarry verify' to find where, or resync into a new --datadir`,
      );
    }
  }
}
