import { createHash } from "node:crypto";
import { autoNAT } from "@libp2p/autonat";
import { circuitRelayServer, circuitRelayTransport } from "@libp2p/circuit-relay-v2";
import { dcutr } from "@libp2p/dcutr";
import type { Connection, Libp2p, PeerId } from "@libp2p/interface";
import type { KadDHT } from "@libp2p/kad-dht";
import { peerIdFromString } from "@libp2p/peer-id";
import { uPnPNAT } from "@libp2p/upnp-nat";
import { isPrivate } from "@libp2p/utils";
import type { Multiaddr } from "@multiformats/multiaddr";
import { base58 } from "@scure/base";
import type { Logger } from "../util/index.js";
import type { NatOptions } from "./options.js";

/** What `NatMonitor.status()` reports (the API's `getNetworkInfo.nat`). */
export interface NatStatus {
  /** the configured mode */
  mode: NatOptions["reachability"];
  /** what the node currently believes: `local` networks are not judged */
  reachability: "local" | "public" | "private";
  /** our addresses through relays (`.../p2p-circuit/p2p/<us>`), advertised while private */
  relayAddresses: string[];
  /** DHT mode: servers answer queries and enter routing tables; clients only ask */
  dhtMode: "client" | "server";
  /** open connections through a relay (limited by the relay's duration and byte limits) */
  relayedConnections: number;
  /** peers we reach only through a relay */
  relayedPeers: string[];
  /** relayed unreachable peers that get every block and transaction (gossipsub direct peers) */
  gossipDirectPeers: string[];
  /** gossiped blocks and transactions we accepted from a peer we reach only through a relay */
  relayedDeliveries: { block: number; tx: number };
  /**
   * gossiped blocks we accepted first from each peer, relayed or not (the last
   * `BLOCK_DELIVERY_PEERS` peers that delivered one): who actually feeds us blocks
   */
  blockDeliveriesByPeer: Record<string, number>;
  /** unreachable peers (found through the rendezvous record) we hold a direct connection to */
  directUnreachablePeers: number;
  /** when the first relay address appeared, ms after start (undefined: never) */
  relayReachableAfterMs: number | undefined;
}

/** How many peers `blockDeliveriesByPeer` remembers (the least recent delivery goes first). */
const BLOCK_DELIVERY_PEERS = 64;

/** The one address-manager call the monitor needs (libp2p passes its components to services). */
interface AddressProbeComponents {
  addressManager: { getAddressesWithMetadata(): Array<{ multiaddr: Multiaddr; verified: boolean }> };
}

/** A libp2p service that lets the monitor see which of our addresses are verified. */
export interface AddressProbe {
  verifiedPublicAddresses(): string[];
}

/** The libp2p services NAT traversal may add (all optional: `local` adds none). */
export type NatServices = {
  addressProbe?: AddressProbe;
  autoNAT?: unknown;
  relay?: unknown;
  dcutr?: unknown;
  upnp?: unknown;
};

/** Whether this mode starts out unreachable (DHT client, relay slot). */
export function startsUnreachable(opts: NatOptions): boolean {
  return opts.reachability === "private" || opts.reachability === "auto";
}

/** Listen addresses to add: `/p2p-circuit` makes the relay transport reserve a slot on a relay. */
export function natListenAddresses(opts: NatOptions): string[] {
  return startsUnreachable(opts) ? ["/p2p-circuit"] : [];
}

/** The circuit relay transport, for every mode but `local` (dialling relayed peers needs it). */
export function natTransports(opts: NatOptions) {
  return opts.reachability === "local"
    ? []
    : [circuitRelayTransport({ reservationCompletionTimeout: 10_000 })];
}

/**
 * The services of the mode: AutoNAT (answers others' dial-back requests; in `auto` verifies ours),
 * a circuit relay v2 server with limits on nodes that may be public, DCUtR hole punching, UPnP
 * port mapping when asked for, and the address probe for the monitor.
 */
export function natServices(opts: NatOptions) {
  if (opts.reachability === "local") return {};
  const relayServer =
    opts.reachability === "private"
      ? {}
      : {
          relay: circuitRelayServer({
            reservations: {
              maxReservations: opts.relay.maxReservations,
              reservationTtl: opts.relay.reservationTtlMs,
              defaultDurationLimit: opts.relay.durationLimitMs,
              defaultDataLimit: BigInt(opts.relay.dataLimitBytes),
              applyDefaultLimit: true,
            },
          }),
        };
  return {
    addressProbe: (components: AddressProbeComponents): AddressProbe => ({
      verifiedPublicAddresses: () =>
        components.addressManager
          .getAddressesWithMetadata()
          .filter((a) => a.verified && !isRelayed(a.multiaddr) && isPrivate(a.multiaddr) !== true)
          .map((a) => a.multiaddr.toString()),
    }),
    autoNAT: autoNAT(),
    dcutr: dcutr(),
    ...relayServer,
    ...(opts.portMapping === "upnp" ? { upnp: uPnPNAT() } : {}),
  };
}

/**
 * While we are unreachable and have a relayed address, advertises it plus our LAN (private)
 * addresses, which peers behind the same NAT can dial; public direct addresses (nobody could
 * dial them: AutoNAT did not verify them) and loopback ones go. Until the first reservation
 * everything stays.
 */
export function natAnnounceFilter(isUnreachable: () => boolean) {
  return (all: Multiaddr[]): Multiaddr[] => {
    // loopback addresses (ours, or a relay's inside a relayed address) help nobody elsewhere;
    // they stay only when there is nothing else (a network on one host)
    const addrs = all.some((ma) => !isLoopback(ma)) ? all.filter((ma) => !isLoopback(ma)) : all;
    if (!isUnreachable() || !addrs.some(isRelayed)) return addrs;
    return addrs.filter((ma) => isRelayed(ma) || (isPrivate(ma) === true && !isLoopback(ma)));
  };
}

function isLoopback(ma: Multiaddr): boolean {
  const s = ma.toString();
  return s.startsWith("/ip4/127.") || s.startsWith("/ip6/::1/");
}

function isRelayed(ma: Multiaddr | string): boolean {
  return ma.toString().includes("/p2p-circuit");
}

/** The relay's peer id in `/…/p2p/<relay>/p2p-circuit/p2p/<us>` ("" if there is none). */
function relayPeerOf(addr: string): string {
  const parts = addr.split("/");
  const at = parts.indexOf("p2p-circuit");
  return at >= 2 && parts[at - 2] === "p2p" ? parts[at - 1]! : "";
}

/**
 * The DHT key unreachable nodes of a network provide, so that they find each other: a CID whose
 * multihash is SHA-256 of `/quarry/<network>/unreachable-peers/1` (DHT servers decode provider
 * keys as such a multihash). Built through the peer-id parser, which reads a bare SHA-256
 * multihash in base58 (the `Qm…` form), to need no CID library of our own.
 */
export function rendezvousKey(network: string) {
  const digest = createHash("sha256").update(`/quarry/${network}/unreachable-peers/1`).digest();
  const multihash = Uint8Array.of(0x12, 0x20, ...digest);
  return peerIdFromString(base58.encode(multihash)).toCID();
}

export interface NatMonitorDeps {
  libp2p: Libp2p<{ dht: KadDHT; pubsub: unknown } & NatServices>;
  network: string;
  log: Logger;
}

/**
 * Decides and acts on reachability: DHT server or client mode, what we advertise, the rendezvous
 * record that lets unreachable nodes find each other, and dials to some of them (through a relay,
 * upgraded by DCUtR where the NATs allow). Logs each change once: reachability, relay address
 * gained or lost (a relay that drops our reservation), DHT mode.
 */
export class NatMonitor {
  private unreachable: boolean;
  private relayAddrs: string[] = [];
  private readonly unreachablePeers = new Set<string>();
  private controller: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private startedAtMs = 0;
  private relayReachableAfterMs: number | undefined;
  private readonly relayedDeliveries = { block: 0, tx: 0 };
  private readonly blockDeliveries = new Map<string, number>();
  /** unreachable peers we made gossipsub "direct" peers (see `syncGossipDirect`) */
  private readonly gossipDirect = new Set<string>();
  private readonly onDisconnect = (evt: CustomEvent<PeerId>) => {
    const id = evt.detail.toString();
    if (this.gossipDirect.delete(id)) directPeers(this.deps.libp2p.services.pubsub)?.delete(id);
  };
  private readonly onSelfUpdate = () => this.evaluate();

  constructor(
    private readonly opts: NatOptions,
    private readonly deps: NatMonitorDeps,
  ) {
    this.unreachable = startsUnreachable(opts);
  }

  /** For the announce filter: true while we believe nobody can dial us directly. */
  isUnreachable(): boolean {
    return this.unreachable;
  }

  start(): void {
    if (this.opts.reachability === "local" || this.controller !== undefined) return;
    this.startedAtMs = Date.now();
    this.controller = new AbortController();
    this.deps.libp2p.addEventListener("self:peer:update", this.onSelfUpdate);
    this.deps.libp2p.addEventListener("peer:disconnect", this.onDisconnect);
    this.deps.log.info(
      { mode: this.opts.reachability, portMapping: this.opts.portMapping, unreachable: this.unreachable },
      "nat traversal on",
    );
    this.loop = this.rendezvousLoop(this.controller.signal);
  }

  async stop(): Promise<void> {
    if (this.controller === undefined) return;
    this.deps.libp2p.removeEventListener("self:peer:update", this.onSelfUpdate);
    this.deps.libp2p.removeEventListener("peer:disconnect", this.onDisconnect);
    this.controller.abort();
    await this.loop;
    this.controller = undefined;
    this.loop = undefined;
  }

  /** An accepted gossip message from `peerId`: counted when that peer is reached only by relay. */
  noteDelivery(peerId: string, kind: "block" | "tx"): void {
    if (this.opts.reachability === "local") return;
    if (kind === "block") {
      const n = (this.blockDeliveries.get(peerId) ?? 0) + 1;
      this.blockDeliveries.delete(peerId); // re-inserted last: the map stays in delivery order
      this.blockDeliveries.set(peerId, n);
      if (this.blockDeliveries.size > BLOCK_DELIVERY_PEERS) {
        const oldest = this.blockDeliveries.keys().next().value;
        if (oldest !== undefined) this.blockDeliveries.delete(oldest);
      }
    }
    const conns = this.deps.libp2p.getConnections(peerIdFromString(peerId));
    if (conns.length > 0 && conns.every((c) => isRelayed(c.remoteAddr))) this.relayedDeliveries[kind]++;
  }

  status(): NatStatus {
    const conns = this.deps.libp2p.getConnections();
    const direct = new Set(conns.filter((c) => !isRelayed(c.remoteAddr)).map((c) => c.remotePeer.toString()));
    const relayed = new Set(conns.filter((c) => isRelayed(c.remoteAddr)).map((c) => c.remotePeer.toString()));
    return {
      mode: this.opts.reachability,
      reachability: this.opts.reachability === "local" ? "local" : this.unreachable ? "private" : "public",
      relayAddresses: [...this.relayAddrs],
      dhtMode: this.deps.libp2p.services.dht.getMode(),
      relayedConnections: conns.filter((c) => isRelayed(c.remoteAddr)).length,
      relayedPeers: [...relayed].filter((p) => !direct.has(p)),
      relayedDeliveries: { ...this.relayedDeliveries },
      blockDeliveriesByPeer: Object.fromEntries(this.blockDeliveries),
      gossipDirectPeers: [...this.gossipDirect],
      directUnreachablePeers: [...this.unreachablePeers].filter((p) => direct.has(p)).length,
      relayReachableAfterMs: this.relayReachableAfterMs,
    };
  }

  private evaluate(): void {
    const { libp2p, log } = this.deps;
    if (this.opts.reachability === "auto") {
      const verified = libp2p.services.addressProbe?.verifiedPublicAddresses() ?? [];
      const unreachable = verified.length === 0;
      if (unreachable !== this.unreachable) {
        this.unreachable = unreachable;
        log.info({ reachable: !unreachable, verified }, "reachability changed (AutoNAT)");
        void this.setDhtMode(unreachable ? "client" : "server");
      }
    }
    const relayAddrs = libp2p
      .getMultiaddrs()
      .map((ma) => ma.toString())
      .filter(isRelayed);
    if (relayAddrs.join() === this.relayAddrs.join()) return;
    // per relay, not per address (a relay with several addresses gives several): each relay that
    // stopped carrying us is said once, whether or not another still does
    const before = new Set(this.relayAddrs.map(relayPeerOf));
    const now = new Set(relayAddrs.map(relayPeerOf));
    const lostRelays = [...before].filter((r) => !now.has(r));
    if (lostRelays.length > 0) {
      log.warn(
        { relays: lostRelays, lost: this.relayAddrs.filter((a) => lostRelays.includes(relayPeerOf(a))) },
        now.size > 0
          ? "relay reservation lost (the relay dropped or refused it, or went away); still reachable through another relay"
          : "relay reservation lost (the relay dropped or refused it, or went away); looking for another relay",
      );
    }
    if ([...now].some((r) => !before.has(r))) {
      this.relayReachableAfterMs ??= Date.now() - this.startedAtMs;
      log.info({ relayAddrs, afterMs: Date.now() - this.startedAtMs }, "reachable through a relay");
    }
    this.relayAddrs = relayAddrs;
  }

  // Unreachable peers we reach only through a relay become gossipsub direct peers: every block
  // and transaction is forwarded to them (and accepted from them) outside the mesh. The mesh forms
  // in the first second, from the public nodes dialled first, and gossipsub grafts more peers only
  // below D_lo, so without this relayed peers rarely carried any block (measured in the testbed:
  // 0 of 9 NATed nodes had a relayed peer in their block mesh).
  private syncGossipDirect(): void {
    const direct = directPeers(this.deps.libp2p.services.pubsub);
    if (direct === undefined) return;
    const relayedOnly = new Set(this.status().relayedPeers);
    for (const id of this.unreachablePeers) {
      if (relayedOnly.has(id) && !direct.has(id)) {
        direct.add(id);
        this.gossipDirect.add(id);
      }
    }
    for (const id of this.gossipDirect) {
      if (!relayedOnly.has(id)) {
        direct.delete(id);
        this.gossipDirect.delete(id);
      }
    }
  }

  private async setDhtMode(mode: "client" | "server"): Promise<void> {
    try {
      await this.deps.libp2p.services.dht.setMode(mode);
      this.deps.log.info({ mode }, "DHT mode set");
    } catch (err) {
      this.deps.log.warn({ err, mode }, "could not set the DHT mode");
    }
  }

  // While unreachable: announce ourselves under the rendezvous key and keep `relayedPeerTarget`
  // connections to other unreachable nodes. A failed query or dial is retried next round.
  private async rendezvousLoop(signal: AbortSignal): Promise<void> {
    const key = rendezvousKey(this.deps.network);
    while (!signal.aborted) {
      if (this.unreachable && this.relayAddrs.length > 0) {
        await this.provide(key, signal);
        await this.findAndDial(key, signal);
        this.syncGossipDirect();
      }
      await sleep(this.unreachablePeers.size === 0 ? 2_000 : this.opts.rendezvousIntervalMs, signal);
    }
  }

  private async provide(key: ReturnType<typeof rendezvousKey>, signal: AbortSignal): Promise<void> {
    try {
      for await (const _ of this.deps.libp2p.services.dht.provide(key, { signal })) {
        // drain the query's progress events
      }
    } catch (err) {
      if (!signal.aborted) this.deps.log.debug({ err }, "rendezvous provide failed");
    }
  }

  private async findAndDial(key: ReturnType<typeof rendezvousKey>, signal: AbortSignal): Promise<void> {
    const { libp2p, log } = this.deps;
    const self = libp2p.peerId.toString();
    const found = new Map<string, { id: PeerId; multiaddrs: Multiaddr[] }>();
    try {
      const query = AbortSignal.any([signal, AbortSignal.timeout(10_000)]);
      for await (const event of libp2p.services.dht.findProviders(key, { signal: query })) {
        if (event.name !== "PROVIDER") continue;
        for (const p of event.providers) if (p.id.toString() !== self) found.set(p.id.toString(), p);
      }
    } catch (err) {
      if (!signal.aborted) log.debug({ err }, "rendezvous query ended early");
    }
    for (const id of found.keys()) this.unreachablePeers.add(id);
    const connected = new Set(libp2p.getPeers().map(String));
    let have = [...this.unreachablePeers].filter((p) => connected.has(p)).length;
    for (const peer of shuffle([...found.values()])) {
      if (have >= this.opts.relayedPeerTarget || signal.aborted) break;
      if (connected.has(peer.id.toString())) continue;
      try {
        await libp2p.peerStore.merge(peer.id, { multiaddrs: peer.multiaddrs });
        const conn: Connection = await libp2p.dial(peer.id, {
          signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]),
        });
        have++;
        log.info(
          {
            peerId: peer.id.toString(),
            addr: conn.remoteAddr.toString(),
            relayed: isRelayed(conn.remoteAddr),
          },
          "connected to an unreachable peer",
        );
      } catch (err) {
        log.debug({ err, peerId: peer.id.toString() }, "dial to an unreachable peer failed");
      }
    }
  }
}

// gossipsub's class has the set of "direct" peers; its exported interface does not.
function directPeers(pubsub: unknown): Set<string> | undefined {
  if (typeof pubsub === "object" && pubsub !== null && "direct" in pubsub && pubsub.direct instanceof Set)
    return pubsub.direct as Set<string>;
  return undefined;
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
