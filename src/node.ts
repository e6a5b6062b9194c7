import { join } from "node:path";
import {
  ApiServer,
  buildOpenApiDocument,
  dashboardPages,
  EventHub,
  type EventHubOptions,
  explorerPages,
} from "./api/index.js";
import type { Chain, ReorgEvent } from "./chain/index.js";
import { getNetworkParams, type NetworkParams } from "./consensus/index.js";
import { loadOrCreateNodeIdentity } from "./keystore/index.js";
import { writeBackup } from "./maintenance/index.js";
import type { Mempool } from "./mempool/index.js";
import { NodeMetrics } from "./metrics/index.js";
import type { MinerPool } from "./miner/index.js";
import { blockGossipHandler, createNetworkHost, LevelPeerDb, type NetworkHost } from "./network/index.js";
import type { BlockProducer } from "./node/block-producer.js";
import { BlockTemplates } from "./node/block-templates.js";
import { createChainServices } from "./node/chain-services.js";
import { DiskSpaceMonitor } from "./node/disk-space.js";
import { Lifecycle, NodeStartError } from "./node/lifecycle.js";
import { MempoolExchange } from "./node/mempool-exchange.js";
import { MinerRecipientError, resolveMinerRecipient } from "./node/miner-recipient.js";
import { createMiningServices } from "./node/mining-services.js";
import { publishNodeEvents } from "./node/node-events.js";
import { penaltyFor } from "./node/penalties.js";
import { buildRpcMethods } from "./node/rpc-methods.js";
import { API_VERSION, RPC_SCHEMAS } from "./node/rpc-schemas.js";
import type { NodeOptions } from "./options.js";
import { decodeTransaction, encodeTransaction, TxType, toHex, transactionId } from "./primitives/index.js";
import { prepareDatadir } from "./store/index.js";
import { SyncManager, type SyncOptions } from "./sync/index.js";
import type { Logger } from "./util/index.js";
import { type Clock, systemClock } from "./util/index.js";

export { NodeStartError } from "./node/lifecycle.js";

/** Reorg reports kept for the API (newest last). */
const REORG_REPORTS_KEPT = 50;
/** At most one "sync progress" log line per this interval. */
const SYNC_LOG_INTERVAL_MS = 5_000;

export interface NodeDeps {
  log: Logger;
  /** wall clock for every service that reads the time (default systemClock) */
  clock?: Clock;
  /**
   * false: a mining node starts with its producer idle, mining only when `producer.start()` is
   * called (the simulation mines exact block counts; default true)
   */
  startProducer?: boolean;
  /** sync tunables (tests shorten deadlines and backoffs); defaults otherwise */
  syncOptions?: Partial<SyncOptions>;
  /** event stream bounds (ring, subscriber cap, per-subscriber queue); DEFAULT_EVENT_HUB_OPTIONS otherwise */
  eventOptions?: Partial<EventHubOptions>;
}

export interface QuarryNode {
  readonly options: NodeOptions;
  readonly chain: Chain;
  readonly mempool: Mempool;
  readonly host: NetworkHost;
  readonly sync: SyncManager;
  readonly producer: BlockProducer | undefined;
  readonly miner: MinerPool | undefined;
  readonly api: ApiServer;
  /** the live event stream served at GET /events */
  readonly events: EventHub;
  /** block templates for external miners (getBlockTemplate, its long polls) */
  readonly templates: BlockTemplates;
  /** Prometheus registry and collectors, served at GET /metrics */
  readonly metrics: NodeMetrics;
  readonly reorgs: readonly ReorgEvent[];
  /** the datadir's free space, watched (halts the chain under --min-free-space) */
  readonly disk: DiskSpaceMonitor;
  /** resolves when the API's `stop` method is called (the CLI also stops on SIGINT/SIGTERM) */
  readonly stopRequested: Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * THE COMPOSITION ROOT. Creates every service in dependency order, wires their events, and stops
 * them in reverse. Nothing else in Quarry constructs a service or subscribes one to another.
 */
export async function createNode(options: NodeOptions, deps: NodeDeps): Promise<QuarryNode> {
  const log = deps.log;
  const clock = deps.clock ?? systemClock;
  const params = getNetworkParams(options.network);
  const datadir = options.datadir;
  // datadir: refuses a missing or damaged chain store; creates one only in a new datadir
  await prepareDatadir({ datadir, network: params.name, create: true, checkCaches: true }, { log });

  // metrics: read from the services below at scrape time (each source is called only then)
  const metrics = new NodeMetrics(
    { labels: { network: params.name } },
    {
      sources: {
        height: () => chain.height,
        peers: () => host.connectedPeers().length,
        verdicts: () => host.verdicts.snapshot(),
        sync: () => sync.progress(),
        mempool: () => ({ size: mempool.size, bytes: mempool.bytes }),
        hashrate: () => miner?.hashrate ?? 0,
        blocksMined: () => producer?.blocksMined ?? 0,
        haltCode: () => chain.halted?.code,
        datadirFreeBytes: () => disk.free,
        events: () => ({
          subscribers: events.subscriberCount,
          queuedBytes: events.queuedBytes,
          dropped: events.droppedCounts(),
        }),
      },
    },
  );
  // identity: the datadir's libp2p key (0600), stable across restarts
  const identity = await loadOrCreateNodeIdentity(datadir);
  // store, signature verifier, chain, mempool: shared with the offline commands (node/chain-services)
  const local = createChainServices(
    { datadir, params, addressIndex: options.addressIndex ? "on" : "off" },
    { log, metrics, clock },
  );
  const { chain, mempool } = local;
  // disk space: halts the chain before the datadir's filesystem fills, resumes it when there is room
  const disk = new DiskSpaceMonitor(
    { path: datadir, minFreeBytes: options.minFreeSpace, intervalMs: options.diskCheckInterval * 1000 },
    { chain, log },
  );
  // peer db: known peers, bans, security log at <datadir>/peers
  const peerDb = new LevelPeerDb({ location: join(datadir, "peers") });
  // network host: needs the identity, the peer db, the one penalty table and the metrics registry
  // (libp2p's own metrics register there, so GET /metrics serves them beside Quarry's)
  const host = await createNetworkHost(
    {
      network: params.name,
      listen: [`/ip4/${options.p2pHost}/tcp/${options.p2pPort}`],
      announce: options.announce,
      bootstrap: options.bootstrap,
      localNetwork: params.name !== "testnet",
      nat: { reachability: options.reachability, portMapping: options.nat },
      peers: { minPeers: options.minPeers, maxPeers: options.maxPeers },
    },
    {
      privateKey: identity.privateKey,
      penalties: penaltyFor,
      log,
      peerDb,
      clock,
      metricsRegistry: metrics.registry,
    },
  );
  // sync: needs libp2p and reputation (the one penalty table; it also keeps the security log)
  // from the host, the chain, the identity (batch signatures) and the clock
  const sync = new SyncManager(deps.syncOptions ?? {}, {
    libp2p: host.libp2p,
    chain,
    privateKey: identity.privateKey,
    scorer: host.reputation,
    clock,
    log: log.child({ module: "sync" }),
  });
  // mempool exchange: asks each new peer for its mempool (needs the host and the mempool)
  const mempoolExchange = new MempoolExchange({ network: params.name }, { host, mempool, log });
  // miner and producer: only when mining; need the chain, the mempool and the coinbase recipient
  const mining = options.mine
    ? createMiningServices(
        {
          recipient: await nodeMinerRecipient(options, params),
          threads: options.threads,
          ...(deps.startProducer === undefined ? {} : { startProducer: deps.startProducer }),
        },
        { chain, mempool, log },
      )
    : undefined;
  const miner = mining?.miner;
  const producer = mining?.producer;
  const reorgs: ReorgEvent[] = [];
  let requestStop = () => {};
  const stopRequested = new Promise<void>((resolve) => {
    requestStop = resolve;
  });
  // backup: copies the open databases through snapshots, plus the datadir's key files
  const backup = (target: string) =>
    writeBackup(
      { datadir, target, params },
      { chain: local.store, mempool: local.mempoolStore, peers: peerDb },
    );
  const services = { options, chain, mempool, host, sync, producer, miner, metrics, reorgs, backup, disk };
  // block templates for external miners (getBlockTemplate): need the chain and the mempool
  const templates = new BlockTemplates(
    {},
    { chain, selectTransactions: (maxTxs, maxBytes) => mempool.selectForBlock(maxTxs, maxBytes) },
  );
  // event stream: fed by the chain, mempool and host below (wiring), served by the api
  const events = new EventHub(deps.eventOptions ?? {});
  // api: needs every service it reports on
  const methods = buildRpcMethods({ ...services, templates }, { stop: () => requestStop() });
  // GET /openapi.json: throws (the node does not start) if a method has no schema or the reverse
  const openapi = buildOpenApiDocument(methods, RPC_SCHEMAS, {
    title: `Quarry node API (${params.name})`,
    version: API_VERSION,
  });
  const api = new ApiServer(
    { host: options.apiHost, port: options.apiPort, datadir, vhosts: options.apiVhosts },
    {
      methods,
      openapi,
      metrics: () => metrics.render(),
      metricsContentType: metrics.contentType,
      pages: { ...dashboardPages(), ...explorerPages() },
      events,
      log,
    },
  );
  const node: QuarryNode = { ...services, api, events, templates, stopRequested, start, stop };

  // ---- wiring: the only place services react to each other ----
  let lastSyncLogMs = 0;
  sync.on("syncProgress", (p) => {
    const now = clock.nowMs();
    if (!p.syncing || now - lastSyncLogMs < SYNC_LOG_INTERVAL_MS) return;
    lastSyncLogMs = now;
    const percent = p.targetHeight > 0 ? Math.min(100, (100 * p.height) / p.targetHeight) : 100;
    log.info(
      {
        height: p.height,
        targetHeight: p.targetHeight,
        // headers-first: how far the checked headers reach (bodies follow them)
        headerHeight: p.headers.height,
        percent: Number(percent.toFixed(1)),
        blocksPerSecond: Number(p.blocksPerSecond.toFixed(1)),
        etaSeconds: p.etaSeconds === null ? null : Math.round(p.etaSeconds),
      },
      "sync progress",
    );
  });
  // new tips, reorgs, accepted transactions, peers and halts go out on GET /events
  publishNodeEvents(events, { chain, mempool, host });
  host.setBlockHandler(blockGossipHandler(chain));
  host.setTxHandler(async (bytes, fromPeerId) => {
    const tx = decodeTransaction(bytes);
    if (tx.type !== TxType.Transfer) return { result: "ignore", code: "TX_COINBASE_OUTSIDE_BLOCK" };
    // The gossip layer already charged this message to the peer's rate: the mempool does not.
    await mempool.add(tx, fromPeerId);
    return { result: "accept" };
  });
  // A peer whose batch imported served us blocks: eviction protects it.
  sync.on("batchProcessed", ({ peerId }) => host.noteDelivery(peerId, "block"));
  host.on("orphanBlock", ({ fromPeerId, missingAncestor }) => {
    // A store failure while importing the ancestors halts the chain (logged there); not a crash.
    sync.requestAncestors(fromPeerId, missingAncestor).catch((err: unknown) => {
      if (!chain.halted) log.warn({ err, fromPeerId }, "fetching ancestors failed");
    });
  });
  chain.on("reorg", (report) => {
    // Returned transfers go back to the mempool (chain-services wires that) and out to peers again,
    // so any miner can include them.
    void mempool.settled().then(() => {
      for (const tx of report.returnedTransactions) {
        if (mempool.has(toHex(transactionId(tx)))) void host.publishTx(encodeTransaction(tx)).catch(() => 0);
      }
    });
    reorgs.push(report);
    metrics.observeReorg(report.depth);
    if (reorgs.length > REORG_REPORTS_KEPT) reorgs.shift();
    log.warn(
      {
        depth: report.depth,
        forkHeight: report.forkPoint.height,
        oldTip: report.oldTip,
        newTip: report.newTip,
        returnedTxs: report.returnedTransactions.length,
      },
      "reorg",
    );
  });
  // A node that switched branches or finished syncing re-sends its status to every peer (a status
  // request carries the sender's tip and work), so a peer with less work syncs from it. Needed
  // because blocks that arrive by sync are not gossiped, and re-publishing a block this node once
  // ignored as an orphan is dropped by gossipsub as a duplicate: without it a heavier branch
  // reached only the peers that happened to ask (the 50-node partition/heal simulation stalled).
  const announceTip = () => {
    for (const peer of host.connectedPeers()) sync.announceOurTip(peer);
  };
  chain.on("reorg", announceTip);
  sync.on("syncComplete", announceTip);
  // Sync starts no round while the chain is halted; on resume it catches up from the peers it
  // knows, and a fresh status exchange tells it (and them) what changed meanwhile.
  chain.on("resumed", () => {
    sync.resume();
    announceTip();
  });
  // A long-polling getBlockTemplate answers on every tip or mempool change.
  // (every disconnect of the tip is part of a reorg, which reports it)
  chain.on("blockConnected", () => templates.noteChange("tip"));
  chain.on("reorg", () => templates.noteChange("tip"));
  mempool.on("txAdded", () => templates.noteChange("mempool"));
  mempool.on("txRemoved", () => templates.noteChange("mempool"));
  producer?.on("blockMined", ({ bytes }) => {
    void host.publishBlock(bytes).catch((err: unknown) => log.warn({ err }, "publishing block failed"));
  });

  const lifecycle = new Lifecycle(
    [
      ...local.steps,
      ["disk space monitor", () => disk.start(), () => disk.stop()],
      ["peer db", () => peerDb.open(), () => peerDb.close()],
      ["network", () => host.start(), () => host.stop()],
      ["sync", () => sync.start(), () => sync.stop()],
      ["mempool exchange", () => mempoolExchange.start(), () => mempoolExchange.stop()],
      ...(mining?.steps ?? []),
      ["block templates", async () => undefined, async () => templates.stop()],
      ["api", () => api.start(), () => api.stop()],
    ],
    log,
  );
  async function start(): Promise<void> {
    await lifecycle.start();
    log.info(
      {
        network: params.name,
        peerId: host.peerId,
        p2p: host.multiaddrs(),
        api: api.url,
        height: chain.height,
        tip: chain.tip.hashHex,
        mining: options.mine,
      },
      "node started",
    );
  }

  function stop(): Promise<void> {
    return lifecycle.stop();
  }

  return node;
}

/** The coinbase recipient of a mining node: `minerAddress`, else the keystore key `minerKey`. */
async function nodeMinerRecipient(options: NodeOptions, params: NetworkParams): Promise<Uint8Array> {
  const source = options.minerAddress ? { address: options.minerAddress } : { key: options.minerKey ?? "" };
  try {
    return await resolveMinerRecipient({ datadir: options.datadir, params }, source);
  } catch (err) {
    if (err instanceof MinerRecipientError)
      throw new NodeStartError({ code: "NODE_START_FAILED", stage: "miner" }, err.message);
    throw err;
  }
}
