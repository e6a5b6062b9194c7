import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { dashboardPages } from "./api/dashboard.js";
import { ApiServer } from "./api/server.js";
import { Chain } from "./chain/chain.js";
import type { ReorgEvent } from "./chain/events.js";
import { SignatureVerifier } from "./chain/signature-verifier.js";
import { getNetworkParams } from "./consensus/params.js";
import { Keystore, loadOrCreateNodeIdentity } from "./keystore/index.js";
import { LevelMempoolStore, Mempool } from "./mempool/index.js";
import { NodeMetrics } from "./metrics/index.js";
import { MinerPool } from "./miner/index.js";
import { blockGossipHandler, createNetworkHost, LevelPeerDb, type NetworkHost } from "./network/index.js";
import { BlockProducer } from "./node/block-producer.js";
import { MempoolExchange } from "./node/mempool-exchange.js";
import { buildRpcMethods } from "./node/rpc-methods.js";
import { syncScorer } from "./node/sync-scorer.js";
import type { NodeOptions } from "./options.js";
import { decodeAddress } from "./primitives/address.js";
import { encodeBlock } from "./primitives/block.js";
import { toHex } from "./primitives/bytes.js";
import { decodeTransaction, encodeTransaction, TxType, transactionId } from "./primitives/transaction.js";
import { ChainStore } from "./store/chain-store.js";
import { SyncManager } from "./sync/index.js";
import { type Clock, systemClock } from "./util/clock.js";
import { QuarryError } from "./util/errors.js";
import type { Logger } from "./util/logger.js";

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
  /** Prometheus registry and collectors, served at GET /metrics */
  readonly metrics: NodeMetrics;
  readonly reorgs: readonly ReorgEvent[];
  /** resolves when the API's `stop` method is called (the CLI also stops on SIGINT/SIGTERM) */
  readonly stopRequested: Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export class NodeStartError extends QuarryError<{ code: "NODE_START_FAILED"; stage: string }> {}

/**
 * THE COMPOSITION ROOT. Creates every service in dependency order, wires their events, and stops
 * them in reverse. Nothing else in Quarry constructs a service or subscribes one to another.
 */
export async function createNode(options: NodeOptions, deps: NodeDeps): Promise<QuarryNode> {
  const log = deps.log;
  const clock = deps.clock ?? systemClock;
  const params = getNetworkParams(options.network);
  const datadir = options.datadir;
  await mkdir(datadir, { recursive: true, mode: 0o700 });

  // identity: the datadir's libp2p key (0600), stable across restarts
  const identity = await loadOrCreateNodeIdentity(datadir);
  // store: LevelDB at <datadir>/chain
  const store = new ChainStore({ location: join(datadir, "chain"), network: params.name });
  // signatures: Ed25519 verification of block transfers in worker threads, with a cache of verified ids
  const signatures = new SignatureVerifier({}, { log });
  // chain: needs the store and the signature verifier
  const chain = new Chain({ params }, { store, signatures, log: log.child({ module: "chain" }) });
  // mempool: needs the chain (tip accounts) and its own LevelDB at <datadir>/mempool
  const mempool = new Mempool(
    {},
    {
      params,
      state: chain,
      store: new LevelMempoolStore({ location: join(datadir, "mempool") }),
      clock,
      log,
    },
  );
  // peer db: known peers, bans, security log at <datadir>/peers
  const peerDb = new LevelPeerDb({ location: join(datadir, "peers") });
  // network host: needs the identity and the peer db
  const host = await createNetworkHost(
    {
      network: params.name,
      listen: [`/ip4/${options.p2pHost}/tcp/${options.p2pPort}`],
      announce: options.announce,
      bootstrap: options.bootstrap,
      localNetwork: params.name !== "testnet",
      peers: { minPeers: options.minPeers, maxPeers: options.maxPeers },
    },
    { privateKey: identity.privateKey, log, peerDb, clock },
  );
  // sync: needs libp2p, reputation and the security log (from the host), the chain, the identity
  // (batch signatures) and the clock
  const sync = new SyncManager(
    {},
    {
      libp2p: host.libp2p,
      chain,
      privateKey: identity.privateKey,
      scorer: syncScorer(host.reputation),
      securityLog: host.securityLog,
      clock,
      log: log.child({ module: "sync" }),
    },
  );
  // mempool exchange: asks each new peer for its mempool (needs the host and the mempool)
  const mempoolExchange = new MempoolExchange({ network: params.name }, { host, mempool, log });
  // miner: worker threads, only when mining
  const miner = options.mine ? new MinerPool({ threads: options.threads }, { log }) : undefined;
  const recipient = options.mine ? await minerRecipient(options, params.addressPrefix) : undefined;
  // producer: needs the chain, the mempool and the miner
  const producer =
    miner && recipient
      ? new BlockProducer(
          { recipient, refreshMs: Math.max(2_000, params.targetSpacingSeconds * 1000) },
          {
            chain,
            pool: miner,
            selectTransactions: (maxTxs, maxBytes) => mempool.selectForBlock(maxTxs, maxBytes),
            log,
          },
        )
      : undefined;
  const reorgs: ReorgEvent[] = [];
  // metrics: read from the chain, host, sync, mempool, miner and producer at scrape time
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
      },
    },
  );
  let requestStop = () => {};
  const stopRequested = new Promise<void>((resolve) => {
    requestStop = resolve;
  });
  const services = { options, chain, mempool, host, sync, producer, miner, metrics, reorgs };
  // api: needs every service it reports on
  const api = new ApiServer(
    { host: options.apiHost, port: options.apiPort, datadir },
    {
      methods: buildRpcMethods(services, { stop: () => requestStop() }),
      metrics: () => metrics.render(),
      metricsContentType: metrics.contentType,
      pages: dashboardPages(),
      log,
    },
  );
  const node: QuarryNode = { ...services, api, stopRequested, start, stop };

  // ---- wiring: the only place services react to each other ----
  // Block import timing: every path into the chain (gossip, sync, our own miner) goes through
  // processBlock, so timing it here measures all of them without the chain knowing about metrics.
  const processBlock = chain.processBlock.bind(chain);
  chain.processBlock = async (block) => {
    const started = performance.now();
    try {
      const result = await processBlock(block);
      metrics.observeBlockImport((performance.now() - started) / 1000, result.status);
      return result;
    } catch (err) {
      metrics.observeBlockImport((performance.now() - started) / 1000, "error");
      throw err;
    }
  };
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
        percent: Number(percent.toFixed(1)),
        blocksPerSecond: Number(p.blocksPerSecond.toFixed(1)),
        etaSeconds: p.etaSeconds === null ? null : Math.round(p.etaSeconds),
      },
      "sync progress",
    );
  });
  host.setBlockHandler(blockGossipHandler(chain));
  host.setTxHandler(async (bytes, fromPeerId) => {
    const tx = decodeTransaction(bytes);
    if (tx.type !== TxType.Transfer) return { result: "ignore", code: "TX_COINBASE_OUTSIDE_BLOCK" };
    await mempool.add(tx, fromPeerId);
    return { result: "accept" };
  });
  host.on("orphanBlock", ({ fromPeerId, missingAncestor }) => {
    void sync.requestAncestors(fromPeerId, missingAncestor);
  });
  chain.on("blockConnected", ({ block }) => {
    void mempool.onBlockConnected(block);
    producer?.refresh();
  });
  chain.on("reorg", (report) => {
    // Returned transfers go back to the mempool and out to peers again, so any miner can include them.
    void mempool.onReorg(report).then(() => {
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
  mempool.on("txAdded", () => producer?.refresh());
  // A node that switched branches or finished syncing re-sends its status to every peer (a status
  // request carries the sender's tip and work), so a peer with less work syncs from it. Needed
  // because blocks that arrive by sync are not gossiped, and re-publishing a block this node once
  // ignored as an orphan is dropped by gossipsub as a duplicate: without it a heavier branch
  // reached only the peers that happened to ask (the 50-node partition/heal simulation stalled).
  const announceTip = () => {
    for (const peer of host.connectedPeers()) sync.onPeerAnnouncedWork(peer);
  };
  chain.on("reorg", announceTip);
  sync.on("syncComplete", announceTip);
  producer?.on("blockMined", ({ block }) => {
    void host
      .publishBlock(encodeBlock(block))
      .catch((err: unknown) => log.warn({ err }, "publishing block failed"));
  });

  let started: (() => Promise<void>)[] = [];
  async function start(): Promise<void> {
    const steps: [string, () => Promise<void>, () => Promise<void>][] = [
      ["signatures", () => signatures.start(), () => signatures.stop()],
      ["store", () => store.open(), () => store.close()],
      ["chain", () => chain.open(), async () => {}],
      ["mempool", () => mempool.start(), () => mempool.stop()],
      ["peer db", () => peerDb.open(), () => peerDb.close()],
      ["network", () => host.start(), () => host.stop()],
      ["sync", () => sync.start(), () => sync.stop()],
      ["mempool exchange", () => mempoolExchange.start(), () => mempoolExchange.stop()],
      ["miner", async () => miner?.start(), async () => miner?.stop()],
      [
        "producer",
        async () => ((deps.startProducer ?? true) ? producer?.start() : undefined),
        async () => producer?.stop(),
      ],
      ["api", () => api.start(), () => api.stop()],
    ];
    started = [];
    for (const [stage, up, down] of steps) {
      try {
        await up();
      } catch (err) {
        log.error({ err, stage }, "start failed; stopping what started");
        await stop();
        if (err instanceof QuarryError) throw err;
        throw new NodeStartError({ code: "NODE_START_FAILED", stage }, `${stage}: ${(err as Error).message}`);
      }
      started.unshift(down);
    }
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

  async function stop(): Promise<void> {
    const downs = started;
    started = [];
    for (const down of downs) {
      try {
        await down();
      } catch (err) {
        log.error({ err }, "stop step failed");
      }
    }
  }

  return node;
}

async function minerRecipient(options: NodeOptions, prefix: string): Promise<Uint8Array> {
  if (options.minerAddress) return decodeAddress(prefix, options.minerAddress);
  const name = options.minerKey ?? "";
  const keystore = new Keystore({
    dir: join(options.datadir, "keystore"),
    network: options.network,
    addressPrefix: prefix,
  });
  const info = await keystore.info(name);
  if (!info.address)
    throw new NodeStartError({ code: "NODE_START_FAILED", stage: "miner" }, `key '${name}' has no address`);
  return decodeAddress(prefix, info.address);
}
