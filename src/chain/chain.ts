import type { Account, HeaderChainTip, NetworkParams, TreeNodeReader } from "../consensus/index.js";
import { BlockError, BlockErrorCode, checkProofOfWork, powLimit } from "../consensus/index.js";
import type { Block, BlockHeader, DecodedBlock, Transaction } from "../primitives/index.js";
import { equalBytes, fromHex, toHex } from "../primitives/index.js";
import type { AddressCursor, AddressIndexEntry, ChainStore } from "../store/index.js";
import {
  type BlockIndexEntry,
  BlockStatus,
  CORRUPTION_ADVICE,
  StoreError,
  StoreErrorCode,
} from "../store/index.js";
import {
  type Clock,
  type Logger,
  LruCache,
  nowSeconds,
  silentLogger,
  systemClock,
  TypedEmitter,
} from "../util/index.js";
import { type AddressIndexMode, type AddressIndexState, prepareAddressIndex } from "./address-index.js";
import { BlockIndex } from "./block-index.js";
import type { ChainContext } from "./connect.js";
import { type BlockOutcome, connectRun } from "./connect-run.js";
import type { ChainEvents, ChainHalt } from "./events.js";
import {
  type IntakeContext,
  provenBranchWork,
  trailsTip,
  validateNewBlock,
  writeGenesis,
} from "./new-block.js";
import { invalidateBlock, reconsiderBlock } from "./operator-marks.js";
import { DEFAULT_ORPHAN_POOL, OrphanPool, type OrphanPoolOptions } from "./orphan-pool.js";
import { activateBestChain, storeAndActivate } from "./reorg.js";
import { ReorgGate } from "./reorg-gate.js";
import type { SignatureVerifier } from "./signature-verifier.js";
import { verifyTipState } from "./verify.js";

export interface ChainOptions {
  params: NetworkParams;
  orphanPool?: OrphanPoolOptions;
  /**
   * The address index at open: "on" builds it if the store lacks it, "off" deletes it, "follow"
   * (default: offline commands) keeps what the store has. Connects maintain it while it exists.
   */
  addressIndex?: AddressIndexMode;
}

export interface ChainDeps {
  store: ChainStore;
  /** verifies transfer signatures in worker threads and caches them; without it, inline */
  signatures?: SignatureVerifier;
  /** wall clock (default the system's); injected so tests control time */
  clock?: Clock;
  log?: Logger;
  metrics?: ChainMetrics;
}

/** What the chain reports to metrics; the node passes its collectors in. */
export interface ChainMetrics {
  /** one `processBlock` call (gossip, sync, our own miner): seconds from call to answer, and its outcome */
  observeBlockImport(seconds: number, result: AcceptStatus | "error"): void;
}

export type AcceptStatus = "connected" | "side-branch" | "orphan" | "duplicate";

export interface ProcessBlockOptions {
  /**
   * Chain work the caller proves for this block's branch with later headers it holds
   * (`provenBranchWork` of a sync window or a block package): lets a deep branch that catches up
   * within those headers pass the low-work rule before its own blocks carry that work.
   */
  provenWork?: bigint;
  /**
   * Called once a block that extends the tip is known valid (every check passed, its state root
   * included), before its connect batch is written and `blockConnected` is emitted: gossip relays
   * it from here (docs/NETWORK.md, "Relay once valid"). Not called for a block that does not
   * extend the tip (a duplicate, an orphan, a side branch, a reorg) or is refused.
   */
  onValid?: () => void;
}

export interface AcceptResult {
  status: AcceptStatus;
  hash: string;
  height?: number;
  /** for orphans: the first ancestor we lack */
  missingAncestor?: string;
}

/**
 * The chain service: block intake (orphans, validation, invalid marks), fork choice and the main
 * chain's state. Every block that passes header and body checks is stored, on whatever branch,
 * unless its branch trails the tip by too much work to matter (BLOCK_LOW_WORK, see
 * `checkBranchWork`); the main chain is the valid branch with the most cumulative work (ties:
 * first seen). Moving the main chain is reorg.ts (connect.ts for each block); the index is
 * block-index.ts.
 *
 * Calls that change the chain are serialised: one block is processed at a time.
 */
export class Chain extends TypedEmitter<ChainEvents> {
  readonly clock: Clock;
  private readonly params: NetworkParams;
  private readonly store: ChainStore;
  private readonly signatures: SignatureVerifier | undefined;
  private readonly log: Logger;
  private readonly metrics: ChainMetrics | undefined;
  private readonly index: BlockIndex;
  private readonly ctx: ChainContext;
  private readonly orphans: OrphanPool;
  /** blocks rejected without being stored, so a re-send is refused without work */
  private readonly recentlyRejected = new LruCache<string, string>(4096);
  private readonly intake: IntakeContext;
  private queue: Promise<unknown> = Promise.resolve();
  private opened = false;
  private haltState: ChainHalt | undefined;
  private readonly addressIndexMode: AddressIndexMode;
  private readonly addressIndex: AddressIndexState = { enabled: false };
  private readonly reorgs = new ReorgGate();

  constructor(opts: ChainOptions, deps: ChainDeps) {
    super();
    this.params = opts.params;
    this.store = deps.store;
    this.signatures = deps.signatures;
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log ?? silentLogger;
    this.metrics = deps.metrics;
    this.index = new BlockIndex(opts.params);
    this.orphans = new OrphanPool(opts.orphanPool ?? DEFAULT_ORPHAN_POOL);
    this.addressIndexMode = opts.addressIndex ?? "follow";
    this.ctx = {
      addressIndex: this.addressIndex,
      params: this.params,
      store: this.store,
      index: this.index,
      log: this.log,
      emit: (event, payload) => this.emit(event, payload),
      reorgs: this.reorgs,
    };
    this.intake = { ...this.ctx, recentlyRejected: this.recentlyRejected, signatures: this.signatures };
  }

  /**
   * Loads the index, writes genesis into an empty store, checks that the stored state matches the
   * tip's state root (refusing to run otherwise), and finishes any interrupted reorg.
   */
  async open(): Promise<void> {
    if (this.opened) return;
    for await (const entry of this.store.indexEntries()) this.index.add(entry);
    if (this.index.size === 0) await writeGenesis(this.ctx);
    for (const hash of await this.store.mainChainHashes()) {
      const entry = this.index.get(toHex(hash));
      if (!entry)
        throw new StoreError(StoreErrorCode.CORRUPT, `main-chain block ${toHex(hash)} has no index entry`);
      this.index.pushMain(entry);
    }
    const tipHash = await this.store.getTip();
    if (!tipHash || !equalBytes(tipHash, this.tip.hash)) {
      throw new StoreError(StoreErrorCode.CORRUPT, "stored tip does not match the main chain");
    }
    await verifyTipState(this.store, this.tip);
    this.addressIndex.enabled = await prepareAddressIndex(
      this.store,
      this.index,
      this.addressIndexMode,
      this.log,
    );
    this.opened = true;
    await this.serialised(() => activateBestChain(this.ctx));
  }

  /**
   * Set while the chain refuses to write: a store write failed (STORE_WRITE_FAILED), free space
   * is low (STORE_DISK_LOW) or a corrupt record was read (STORE_CORRUPT). The index and caches
   * then equal what is on disk; `processBlock` throws STORE_HALTED until `resume` succeeds.
   */
  get halted(): ChainHalt | undefined {
    return this.haltState;
  }

  /** Stops block writes; logged and emitted once per halt (later reasons are dropped). */
  halt(code: string, reason: string): void {
    if (this.haltState) return;
    this.haltState = { code, reason, sinceMs: this.clock.nowMs() };
    const advice =
      code === StoreErrorCode.CORRUPT
        ? CORRUPTION_ADVICE
        : "free space on the datadir's filesystem; the node resumes by itself once a write succeeds";
    this.log.error(
      { code, reason, advice },
      "chain halted: no blocks are stored or mined until this is fixed",
    );
    this.emit("halted", this.haltState);
  }

  /**
   * Tries to leave a write halt: reopens the store (LevelDB keeps a failed background write as a
   * sticky error), makes one durable probe write, and moves to the best chain again (a reorg cut
   * short by the failure continues). Returns false, still halted, when a write still fails. A
   * corruption halt is never left here: it needs the operator.
   */
  resume(): Promise<boolean> {
    return this.serialised(async () => {
      const halt = this.haltState;
      if (!halt || halt.code === StoreErrorCode.CORRUPT) return halt === undefined;
      try {
        if (halt.code === StoreErrorCode.WRITE_FAILED) await this.store.reopen();
        await this.store.probeWrite(nowSeconds(this.clock));
      } catch (err) {
        this.log.debug({ err }, "store still refuses writes");
        return false;
      }
      this.haltState = undefined;
      this.log.info(
        { code: halt.code, haltedSeconds: (this.clock.nowMs() - halt.sinceMs) / 1000 },
        "chain resumed",
      );
      this.emit("resumed", halt);
      try {
        await activateBestChain(this.ctx);
      } catch (err) {
        this.haltOn(err);
      }
      return this.haltState === undefined;
    });
  }

  /** Halts when `err` is a store failure (write refused, corrupt record); returns `err`. */
  private haltOn(err: unknown): unknown {
    if (
      err instanceof StoreError &&
      (err.type.code === StoreErrorCode.WRITE_FAILED || err.type.code === StoreErrorCode.CORRUPT)
    ) {
      this.halt(err.type.code, err.message);
    }
    return err;
  }

  /** A read for the API: a corrupt record halts the chain (and the error is passed on). */
  private async guarded<T>(read: Promise<T>): Promise<T> {
    try {
      return await read;
    } catch (err) {
      throw this.haltOn(err);
    }
  }

  get tip(): BlockIndexEntry {
    return this.index.tip;
  }

  get height(): number {
    return this.index.height;
  }

  get networkParams(): NetworkParams {
    return this.params;
  }

  get orphanCount(): number {
    return this.orphans.count;
  }

  /** The tip state's tree nodes (what a block template computes its state root against). */
  get stateNodes(): TreeNodeReader {
    return this.store;
  }

  getEntry(hashHex: string): BlockIndexEntry | undefined {
    return this.index.get(hashHex);
  }

  /** The main-chain entry at a height, if any. */
  entryAtHeight(height: number): BlockIndexEntry | undefined {
    return this.index.atHeight(height);
  }

  isOnMainChain(entry: BlockIndexEntry): boolean {
    return this.index.isOnMainChain(entry);
  }

  /** Median time past of `entry`: a child's time must exceed it. */
  medianTimePast(entry: BlockIndexEntry): number {
    return this.index.medianTimePast(entry);
  }

  /** The bits a child of `parent` must carry. */
  childBits(parent: BlockIndexEntry): number {
    return this.index.childBits(parent);
  }

  async getBlock(hashHex: string): Promise<Block | undefined> {
    const entry = this.index.get(hashHex);
    return entry ? (await this.guarded(this.store.getBlock(entry.hash)))?.block : undefined;
  }

  /** A stored block's bytes as received or mined: what peers and packages are served. */
  async getBlockBytes(hashHex: string): Promise<Uint8Array | undefined> {
    const entry = this.index.get(hashHex);
    return entry ? this.guarded(this.store.getBlockBytes(entry.hash)) : undefined;
  }

  /** A main-chain transaction with the block that includes it. */
  getTransaction(
    txIdHex: string,
  ): Promise<{ tx: Transaction; blockHash: string; height: number; index: number } | undefined> {
    return this.guarded(this.findTransaction(txIdHex));
  }

  private async findTransaction(
    txIdHex: string,
  ): Promise<{ tx: Transaction; blockHash: string; height: number; index: number } | undefined> {
    const blockHash = await this.store.getTxBlock(fromHex(txIdHex));
    if (!blockHash) return undefined;
    const entry = this.index.get(toHex(blockHash));
    const stored = entry ? await this.store.getBlock(entry.hash) : undefined;
    if (!entry || !stored)
      throw new StoreError(
        StoreErrorCode.CORRUPT,
        `tx index entry ${txIdHex} points at missing block ${toHex(blockHash)}; ${CORRUPTION_ADVICE}`,
      );
    const index = stored.txIds.findIndex((id) => toHex(id) === txIdHex);
    if (index < 0)
      throw new StoreError(
        StoreErrorCode.CORRUPT,
        `tx index entry ${txIdHex} points at block ${entry.hashHex}, which lacks it; ${CORRUPTION_ADVICE}`,
      );
    return { tx: stored.block.txs[index]!, blockHash: entry.hashHex, height: entry.height, index };
  }

  /** A main-chain block by height. */
  async getBlockAtHeight(height: number): Promise<Block | undefined> {
    const entry = this.index.atHeight(height);
    return entry ? (await this.guarded(this.store.getBlock(entry.hash)))?.block : undefined;
  }

  /**
   * Resolves once the main chain is not half-way through a reorg (at once when it is not). A
   * reorg writes block by block, and between its writes the main chain ends below both tips: what
   * answers for the chain as a whole (peers' status, headers and block ranges; the API's reads)
   * waits for this.
   */
  settled(): Promise<void> {
    return this.reorgs.settled();
  }

  /** Main-chain hashes from the tip back, for a peer to find the fork point (see BlockIndex). */
  getLocator(): string[] {
    return this.index.locator();
  }

  /** The highest main-chain block named in a locator (genesis at worst, if it is ours). */
  findForkPoint(locator: readonly string[]): BlockIndexEntry | undefined {
    return this.index.forkPoint(locator);
  }

  /** Up to `count` main-chain entries from `fromHeight` upwards. */
  mainChainRange(fromHeight: number, count: number): BlockIndexEntry[] {
    return this.index.mainRange(fromHeight, count);
  }

  /** Whether the address index is kept (docs/API.md getAddressHistory). */
  get addressIndexEnabled(): boolean {
    return this.addressIndex.enabled;
  }

  /**
   * One page of an address's main-chain history from the address index: after `cursor` oldest
   * first, or before it newest first with `reverse`. Check `addressIndexEnabled` first.
   */
  async addressHistory(
    address: Uint8Array,
    opts: { cursor?: AddressCursor | undefined; reverse: boolean; limit: number },
  ): Promise<AddressIndexEntry[]> {
    if (!this.addressIndex.enabled) throw new RangeError("the address index is off");
    return this.guarded(this.store.addressEntries(address, opts));
  }

  /** Accounts at the tip, by hex address (absent = empty). */
  async getAccounts(addresses: readonly Uint8Array[]): Promise<Map<string, Account>> {
    return this.guarded(this.store.getAccounts(addresses));
  }

  /**
   * Validates and stores a block, moving the main chain if it now leads the most-work valid
   * branch. Throws BlockError (with `action`) when the block or the branch it completes is invalid.
   */
  processBlock(block: DecodedBlock, opts: ProcessBlockOptions = {}): Promise<AcceptResult> {
    const metrics = this.metrics;
    const provenWork = opts.provenWork ?? 0n;
    const accept = () => this.acceptUnlessHalted(block, provenWork, opts.onValid);
    if (!metrics) return this.serialised(accept);
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    return this.serialised(accept).then(
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

  /**
   * Validates and stores consecutive blocks in order (a sync batch, a block package), stopping at
   * the first that fails; the outcome of each block it got to, in order. Blocks that extend the tip
   * are pipelined: the next one's checks run while the one before is written (connect-run.ts).
   * Each block's outcome is what `processBlock` would have answered or thrown.
   */
  processBlocks(blocks: readonly DecodedBlock[], opts: ProcessBlockOptions = {}): Promise<BlockOutcome[]> {
    const metrics = this.metrics;
    let started = performance.now();
    const observe = (outcome: BlockOutcome): void => {
      const now = performance.now();
      metrics?.observeBlockImport((now - started) / 1000, outcome.ok ? outcome.result.status : "error");
      started = now;
    };
    return this.serialised(() =>
      connectRun(
        {
          ctx: this.intake,
          nowSeconds: () => nowSeconds(this.clock),
          acceptOne: (block, provenWork) => this.acceptUnlessHalted(block, provenWork),
          haltOn: (err) => this.haltOn(err),
          halted: () => this.haltState !== undefined,
          acceptOrphansOf: (hash) => this.acceptOrphansOf(hash),
          observe,
        },
        blocks,
        opts.provenWork ?? 0n,
      ),
    );
  }

  /**
   * The tip of every known branch (entries nothing builds on), plus the main tip, with where each
   * branch leaves the main chain.
   */
  chainTips(): { entry: BlockIndexEntry; fork: BlockIndexEntry }[] {
    const tips = new Set(this.index.leaves());
    tips.add(this.index.tip);
    return [...tips].map((entry) => {
      let fork = entry;
      while (!this.index.isOnMainChain(fork)) fork = this.index.parentOf(fork)!;
      return { entry, fork };
    });
  }

  /**
   * The operator's `invalidateBlock`: marks a stored block invalid with its descendants (persisted)
   * and moves the main chain off it. Resolves with the blocks that failed to connect on the way.
   * @throws RangeError for an unknown block or genesis
   */
  invalidateBlock(hashHex: string): Promise<Map<string, BlockError>> {
    return this.serialised(() => invalidateBlock(this.ctx, this.knownEntry(hashHex)));
  }

  /**
   * The operator's `reconsiderBlock`: clears the invalid marks of a block, its ancestors and
   * descendants, and runs fork choice again (see operator-marks.ts).
   * @throws RangeError for an unknown block
   */
  reconsiderBlock(hashHex: string): Promise<{ cleared: number; failures: Map<string, BlockError> }> {
    return this.serialised(() => {
      const entry = this.knownEntry(hashHex);
      // A block refused without being stored may be sent again after this.
      this.recentlyRejected.delete(hashHex);
      return reconsiderBlock(this.ctx, entry);
    });
  }

  private knownEntry(hashHex: string): BlockIndexEntry {
    const entry = this.index.get(hashHex);
    if (!entry) throw new RangeError(`no block ${hashHex} in the index`);
    return entry;
  }

  /**
   * Starts verifying these blocks' signatures in the worker pool (e.g. a whole sync batch right
   * after download), so they are cached by the time each block is processed.
   */
  prefetchSignatures(blocks: readonly DecodedBlock[]): void {
    if (this.signatures) for (const b of blocks) this.signatures.prefetch(b.block.txs, b.txIds);
  }

  /**
   * The chain work these consecutive headers prove for their branch (0n when the first one's
   * parent is unknown); pass it to `processBlock` as `provenWork`.
   */
  provenBranchWork(headers: readonly BlockHeader[]): bigint {
    return provenBranchWork(this.ctx, headers);
  }

  /**
   * A stored block as the start of a header chain (`checkHeaderRun`): its id, height, time, work,
   * ASERT anchor and the times of its last ≤ 11 ancestors. Undefined for an unknown block.
   */
  headerChainTip(hashHex: string): HeaderChainTip | undefined {
    const entry = this.index.get(hashHex);
    if (!entry) return undefined;
    return {
      hash: entry.hash,
      height: entry.height,
      time: entry.header.time,
      chainWork: entry.chainWork,
      block1Time: entry.block1Time,
      // oldest first, as checkHeaderRun appends each new header's time
      recentTimes: this.index.recentTimes(entry).reverse(),
    };
  }

  /** True when a branch proving `work` trails the tip too far to be stored (BLOCK_LOW_WORK). */
  isLowWork(work: bigint): boolean {
    return trailsTip(this.ctx, work);
  }

  private serialised<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** acceptBlock, refused while halted; a store failure on the way halts the chain. */
  private async acceptUnlessHalted(
    decoded: DecodedBlock,
    provenWork: bigint,
    onValid?: () => void,
  ): Promise<AcceptResult> {
    const halt = this.haltState;
    if (halt) {
      throw new StoreError(StoreErrorCode.HALTED, `chain halted (${halt.code}): ${halt.reason}`);
    }
    try {
      return await this.acceptBlock(decoded, provenWork, onValid);
    } catch (err) {
      throw this.haltOn(err);
    }
  }

  private async acceptBlock(
    decoded: DecodedBlock,
    provenWork = 0n,
    onValid?: () => void,
  ): Promise<AcceptResult> {
    const { hashHex, block } = decoded;
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
    if (!parent) return this.acceptOrphan(decoded);
    if (parent.status === BlockStatus.Invalid || parent.status === BlockStatus.InvalidChild) {
      this.recentlyRejected.set(hashHex, BlockErrorCode.INVALID_ANCESTOR);
      throw new BlockError({ code: BlockErrorCode.INVALID_ANCESTOR }, `parent ${parentHex} is invalid`);
    }

    let entry: BlockIndexEntry;
    try {
      entry = await validateNewBlock(this.intake, decoded, parent, nowSeconds(this.clock), provenWork);
    } catch (err) {
      // The orphans waiting for a low-work block carry its branch's work and can never attach
      // without it: the pool applies the same rule by letting them go.
      if (err instanceof BlockError && err.code === BlockErrorCode.LOW_WORK) {
        const dropped = this.orphans.dropDescendants(hashHex);
        if (dropped > 0) this.log.debug({ hash: hashHex, dropped }, "dropped orphans of a low-work block");
      }
      throw err;
    }
    const failure = (await storeAndActivate(this.ctx, entry, parent, decoded, onValid)).get(hashHex);
    if (failure) throw failure;
    if (entry.status === BlockStatus.InvalidChild) {
      throw new BlockError(
        { code: BlockErrorCode.INVALID_ANCESTOR },
        `an ancestor failed with ${entry.invalidCode}`,
      );
    }
    const result: AcceptResult = {
      status: this.index.isOnMainChain(entry) ? "connected" : "side-branch",
      hash: hashHex,
      height: entry.height,
    };
    await this.acceptOrphansOf(hashHex);
    return result;
  }

  private acceptOrphan(decoded: DecodedBlock): AcceptResult {
    const { block, hash, hashHex } = decoded;
    // Anti-spam: an orphan must at least meet the network's minimum difficulty to be kept.
    checkProofOfWork(hash, block.header.bits, powLimit(this.params));
    this.orphans.add(decoded, nowSeconds(this.clock));
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
          this.haltOn(err);
          if (this.haltState) return;
          this.log.warn({ err, hash: child.hashHex }, "orphan block rejected when its parent arrived");
        }
      }
    }
  }
}
