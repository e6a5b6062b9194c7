import { createHash } from "node:crypto";
import { noise } from "@chainsafe/libp2p-noise";
import { bootstrap } from "@libp2p/bootstrap";
import { type GossipSub, gossipsub, StrictNoSign } from "@libp2p/gossipsub";
import { type Identify, identify } from "@libp2p/identify";
import type { Libp2p, PeerId, PrivateKey } from "@libp2p/interface";
import { type KadDHT, kadDHT, passthroughMapper } from "@libp2p/kad-dht";
import { peerIdFromString } from "@libp2p/peer-id";
import { type Ping, ping } from "@libp2p/ping";
import { tcp } from "@libp2p/tcp";
import { createLibp2p } from "libp2p";
import type { Registry } from "prom-client";
import { getNetworkParams } from "../consensus/index.js";
import { type Clock, type Logger, silentLogger, systemClock, TypedEmitter } from "../util/index.js";
import { AddressBans } from "./address-bans.js";
import type { NetworkEvents } from "./events.js";
import { type GossipHandler, GossipTopics } from "./gossip.js";
import { ConnectionTraffic, libp2pMetrics } from "./libp2p-metrics.js";
import {
  NatMonitor,
  type NatServices,
  type NatStatus,
  natAnnounceFilter,
  natListenAddresses,
  natServices,
  natTransports,
  startsUnreachable,
} from "./nat.js";
import { type NetworkHostInit, type NetworkHostOptions, resolveNetworkHostOptions } from "./options.js";
import { PeerControl } from "./peer-control.js";
import { MemoryPeerDb, type PeerDb } from "./peer-db.js";
import { connectionCeiling, PeerManager } from "./peer-manager.js";
import { PeerReputation, type PenaltyLookup } from "./reputation.js";
import { SecurityLog } from "./security-log.js";
import type { VerdictCounters } from "./verdict.js";
import { quarryYamux } from "./yamux-window.js";

/** The libp2p services a Quarry host runs; `libp2p.services.*` for protocols built on top. */
export type NetworkServices = {
  identify: Identify;
  ping: Ping;
  dht: KadDHT;
  pubsub: GossipSub;
} & NatServices;

export interface NetworkHostDeps {
  /** the node identity (Ed25519), e.g. from `loadOrCreateNodeIdentity(datadir)` */
  privateKey: PrivateKey;
  /** the one penalty table (`penaltyFor` from src/node/penalties.ts): what each code costs a peer */
  penalties: PenaltyLookup;
  log?: Logger;
  /**
   * known peers, bans and the security log; opened and closed by the caller. Without one the
   * host keeps them in memory (nothing survives a restart).
   */
  peerDb?: PeerDb;
  /** wall clock (default systemClock): score decay, ban expiry, backoff, rate limits, log times */
  clock?: Clock;
  /** the node's Prometheus registry: libp2p's own metrics register there (none without one) */
  metricsRegistry?: Registry;
}

/**
 * Creates a Quarry libp2p host (not started): TCP, Noise, Yamux, identify, ping, kad-dht on
 * `/quarry/<network>/kad/1.0.0`, gossipsub on the network's block and tx topics, bootstrap list,
 * a connection gater refusing banned peers, and the peer manager. Protocol handlers may be
 * registered on `host.libp2p` before `start()`.
 */
export async function createNetworkHost(init: NetworkHostInit, deps: NetworkHostDeps): Promise<NetworkHost> {
  const opts = resolveNetworkHostOptions(init);
  const params = getNetworkParams(opts.network);
  const log = (deps.log ?? silentLogger).child({ module: "network" });
  const peerDb = deps.peerDb ?? new MemoryPeerDb();
  const clock = deps.clock ?? systemClock;
  const securityLog = new SecurityLog(opts.securityLog, { peerDb, clock, log });
  const reputation = new PeerReputation(opts.reputation, {
    peerDb,
    penalties: deps.penalties,
    securityLog,
    clock,
    log,
  });
  const banned = (peerId: PeerId) => reputation.isBanned(peerId.toString());
  const addressBans = new AddressBans({ peerDb, clock, log });
  const traffic = new ConnectionTraffic();
  // reachability (AutoNAT or the operator) decides DHT mode and advertised addresses (nat.ts)
  let monitor: NatMonitor | undefined;
  const libp2p = await createLibp2p<NetworkServices>({
    start: false,
    privateKey: deps.privateKey,
    addresses: {
      listen: [...opts.listen, ...natListenAddresses(opts.nat)],
      announce: opts.announce,
      announceFilter: natAnnounceFilter(() => monitor?.isUnreachable() ?? startsUnreachable(opts.nat)),
    },
    transports: [tcp(), ...natTransports(opts.nat)],
    connectionEncrypters: [noise()],
    streamMuxers: [quarryYamux()],
    metrics: libp2pMetrics(
      deps.metricsRegistry === undefined ? {} : { registry: deps.metricsRegistry },
      traffic,
    ),
    connectionGater: {
      denyInboundConnection: (maConn) => addressBans.refuses(maConn.remoteAddr),
      denyDialMultiaddr: (ma) => addressBans.refuses(ma),
      denyDialPeer: banned,
      denyInboundEncryptedConnection: banned,
      denyOutboundEncryptedConnection: banned,
    },
    connectionManager: {
      // refuses at the socket; just below it the peer manager evicts older inbound peers
      maxConnections: connectionCeiling(opts.peers),
      // every peer of a loopback or single-host network shares one address
      ...(opts.localNetwork ? { inboundConnectionThreshold: 10_000 } : {}),
    },
    peerDiscovery: opts.bootstrap.length > 0 ? [bootstrap({ list: opts.bootstrap })] : [],
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: params.dhtProtocol,
        // local networks: every node serves the DHT (networks are small, and on loopback or
        // Docker networks nobody would enter a routing table otherwise). Elsewhere a node that
        // nobody can dial is only a client, until AutoNAT verifies a public address
        clientMode: startsUnreachable(opts.nat),
        // BitTorrent's mainline DHT's K. Every routing-table contact becomes a connection that
        // gossipsub keeps busy: with the default 20, 50 simulated nodes each held 25-38 peers
        // and their event loops starved; with 8, 15-36 (median 23)
        kBucketSize: 8,
        // private addresses stay in: docker-compose and loopback networks only have those
        peerInfoMapper: passthroughMapper,
        initialQuerySelfInterval: opts.dhtInitialQuerySelfIntervalMs,
        querySelfInterval: opts.dhtQuerySelfIntervalMs,
      }),
      pubsub: gossipsub({
        // blocks and transactions carry their own proofs; publisher and receivers must agree
        globalSignaturePolicy: StrictNoSign,
        msgIdFn: (msg) => createHash("sha256").update(msg.data).digest(),
        allowPublishToZeroTopicPeers: true,
        // re-publishing bytes gossipsub has already seen (a transfer returned by a reorg, one
        // submitted twice through the API) is a no-op, not an error
        ignoreDuplicatePublishError: true,
        allowedTopics: [params.blockTopic, params.txTopic],
        scoreParams: opts.localNetwork ? { IPColocationFactorWeight: 0 } : {},
        // blocks and transactions also travel over relayed (limited) connections; bulk sync
        // does not (its protocols refuse limited connections): see docs/NETWORK.md
        runOnLimitedConnection: opts.nat.reachability !== "local",
      }),
      ...natServices(opts.nat),
    },
  });
  monitor = new NatMonitor(opts.nat, { libp2p, network: opts.network, log });
  return new NetworkHost(opts, {
    libp2p,
    peerDb,
    reputation,
    addressBans,
    traffic,
    securityLog,
    clock,
    log,
    ownsPeerDb: deps.peerDb === undefined,
    nat: monitor,
  });
}

interface NetworkHostParts {
  libp2p: Libp2p<NetworkServices>;
  peerDb: PeerDb;
  reputation: PeerReputation;
  addressBans: AddressBans;
  traffic: ConnectionTraffic;
  securityLog: SecurityLog;
  clock: Clock;
  log: Logger;
  ownsPeerDb: boolean;
  nat: NatMonitor;
}

/** A running Quarry peer: connections, discovery, gossip, reputation and the security log. */
export class NetworkHost extends TypedEmitter<NetworkEvents> {
  /** this node's peer id (base58) */
  readonly peerId: string;
  /** the libp2p node, for request/response protocols (`handle`, `dialProtocol`) */
  readonly libp2p: Libp2p<NetworkServices>;
  readonly reputation: PeerReputation;
  readonly securityLog: SecurityLog;
  /** the operator's peer table, bans, connect and disconnect (the API's peer methods) */
  readonly control: PeerControl;
  private readonly addressBans: AddressBans;
  private readonly gossip: GossipTopics;
  private readonly peerManager: PeerManager;
  private readonly peerDb: PeerDb;
  private readonly log: Logger;
  private readonly ownsPeerDb: boolean;
  private readonly nat: NatMonitor;
  private state: "stopped" | "starting" | "started" | "stopping" = "stopped";

  /** Use `createNetworkHost`. */
  constructor(
    readonly opts: NetworkHostOptions,
    parts: NetworkHostParts,
  ) {
    super();
    const params = getNetworkParams(opts.network);
    this.libp2p = parts.libp2p;
    this.peerId = parts.libp2p.peerId.toString();
    this.reputation = parts.reputation;
    this.peerDb = parts.peerDb;
    this.log = parts.log;
    this.ownsPeerDb = parts.ownsPeerDb;
    this.nat = parts.nat;
    this.securityLog = parts.securityLog;
    this.addressBans = parts.addressBans;
    this.gossip = new GossipTopics(
      {
        blockTopic: params.blockTopic,
        txTopic: params.txTopic,
        maxMessageBytes: opts.maxGossipMessageBytes,
        rate: opts.gossipRate,
      },
      {
        pubsub: parts.libp2p.services.pubsub,
        reputation: parts.reputation,
        onOrphan: (event) => this.emit("orphanBlock", event),
        clock: parts.clock,
        log: parts.log,
      },
    );
    this.peerManager = new PeerManager(opts.peers, {
      libp2p: parts.libp2p,
      peerDb: parts.peerDb,
      reputation: parts.reputation,
      bootstrap: opts.bootstrap,
      clock: parts.clock,
      log: parts.log,
    });
    this.control = new PeerControl({
      libp2p: parts.libp2p,
      reputation: parts.reputation,
      addressBans: parts.addressBans,
      traffic: parts.traffic,
      lastPingMs: (peerId) => this.peerManager.lastPingMs(peerId),
      dialTimeoutMs: opts.peers.dialTimeoutMs,
      log: parts.log,
    });
    this.libp2p.addEventListener("peer:connect", (evt) =>
      this.emit("peerConnected", { peerId: evt.detail.toString() }),
    );
    this.libp2p.addEventListener("peer:disconnect", (evt) =>
      this.emit("peerDisconnected", { peerId: evt.detail.toString() }),
    );
    this.reputation.on("disconnect", ({ peerId }) => void this.hangUp(peerId));
    this.reputation.on("banned", (ban) => {
      this.securityLog.record({
        peerId: ban.peerId,
        code: ban.code,
        kind: "ban",
        detail: { reason: ban.reason, untilMs: ban.untilMs },
      });
      this.peerManager.forget(ban.peerId);
      void this.hangUp(ban.peerId);
      this.emit("peerBanned", ban);
    });
  }

  /** Gossip verdict counters by kind, result and code. */
  get verdicts(): VerdictCounters {
    return this.gossip.counters;
  }

  /** Loads bans and the security log, starts libp2p, gossip and the peer manager. Idempotent. */
  async start(): Promise<void> {
    if (this.state !== "stopped") return;
    this.state = "starting";
    try {
      if (this.ownsPeerDb) await this.peerDb.open();
      await this.reputation.load();
      await this.addressBans.load();
      await this.securityLog.load();
      await this.libp2p.start();
      this.gossip.start();
      await this.peerManager.start();
      this.nat.start();
      this.state = "started";
      this.log.info({ peerId: this.peerId, addrs: this.multiaddrs() }, "network host started");
    } catch (err) {
      // a failed start stops what did start
      this.state = "started";
      await this.stop();
      throw err;
    }
  }

  /** Stops the peer manager, gossip and libp2p (closing every connection and timer). Idempotent. */
  async stop(): Promise<void> {
    if (this.state !== "started") return;
    this.state = "stopping";
    await this.nat.stop();
    await this.peerManager.stop();
    this.gossip.stop();
    await this.libp2p.stop();
    await this.reputation.flush();
    await this.addressBans.flush();
    await this.securityLog.flush();
    if (this.ownsPeerDb) await this.peerDb.close();
    this.state = "stopped";
  }

  get started(): boolean {
    return this.state === "started";
  }

  /** Our listen addresses with /p2p/<peer id>, dialable by others. */
  multiaddrs(): string[] {
    return this.libp2p.getMultiaddrs().map((ma) => ma.toString());
  }

  /** Reachability, relay addresses, relayed connections and which of them carry block gossip. */
  natStatus(): NatStatus & { relayedBlockMeshPeers: string[] } {
    const status = this.nat.status();
    const mesh = new Set(this.blockMeshPeers());
    return { ...status, relayedBlockMeshPeers: status.relayedPeers.filter((p) => mesh.has(p)) };
  }

  /** Peer ids with at least one open connection. */
  connectedPeers(): string[] {
    return this.libp2p.getPeers().map((p) => p.toString());
  }

  /** Peer ids in our gossip mesh for the block topic (the mesh forms on the first heartbeats). */
  blockMeshPeers(): string[] {
    return meshPeers(this.libp2p.services.pubsub, getNetworkParams(this.opts.network).blockTopic);
  }

  /** Publishes an encoded block; returns how many peers it was sent to. */
  publishBlock(bytes: Uint8Array): Promise<number> {
    return this.gossip.publish("block", bytes);
  }

  /** Publishes an encoded transaction; returns how many peers it was sent to. */
  publishTx(bytes: Uint8Array): Promise<number> {
    return this.gossip.publish("tx", bytes);
  }

  /** Sets what runs on each gossiped block before the verdict (see `blockGossipHandler`). */
  setBlockHandler(handler: GossipHandler): void {
    this.gossip.setHandler("block", this.notingDelivery("block", handler));
  }

  /** Sets what runs on each gossiped transaction before the verdict. */
  setTxHandler(handler: GossipHandler): void {
    this.gossip.setHandler("tx", this.notingDelivery("tx", handler));
  }

  /**
   * `peerId` delivered a block (sync batches too) or transaction we took: eviction protects the
   * peers that most recently did.
   */
  noteDelivery(peerId: string, kind: "block" | "tx"): void {
    this.peerManager.noteDelivery(peerId, kind);
  }

  // An accepted message's sender is a delivering peer (eviction protects them).
  private notingDelivery(kind: "block" | "tx", handler: GossipHandler): GossipHandler {
    return async (bytes, from) => {
      const outcome = await handler(bytes, from);
      if (outcome.result === "accept") {
        this.peerManager.noteDelivery(from, kind);
        this.nat.noteDelivery(from, kind);
      }
      return outcome;
    };
  }

  private async hangUp(peerId: string): Promise<void> {
    try {
      await this.libp2p.hangUp(peerIdFromString(peerId));
    } catch (err) {
      this.log.debug({ err, peerId }, "hang-up failed");
    }
  }
}

// gossipsub's class has getMeshPeers; its exported interface does not.
function meshPeers(pubsub: GossipSub, topic: string): string[] {
  if ("getMeshPeers" in pubsub && typeof pubsub.getMeshPeers === "function") {
    const peers: unknown = pubsub.getMeshPeers(topic);
    if (Array.isArray(peers)) return peers.map(String);
  }
  return pubsub.getSubscribers(topic).map(String);
}
