import type { PeerId, PrivateKey } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import type { BlockOutcome } from "../chain/index.js";
import { BlockError, checkHeaderRun, type HeaderChainTip } from "../consensus/index.js";
import type { BlockHeader } from "../primitives/index.js";
import { equalBytes, fromHex, toHex } from "../primitives/index.js";
import {
  type Clock,
  type Logger,
  nowSeconds,
  silentLogger,
  systemClock,
  TypedEmitter,
} from "../util/index.js";
import { openBatch } from "./batch.js";
import { Batch, BatchStatus } from "./batch-state.js";
import type { BatchRequest, StatusMessage } from "./codec.js";
import { MAX_REQUEST_FRAME } from "./codec.js";
import { isSyncError, SyncError, SyncErrorCode } from "./errors.js";
import type { SyncEvents, SyncProgress } from "./events.js";
import { byteBudget } from "./frame.js";
import { resolveSyncOptions, type SyncOptions } from "./options.js";
import { PeerJudge } from "./peer-judge.js";
import { PeerSet, type PeerSet as PeerSetType, type SyncPeer } from "./peer-set.js";
import type { ReceivedBatch } from "./protocols/batch-io.js";
import { blocksByHashHandler, requestBlocksByHash } from "./protocols/blocks-by-hash.js";
import { blocksByRangeHandler, requestBlocksByRange } from "./protocols/blocks-by-range.js";
import { headersHandler, requestHeaders } from "./protocols/headers.js";
import { type SyncProtocolIds, syncProtocolIds } from "./protocols/ids.js";
import { locatorHandler } from "./protocols/locator.js";
import { checkSameNetwork, localStatus, requestStatus, statusHandler } from "./protocols/status.js";
import { RateMeter } from "./rate-meter.js";
import { type InboundLimits, type RequestHandler, serveProtocol } from "./reqresp.js";
import type { PeerScorer, SyncChain, SyncLibp2p } from "./types.js";

/** What the sync service uses; the composition root passes exactly these. */
export interface SyncDeps {
  libp2p: SyncLibp2p;
  chain: SyncChain;
  /** this node's libp2p identity key: signs the batches we serve */
  privateKey: PrivateKey;
  /** charges peers by the network's one penalty table and keeps the security log */
  scorer: PeerScorer;
  /** wall clock (default systemClock); when a peer that failed us may serve again */
  clock?: Clock;
  log?: Logger;
}

/** A peer's header chain above the fork point, checked header by header: what bodies are fetched for. */
interface VerifiedHeaders {
  forkHeight: number;
  /** ids above the fork point, in height order */
  hashes: Uint8Array[];
  /** the last checked header (its chainWork is the work the headers prove) */
  tip: HeaderChainTip;
}

// Peers whose failures (strikes) sync remembers across disconnects.
const MAX_JUDGED_PEERS = 1024;

/**
 * Keeps the chain on the most-work chain its peers know. On connect (and when a peer announces
 * work) it exchanges status; when a peer has more work, sync is headers-first: it fetches that
 * peer's main-chain headers above the fork point (headers protocol) and checks them as a chain
 * with the pure header rules (`checkHeaderRun`: linkage, ASERT bits, proof of work, median time,
 * future limit) — a peer whose headers fail, or prove less work than its status claimed, is caught
 * before a single body is requested. Then it splits the checked ids into batches, downloads them
 * in parallel from every peer that reaches them (signed batches, verified before decoding), and
 * imports them strictly in order through `chain.processBlock`, passing the work the headers prove. A stall is a request past its
 * deadline — an idle chain is not a stall — and the batch goes to another peer, a bounded number
 * of times. After a restart it simply asks again from the current tip.
 *
 * Peers are judged by what they deliver (PeerJudge): a peer that times out, or anchors a round
 * that raises our work by nothing, is left out of sync for a backoff that doubles with each
 * failure in a row and is charged from the second on until banned; its status claims do not
 * start rounds while it is backed off, so one liar can neither stall sync nor restart it forever.
 */
export class SyncManager extends TypedEmitter<SyncEvents> {
  private readonly opts: SyncOptions;
  private readonly deps: SyncDeps;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly ids: SyncProtocolIds;
  private readonly peers: PeerSetType = new PeerSet();
  private readonly meter: RateMeter;
  private readonly tasks = new Set<Promise<unknown>>();
  private controller: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private again = false;
  private syncing = false;
  private roundTarget = 0;
  /** height of the last header checked in the running round (0: none yet) */
  private headerHeight = 0;
  private wake: (() => void) | undefined;
  private readonly judge: PeerJudge;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryAtMs = 0;
  /** missing ancestors whose walk is running: one walk per missing block, however many orphans name it */
  private readonly walks = new Set<string>();
  /** peers with a status request running: true when another announcement came in meanwhile */
  private readonly statusRequests = new Map<string, boolean>();

  constructor(opts: Partial<SyncOptions>, deps: SyncDeps) {
    super();
    this.opts = resolveSyncOptions(opts);
    this.deps = deps;
    this.log = (deps.log ?? silentLogger).child({ service: "sync" });
    this.clock = deps.clock ?? systemClock;
    this.ids = syncProtocolIds(deps.chain.networkParams.name);
    this.meter = new RateMeter(this.opts.rateWindowMs);
    this.judge = new PeerJudge({
      baseMs: this.opts.peerBackoffBaseMs,
      maxMs: this.opts.peerBackoffMaxMs,
      maxPeers: MAX_JUDGED_PEERS,
    });
  }

  /** The protocol ids this node serves. */
  get protocols(): SyncProtocolIds {
    return this.ids;
  }

  /** Registers the five handlers and starts reacting to connections. Idempotent. */
  async start(): Promise<void> {
    if (this.controller) return;
    this.controller = new AbortController();
    const { libp2p, chain, privateKey } = this.deps;
    const batchCtx = { chain, privateKey, limits: this.opts };
    const handlers: [string, RequestHandler][] = [
      [this.ids.status, statusHandler(chain, (peer, status) => this.onRemoteStatus(peer, status))],
      [this.ids.locator, locatorHandler(chain, this.opts)],
      [this.ids.headers, headersHandler(chain, this.opts)],
      [this.ids.blocksByRange, blocksByRangeHandler(batchCtx)],
      [this.ids.blocksByHash, blocksByHashHandler(batchCtx)],
    ];
    const limits: InboundLimits = {
      maxStreamsPerPeer: this.opts.maxInboundStreamsPerPeer,
      budget: byteBudget(this.opts.maxUndecodedBytesPerPeer),
      open: new Map(),
    };
    const serveOpts = {
      timeoutMs: this.opts.requestTimeoutMs,
      maxRequestBytes: MAX_REQUEST_FRAME,
      limits,
      onBadRequest: (peer: PeerId, error: SyncError) => this.punish(peer.toString(), error, "frame"),
      onServerError: (peer: PeerId, err: unknown) =>
        this.log.warn({ err, peer: peer.toString() }, "sync handler failed"),
    };
    try {
      // libp2p's own per-connection limit stays above ours, so ours (which charges) acts first
      for (const [protocol, handler] of handlers)
        await libp2p.handle(protocol, serveProtocol(handler, serveOpts), {
          maxInboundStreams: this.opts.maxInboundStreamsPerPeer + 1,
        });
    } catch (err) {
      await this.stop();
      throw err;
    }
    libp2p.addEventListener("peer:connect", this.onConnect);
    libp2p.addEventListener("peer:disconnect", this.onDisconnect);
    for (const peer of libp2p.getPeers()) this.track(this.handshake(peer));
  }

  /** Unregisters the handlers, aborts requests and waits for the running round. Idempotent. */
  async stop(): Promise<void> {
    const controller = this.controller;
    if (!controller) return;
    controller.abort();
    this.wake?.();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const { libp2p } = this.deps;
    libp2p.removeEventListener("peer:connect", this.onConnect);
    libp2p.removeEventListener("peer:disconnect", this.onDisconnect);
    await libp2p.unhandle(Object.values(this.ids)).catch(() => undefined);
    await Promise.allSettled([this.loop, ...this.tasks]);
    this.controller = undefined;
  }

  /** Height, target, rate and ETA, for headers and bodies apart; cheap, for the API and the dashboard. */
  progress(): SyncProgress {
    const height = this.deps.chain.height;
    const headerHeight = Math.max(height, this.syncing ? this.headerHeight : 0);
    const targetHeight = Math.max(
      headerHeight,
      this.peers.maxHeight(this.clock.nowMs()),
      this.syncing ? this.roundTarget : 0,
    );
    const blocksPerSecond = this.meter.perSecond();
    return {
      syncing: this.syncing,
      height,
      targetHeight,
      headers: { height: headerHeight, targetHeight },
      // Bodies can go as far as the checked headers reach (while a round runs).
      blocks: { height, targetHeight: this.syncing ? headerHeight : targetHeight },
      blocksPerSecond,
      etaSeconds:
        blocksPerSecond > 0 ? (targetHeight - height) / blocksPerSecond : targetHeight > height ? null : 0,
      peers: this.peers.size,
      bufferedBytes: this.bufferedBytes(),
    };
  }

  /** What `peerId` last told us in the status exchange (undefined: no status yet). */
  peerStatus(peerId: string): { height: number; tipHash: string; chainWork: bigint } | undefined {
    const peer = this.peers.get(peerId);
    return peer
      ? { height: peer.status.height, tipHash: peer.tipHex, chainWork: peer.status.chainWork }
      : undefined;
  }

  /**
   * The composition root calls this when the chain leaves a halt: no round starts while the chain
   * is halted, so sync catches up from the peers it knows without waiting for their next status.
   */
  resume(): void {
    this.scheduleSync();
  }

  /**
   * The composition root calls this when gossip shows a peer has blocks we lack. One status request
   * per peer at a time: announcements that arrive while it runs (a fresh chain mines hundreds of
   * blocks a second) are answered by one more request after it, not one each.
   */
  onPeerAnnouncedWork(peerId: string): void {
    if (!this.controller) return;
    if (this.statusRequests.has(peerId)) {
      this.statusRequests.set(peerId, true);
      return;
    }
    this.statusRequests.set(peerId, false);
    this.track(
      this.handshake(this.toPeerId(peerId)).finally(() => {
        const again = this.statusRequests.get(peerId) === true;
        this.statusRequests.delete(peerId);
        if (again) this.onPeerAnnouncedWork(peerId);
      }),
    );
  }

  /**
   * Sends our status (tip and chain work) to `peerId` again; the composition root calls this after a
   * reorg or a finished sync, so a peer with less work learns of our branch and syncs from us.
   * (A status exchange goes both ways, so it is the same handshake as for a peer's announcement.)
   */
  announceOurTip(peerId: string): void {
    if (!this.controller) return;
    this.track(this.handshake(this.toPeerId(peerId)));
  }

  /**
   * Fetches a gossiped orphan's missing ancestors from `peerId` by hash, newest first, until one
   * connects (the chain's orphan pool then attaches the rest) or `maxAncestorSteps` are spent;
   * then falls back to a locator sync with that peer.
   */
  async requestAncestors(peerId: string, missingAncestorHex: string): Promise<void> {
    const signal = this.controller?.signal;
    if (!signal) return;
    // A running round already fetches toward the most work we know of, and a block that many
    // orphans miss needs one walk, not one per orphan: fetching it again for each (a fresh chain
    // mines hundreds a second) kept a joining node at one height for 20-30 s, busy with duplicate
    // requests (docs/SYNC.md, "Orphans from gossip"). Learning the peer's tip is enough then.
    if (this.syncing || this.walks.has(missingAncestorHex) || this.walks.size >= this.opts.maxAncestorWalks) {
      this.onPeerAnnouncedWork(peerId);
      return;
    }
    this.walks.add(missingAncestorHex);
    try {
      await this.walkAncestors(peerId, missingAncestorHex);
    } finally {
      this.walks.delete(missingAncestorHex);
    }
  }

  private async walkAncestors(peerId: string, missingAncestorHex: string): Promise<void> {
    const peer = this.toPeerId(peerId);
    let wanted = missingAncestorHex;
    try {
      for (let step = 0; step < this.opts.maxAncestorSteps; step++) {
        const asked: BatchRequest = { kind: "hashes", hashes: [fromHex(wanted)] };
        const received = await requestBlocksByHash(
          this.deps.libp2p,
          peer,
          this.ids.blocksByHash,
          asked,
          this.reqOpts(),
        );
        const opened = this.open(peerId, peer, received, asked);
        const block = opened.blocks[0];
        if (!block) break;
        // An ancestor's height is unknown until it connects.
        const [outcome] = await this.deps.chain.processBlocks([block]);
        if (!outcome?.ok || outcome.result.status !== "orphan") {
          this.judgeImport(peerId, received, outcome, -1);
          return;
        }
        wanted = outcome.result.missingAncestor ?? toHex(block.block.header.prevHash);
      }
    } catch (err) {
      if (!isSyncError(err)) throw err;
      this.punish(peerId, err, "batch");
      if (
        isSyncError(
          err,
          SyncErrorCode.STOPPED,
          SyncErrorCode.BAD_BATCH_SIGNATURE,
          SyncErrorCode.INVALID_BATCH,
        )
      )
        return;
    }
    this.onPeerAnnouncedWork(peerId);
  }

  private readonly onConnect = (evt: CustomEvent<PeerId>): void => {
    this.track(this.handshake(evt.detail));
  };

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    this.peers.delete(evt.detail.toString());
  };

  private track(task: Promise<unknown>): void {
    this.tasks.add(task);
    void task.finally(() => this.tasks.delete(task));
  }

  private toPeerId(id: string): PeerId {
    return this.peers.get(id)?.peerId ?? peerIdFromString(id);
  }

  private reqOpts() {
    return { timeoutMs: this.opts.requestTimeoutMs, signal: this.controller?.signal ?? AbortSignal.abort() };
  }

  private async handshake(peer: PeerId): Promise<void> {
    try {
      const status = await requestStatus(
        this.deps.libp2p,
        peer,
        this.ids.status,
        this.deps.chain,
        this.reqOpts(),
      );
      this.onRemoteStatus(peer, status);
    } catch (err) {
      if (!isSyncError(err)) throw err;
      this.punish(peer.toString(), err, "frame");
      if (isSyncError(err, SyncErrorCode.TIMEOUT)) this.failed(peer.toString(), "status timed out");
    }
  }

  /** A peer's status, from our request or theirs: wrong network disconnects; more work syncs. */
  private onRemoteStatus(peer: PeerId, status: StatusMessage): void {
    const id = peer.toString();
    try {
      checkSameNetwork(localStatus(this.deps.chain), status);
    } catch (err) {
      if (!isSyncError(err)) throw err;
      this.punish(id, err, "frame");
      this.peers.delete(id);
      // After the answer is written: the peer should learn our status too.
      setImmediate(() => void this.deps.libp2p.hangUp(peer).catch(() => undefined));
      return;
    }
    const known = this.peers.set(peer, status);
    // A peer that reconnects keeps the backoff it earned.
    known.unavailableUntil = Math.max(known.unavailableUntil, this.judge.backedOffUntil(id));
    this.emit("peerStatus", {
      peerId: id,
      height: status.height,
      tipHash: known.tipHex,
      chainWork: status.chainWork,
    });
    if (status.chainWork <= this.deps.chain.tip.chainWork) return;
    // A backed-off peer's claim starts no round: it is tried again when its backoff ends.
    if (known.unavailableUntil > this.clock.nowMs()) this.retryAt(known.unavailableUntil);
    else this.scheduleSync();
  }

  /**
   * `peerId` failed us (a timeout, a failed stream, or a round it anchored that delivered no
   * work): it is left out of sync for a backoff that doubles with each failure since it last
   * delivered, and from the second failure in a row charged SYNC_NOT_DELIVERING, so a peer that
   * keeps failing ends banned. A failed stream (`charge` false) backs off only: a peer that went
   * away looks the same.
   */
  private failed(peerId: string, reason: string, charge = true): void {
    const { count, untilMs, counted } = this.judge.strike(peerId, this.clock.nowMs());
    const peer = this.peers.get(peerId);
    if (peer) peer.unavailableUntil = untilMs;
    if (!counted) return;
    this.log.debug({ peer: peerId, failures: count, untilMs }, "sync peer backed off");
    if (charge && count >= 2)
      this.punish(
        peerId,
        new SyncError(SyncErrorCode.NOT_DELIVERING, `${reason} (${count} failures in a row)`),
        "frame",
      );
    this.retryAt(untilMs);
  }

  /** Schedules a sync when a backoff ends (one timer, the earliest wanted). */
  private retryAt(atMs: number): void {
    if (!this.controller || (this.retryTimer && this.retryAtMs <= atMs)) return;
    clearTimeout(this.retryTimer);
    this.retryAtMs = atMs;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        this.scheduleSync();
      },
      Math.max(0, atMs - this.clock.nowMs()) + 1,
    );
    this.retryTimer.unref?.();
  }

  /** Starts a sync loop (or asks the running one to go again); none while the chain is halted. */
  private scheduleSync(): void {
    if (!this.controller || this.controller.signal.aborted || this.deps.chain.halted) return;
    if (this.loop) {
      this.again = true;
      return;
    }
    this.loop = this.runSync()
      .catch((err) => {
        this.syncing = false;
        // The chain logged its halt; a write it refused is not a sync failure, nor the peer's.
        if (this.deps.chain.halted) this.pausedForHalt();
        else if (!isSyncError(err, SyncErrorCode.STOPPED)) this.log.error({ err }, "sync round failed");
      })
      .finally(() => {
        this.loop = undefined;
        if (this.again) {
          this.again = false;
          this.scheduleSync();
        }
      });
  }

  private async runSync(): Promise<void> {
    const { chain } = this.deps;
    const started = performance.now();
    const startHeight = chain.height;
    this.meter.reset();
    this.headerHeight = 0;
    this.syncing = true;
    while (this.controller && !this.controller.signal.aborted) {
      const best = this.peers.best(this.clock.nowMs());
      if (!best || best.status.chainWork <= chain.tip.chainWork) break;
      const workBefore = chain.tip.chainWork;
      const strikesBefore = this.judge.count(best.id);
      await this.syncRound(best);
      // A halt mid-round says nothing about the peer: stop without judging it.
      if (chain.halted) break;
      if (chain.tip.chainWork > workBefore) this.judge.delivered(best.id);
      // Its claim was not backed by delivery (and it was not already judged for a timeout or its
      // headers), unless our tip passed the claim meanwhile (gossip during the round).
      else if (this.judge.count(best.id) <= strikesBefore && best.status.chainWork > chain.tip.chainWork)
        this.failed(best.id, "claimed work was not delivered");
    }
    this.syncing = false;
    if (this.controller?.signal.aborted) return;
    if (chain.halted) {
      this.pausedForHalt();
      return;
    }
    const tip = chain.tip;
    this.log.info({ height: tip.height, imported: tip.height - startHeight }, "sync complete");
    this.emit("syncComplete", {
      height: tip.height,
      hash: tip.hashHex,
      importedBlocks: Math.max(0, tip.height - startHeight),
      seconds: (performance.now() - started) / 1000,
    });
  }

  /** Logged once per halt: no round starts again until `resume`. */
  private pausedForHalt(): void {
    this.log.info({ height: this.deps.chain.height }, "sync paused: chain halted");
  }

  /** One round with `anchor`: its header chain first, checked, then the bodies of those headers. */
  private async syncRound(anchor: SyncPeer): Promise<void> {
    const verified = await this.fetchHeaderChain(anchor);
    if (!verified) return;
    const hashes = verified.hashes.map(toHex);
    this.roundTarget = verified.forkHeight + hashes.length;
    const batches: Batch[] = [];
    for (let i = 0; i < hashes.length; i += this.opts.maxBlocksPerBatch) {
      batches.push(
        new Batch(verified.forkHeight + 1 + i, hashes.slice(i, i + this.opts.maxBlocksPerBatch), this.opts),
      );
    }
    this.log.debug(
      { peer: anchor.id, fork: verified.forkHeight, blocks: hashes.length },
      "sync round: headers checked, fetching bodies",
    );
    await this.runBatches(batches, anchor.tipHex, verified.tip.chainWork);
  }

  /**
   * Fetches `anchor`'s main-chain headers above our fork point, run by run (each request's locator
   * starts with the last header checked), checking each run against the header before it, until
   * the peer's chain ends or `maxHeadersPerRound` are held. Returns undefined — and no body is
   * ever requested — when a header fails (SYNC_INVALID_HEADERS) or the whole chain proves less
   * work than the peer's status claimed (SYNC_WORK_NOT_PROVEN), or the request failed.
   */
  private async fetchHeaderChain(anchor: SyncPeer): Promise<VerifiedHeaders | undefined> {
    const { chain, libp2p } = this.deps;
    const params = chain.networkParams;
    const ourLocator = chain.getLocator();
    let locator = ourLocator;
    let from: HeaderChainTip | undefined;
    let forkHeight = 0;
    const hashes: Uint8Array[] = [];
    let ended = false;
    while (hashes.length < this.opts.maxHeadersPerRound) {
      const want = Math.min(this.opts.maxHeadersPerRequest, this.opts.maxHeadersPerRound - hashes.length);
      let answer: Awaited<ReturnType<typeof requestHeaders>>;
      try {
        answer = await requestHeaders(libp2p, anchor.peerId, this.ids.headers, locator, want, this.reqOpts());
      } catch (err) {
        if (!isSyncError(err)) throw err;
        this.requestFailed(anchor, err, "headers");
        return undefined;
      }
      if (!from) {
        // The fork point must be an entry of our locator: a block we hold.
        const fork = chain.headerChainTip(toHex(answer.forkHash));
        if (!fork || fork.height !== answer.forkHeight) {
          this.headersRefused(anchor, SyncErrorCode.INVALID_HEADERS, "fork point is not a block of ours");
          return undefined;
        }
        from = fork;
        forkHeight = fork.height;
      } else if (!equalBytes(answer.forkHash, from.hash)) {
        // Its main chain moved away from the headers we hold (a reorg): judge what we have.
        break;
      }
      if (answer.headers.length === 0) {
        ended = true;
        break;
      }
      const run = checkHeaderRun(answer.headers, from, nowSeconds(this.clock), params);
      for (const hash of run.hashes) hashes.push(hash);
      from = run.tip;
      this.headerHeight = from.height;
      this.roundTarget = from.height;
      const failure = run.failure;
      if (failure) {
        // A time too far ahead may become valid (our clock may lag): not proof; use what passed.
        if (failure.error.action === "ignore") break;
        this.headersRefused(anchor, SyncErrorCode.INVALID_HEADERS, failure.error.message, {
          blockCode: failure.error.type.code,
          height: from.height + 1,
        });
        return undefined;
      }
      this.emit("syncProgress", this.progress());
      // Its status tip: no need to ask for the empty answer past it.
      if (equalBytes(from.hash, anchor.status.tipHash)) {
        ended = true;
        break;
      }
      locator = [toHex(from.hash), ...ourLocator];
    }
    if (!from) return undefined;
    const work = from.chainWork;
    // A node's main-chain work only grows: headers that end below its status claim are a lie. (Our
    // own tip may have passed the claim meanwhile, through gossip: that is no lie, only no use.)
    if (ended && work < anchor.status.chainWork) {
      this.headersRefused(
        anchor,
        SyncErrorCode.WORK_NOT_PROVEN,
        `status claimed work ${anchor.status.chainWork} at height ${anchor.status.height}; its headers prove ${work} at height ${from.height}`,
      );
      return undefined;
    }
    // A window that ends before the peer's chain does is fetched only when it already beats our tip
    // (otherwise the round delivers nothing, which the caller judges).
    if (work <= chain.tip.chainWork) return undefined;
    return { forkHeight, hashes, tip: from };
  }

  /** A headers answer caught `anchor` out: charged, backed off, its claim dropped, no bodies. */
  private headersRefused(
    anchor: SyncPeer,
    code: SyncErrorCode,
    reason: string,
    extra: Record<string, unknown> = {},
  ): void {
    this.punish(anchor.id, new SyncError(code, reason), "frame", undefined, undefined, extra);
    this.failed(anchor.id, reason, false);
    this.peers.delete(anchor.id);
  }

  /** A request to `anchor` failed: its penalty, and a backoff or (for broken bytes) its claim dropped. */
  private requestFailed(anchor: SyncPeer, err: SyncError, what: string): void {
    const code = err.type.code;
    if (code === SyncErrorCode.STOPPED) throw err;
    this.punish(anchor.id, err, "frame");
    // Bytes that break the protocol: its status is dropped (and the penalty is already heavy).
    if ([SyncErrorCode.WRONG_NETWORK, SyncErrorCode.MALFORMED, SyncErrorCode.OVERSIZED].includes(code))
      this.peers.delete(anchor.id);
    else this.failed(anchor.id, `${what} request failed: ${code}`, code !== SyncErrorCode.STREAM_FAILED);
  }

  /** Encoded bytes of the current round's downloaded batches not yet imported. */
  private bufferedBytes(): number {
    let sum = 0;
    for (const batch of this.roundBatches) sum += batch.bytes;
    return sum;
  }

  /** Downloads in parallel, processes in order; returns when all are done or one failed for good. */
  private async runBatches(batches: Batch[], anchorTip: string, headerWork: bigint): Promise<void> {
    this.roundBatches = batches;
    const signal = this.controller!.signal;
    const window = this.opts.maxConcurrentDownloads * 2;
    const pending = new Set<Promise<void>>();
    try {
      for (;;) {
        if (signal.aborted) throw new SyncError(SyncErrorCode.STOPPED);
        if (this.deps.chain.halted) return;
        const first = batches.findIndex((b) => b.status !== BatchStatus.Done);
        if (first === -1) return;
        if (batches.some((b) => b.status === BatchStatus.Failed)) return;
        for (const batch of batches.slice(first, first + window)) {
          if (
            batch.status !== BatchStatus.AwaitingDownload ||
            pending.size >= this.opts.maxConcurrentDownloads
          )
            continue;
          // Memory is bounded by bytes held, not by a count of batches (blocks vary in size);
          // the batch next in line is always fetched so the round can move.
          if (batch !== batches[first] && this.bufferedBytes() >= this.opts.maxBufferedBatchBytes) break;
          const peer = this.peers.pick(
            batch.endHeight,
            this.opts.maxRequestsPerPeer,
            batch.failedPeers,
            this.clock.nowMs(),
          );
          if (!peer) break;
          batch.startDownloading(peer.id);
          peer.inFlight++;
          const task = this.download(batch, peer, anchorTip).finally(() => {
            peer.inFlight--;
            pending.delete(task);
            this.wake?.();
          });
          pending.add(task);
        }
        const next = batches[first]!;
        if (next.status === BatchStatus.AwaitingProcessing) {
          // The low-work rule sees the whole downloaded run of this branch: a deep branch is
          // stored once the blocks we hold prove it comes within the margin of our tip. While
          // they do not yet and more of the branch is on its way, wait for it.
          // The checked headers prove their work for every block below them.
          const ahead = this.downloadedRun(batches, first);
          const downloaded = this.deps.chain.provenBranchWork(ahead);
          const provenWork = downloaded > headerWork ? downloaded : headerWork;
          const moreComing = pending.size > 0 && ahead.length < window * this.opts.maxBlocksPerBatch;
          if (!this.deps.chain.isLowWork(provenWork) || !moreComing) {
            await this.processBatch(next, provenWork);
            continue;
          }
        }
        // Nothing downloading and nobody to ask: this round cannot finish.
        if (pending.size === 0) return;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
      }
    } finally {
      await Promise.allSettled(pending);
      this.roundBatches = [];
    }
  }

  private async download(batch: Batch, peer: SyncPeer, anchorTip: string): Promise<void> {
    const { libp2p } = this.deps;
    // Peers on the anchor's tip serve by height; others by id (they may be on another branch).
    const asked: BatchRequest =
      peer.tipHex === anchorTip
        ? { kind: "range", startHeight: batch.startHeight, count: batch.count }
        : { kind: "hashes", hashes: batch.expectedHashes.map(fromHex) };
    let received: ReceivedBatch | undefined;
    try {
      received =
        asked.kind === "range"
          ? await requestBlocksByRange(libp2p, peer.peerId, this.ids.blocksByRange, asked, this.reqOpts())
          : await requestBlocksByHash(libp2p, peer.peerId, this.ids.blocksByHash, asked, this.reqOpts());
      const opened = this.open(peer.id, peer.peerId, received, asked);
      const matches =
        opened.hashes.length === batch.count && opened.hashes.every((h, i) => h === batch.expectedHashes[i]);
      if (!matches)
        throw new SyncError(SyncErrorCode.UNEXPECTED_BATCH, "batch does not hold the expected blocks");
      batch.downloadSucceeded(opened.blocks);
      this.emit("batchDownloaded", {
        peerId: peer.id,
        startHeight: batch.startHeight,
        count: batch.count,
        bytes: batch.bytes,
        bufferedBytes: this.bufferedBytes(),
      });
      // Signatures verify in worker threads while earlier batches are still being imported.
      this.deps.chain.prefetchSignatures(opened.blocks);
      this.evidence.set(batch, received);
    } catch (err) {
      if (!isSyncError(err)) throw err;
      if (err.type.code !== SyncErrorCode.STOPPED) this.punish(peer.id, err, "batch", received, batch);
      if (isSyncError(err, SyncErrorCode.TIMEOUT, SyncErrorCode.STREAM_FAILED))
        this.failed(
          peer.id,
          `batch request failed: ${err.type.code}`,
          err.type.code === SyncErrorCode.TIMEOUT,
        );
      if (
        isSyncError(
          err,
          SyncErrorCode.BAD_BATCH_SIGNATURE,
          SyncErrorCode.INVALID_BATCH,
          SyncErrorCode.MALFORMED,
        )
      ) {
        this.peers.delete(peer.id);
      }
      const status = batch.downloadFailed(err.type.code);
      this.log.debug(
        { peer: peer.id, start: batch.startHeight, code: err.type.code, status },
        "batch download failed",
      );
    }
  }

  private readonly evidence = new WeakMap<Batch, ReceivedBatch>();
  /** The batches of the round being run (for the bytes they hold). */
  private roundBatches: readonly Batch[] = [];

  /** Verifies a received batch against the sender's PeerId key before anything is decoded. */
  private open(peerIdStr: string, peer: PeerId, received: ReceivedBatch, asked: BatchRequest) {
    const key = peer.type === "Ed25519" ? peer.publicKey.raw : undefined;
    if (!key)
      throw new SyncError(SyncErrorCode.BAD_BATCH_SIGNATURE, `peer ${peerIdStr} has no Ed25519 identity`);
    return openBatch(received.batch, asked, key, this.deps.chain.networkParams.networkId);
  }

  /** The headers of the downloaded batches from `first` on, up to the first one not downloaded. */
  private downloadedRun(batches: readonly Batch[], first: number): BlockHeader[] {
    const headers: BlockHeader[] = [];
    for (const batch of batches.slice(first)) {
      if (batch.status !== BatchStatus.AwaitingProcessing || !batch.blocks) break;
      for (const b of batch.blocks) headers.push(b.block.header);
    }
    return headers;
  }

  /**
   * Imports a downloaded batch in order (pipelined: chain.processBlocks); an invalid block is proof
   * against its signer. `provenWork` is what the downloaded run of the branch proves (see the
   * low-work rule).
   */
  private async processBatch(batch: Batch, provenWork = 0n): Promise<void> {
    const blocks = batch.startProcessing();
    const peerId = batch.peerId ?? "";
    const received = this.evidence.get(batch);
    this.evidence.delete(batch);
    const outcomes = await this.deps.chain.processBlocks(blocks, { provenWork });
    for (let i = 0; i < blocks.length; i++) {
      const code = this.judgeImport(peerId, received, outcomes[i], batch.startHeight + i, batch);
      if (code) {
        if (code === SyncErrorCode.INVALID_BATCH) this.peers.delete(peerId);
        batch.processingFailed(code);
        return;
      }
    }
    batch.processingSucceeded();
    this.judge.delivered(peerId);
    this.meter.record(blocks.length);
    this.emit("batchProcessed", { peerId, startHeight: batch.startHeight, count: batch.count });
    this.emit("syncProgress", this.progress());
  }

  /**
   * What one imported block of a signed batch means for sync: undefined when it connected (or was
   * already known), else the batch's failure code. A rejected block is INVALID_BATCH (punished);
   * an orphan means the batch did not continue the chain we built (not proof, retry). Store
   * failures are rethrown; a block the run never reached (it stopped on a failed write) fails the
   * batch without blame.
   */
  private judgeImport(
    peerId: string,
    received: ReceivedBatch | undefined,
    outcome: BlockOutcome | undefined,
    height: number,
    batch?: Batch,
  ): SyncErrorCode | undefined {
    if (!outcome) return SyncErrorCode.UNEXPECTED_BATCH;
    if (outcome.ok) return outcome.result.status === "orphan" ? SyncErrorCode.UNEXPECTED_BATCH : undefined;
    const err = outcome.error;
    if (!(err instanceof BlockError)) throw err;
    // "ignore" (a time too far ahead may become valid later; a branch too far behind our tip was
    // asked for by us, and its server may simply hold an honest chain behind ours): not proof.
    if (err.action === "ignore") return SyncErrorCode.UNEXPECTED_BATCH;
    const error = new SyncError(
      SyncErrorCode.INVALID_BATCH,
      `signed batch holds an invalid block: ${err.type.code}`,
    );
    this.punish(peerId, error, "batch", received, batch, { blockCode: err.type.code, height });
    return SyncErrorCode.INVALID_BATCH;
  }

  /** One place that turns a sync error into a penalty (with its evidence) and an event. */
  private punish(
    peerId: string,
    error: SyncError,
    kind: "batch" | "frame",
    received?: ReceivedBatch,
    batch?: Batch,
    extra: Record<string, unknown> = {},
  ): void {
    const code = error.type.code;
    const detail: Record<string, unknown> = { reason: error.message, ...extra };
    if (batch) Object.assign(detail, { startHeight: batch.startHeight, count: batch.count });
    // A validly signed bad batch is proof: keep it whole. Other batches only by their ids.
    const evidence =
      code === SyncErrorCode.INVALID_BATCH && received
        ? { batch: toHex(received.raw) }
        : received
          ? { blockHashes: received.batch.blockHashes.map(toHex) }
          : {};
    const points = this.deps.scorer.penalize(peerId, code, { kind, detail: { ...detail, ...evidence } });
    if (batch && (code === SyncErrorCode.INVALID_BATCH || code === SyncErrorCode.BAD_BATCH_SIGNATURE)) {
      const blockCode = typeof extra.blockCode === "string" ? extra.blockCode : undefined;
      this.emit("batchRejected", {
        peerId,
        code,
        startHeight: batch.startHeight,
        count: batch.count,
        ...(blockCode ? { blockCode } : {}),
      });
    }
    if (points > 0) this.log.warn({ peer: peerId, code, points, ...detail }, "peer misbehaved in sync");
  }
}
