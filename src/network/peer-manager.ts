import { setTimeout as delay } from "node:timers/promises";
import type { IdentifyResult, Libp2p, PeerId, PeerInfo } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import type { Ping } from "@libp2p/ping";
import { multiaddr } from "@multiformats/multiaddr";
import { type Clock, type Logger, silentLogger, systemClock } from "../util/index.js";
import { NetworkErrorCode } from "./errors.js";
import { addressGroup, type EvictionCandidate, evictionOrder } from "./eviction.js";
import type { PeerManagerOptions } from "./options.js";
import type { PeerDb } from "./peer-db.js";
import type { KnownPeer } from "./records.js";
import type { PeerReputation } from "./reputation.js";

export interface PeerManagerDeps {
  libp2p: Libp2p<{ ping: Ping }>;
  peerDb: PeerDb;
  reputation: Pick<PeerReputation, "isBanned" | "penalize" | "score">;
  /** bootstrap multiaddrs (with /p2p/<id>): always dial candidates, retried with backoff */
  bootstrap: readonly string[];
  clock?: Clock;
  log?: Logger;
}

/**
 * The most connections libp2p accepts (`maxConnections`; it refuses at the socket above it):
 * 4 × `maxPeers`. DHT queries connect to the peers they walk through, and gossipsub keeps every
 * connection busy, so in a small network a node holds far more connections than it dialled
 * (up to 40 with `maxPeers` 12 in the 50-node simulation, even with K = 8, see host.ts). With the
 * ceiling at `maxPeers` every node was full and a node returning from offline mining got in
 * nowhere; at 2–3 × `maxPeers` nodes still reached it.
 */
export function connectionCeiling(opts: Pick<PeerManagerOptions, "maxPeers">): number {
  return 4 * opts.maxPeers;
}

/**
 * Above this many connections an inbound newcomer evicts an older inbound peer, and upkeep closes
 * older inbound peers until back at it: a few slots below the ceiling stay free.
 */
export function evictionThreshold(opts: Pick<PeerManagerOptions, "maxPeers">): number {
  return connectionCeiling(opts) - Math.max(1, Math.ceil(opts.maxPeers / 4));
}

/**
 * How many peers the manager dials on its own: a third of `maxPeers` (as geth's dial ratio;
 * 8 of the default 24, Bitcoin Core's outbound count), never below `minPeers`. The rest of the
 * slots stay free for peers dialling in, so a node that returns to a full network finds room.
 */
export function outboundTarget(opts: Pick<PeerManagerOptions, "minPeers" | "maxPeers">): number {
  return Math.min(opts.maxPeers, Math.max(opts.minPeers, Math.ceil(opts.maxPeers / 3)));
}

interface Candidate {
  peerId: PeerId;
  /** failed dials, plus connections that ended within `evictionGraceMs`, since the last lasting one */
  failures: number;
  /** while connected: when the connection opened */
  connectedAtMs?: number | undefined;
  nextAttemptMs: number;
}

/**
 * Keeps the node connected: dials peers found by discovery (DHT, bootstrap, persisted known
 * peers) while below `maxPeers`, redials with exponential backoff while below `minPeers`, runs a
 * DHT query for more peers when it has no one left to dial, pings connected peers and drops the
 * ones that stop answering, and persists the listen addresses of every identified peer so a
 * restarted node finds its peers again when its bootstrap node is down.
 */
export class PeerManager {
  private readonly libp2p: Libp2p<{ ping: Ping }>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly candidates = new Map<string, Candidate>();
  private readonly dialing = new Set<string>();
  /** bootstrap peers whose unreachability was already logged (once per outage, at warn) */
  private readonly bootstrapIds = new Set<string>();
  private readonly bootstrapDownLogged = new Set<string>();
  private readonly pingFailures = new Map<string, number>();
  /** connected peers' last health-check ping round trip (ms) */
  private readonly pingRtts = new Map<string, number>();
  /** connected peers' last useful deliveries, for eviction's protected categories */
  private readonly deliveries = new Map<string, { blockMs: number; txMs: number }>();
  private controller: AbortController | undefined;
  private loops: Promise<void>[] = [];
  private wake: (() => void) | undefined;
  private discovering = false;
  private readonly pendingWrites = new Set<Promise<void>>();

  constructor(
    private readonly opts: PeerManagerOptions,
    private readonly deps: PeerManagerDeps,
  ) {
    this.libp2p = deps.libp2p;
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log ?? silentLogger;
  }

  /** Loads known peers and bootstrap peers into the peer store, starts upkeep and pings. */
  async start(): Promise<void> {
    if (this.controller) return;
    const controller = new AbortController();
    this.controller = controller;
    for (const addr of this.deps.bootstrap) {
      const ma = multiaddr(addr);
      const id = ma.getComponents().find((c) => c.name === "p2p")?.value;
      if (!id) throw new RangeError(`bootstrap address ${addr} has no /p2p/<peer id>`);
      const peerId = peerIdFromString(id);
      await this.libp2p.peerStore.merge(peerId, { multiaddrs: [ma.decapsulateCode(0x01a5)] });
      this.bootstrapIds.add(peerId.toString());
      this.addCandidate(peerId);
    }
    for (const known of await this.deps.peerDb.knownPeers()) {
      if (known.peerId === this.libp2p.peerId.toString() || this.deps.reputation.isBanned(known.peerId))
        continue;
      try {
        const peerId = peerIdFromString(known.peerId);
        await this.libp2p.peerStore.merge(peerId, { multiaddrs: known.addrs.map((a) => multiaddr(a)) });
        this.addCandidate(peerId);
      } catch (err) {
        this.log.warn({ err, peerId: known.peerId }, "dropping unreadable known peer");
        this.track(this.deps.peerDb.deleteKnownPeer(known.peerId));
      }
    }
    this.libp2p.addEventListener("peer:discovery", this.onDiscovery);
    this.libp2p.addEventListener("peer:connect", this.onConnect);
    this.libp2p.addEventListener("peer:disconnect", this.onDisconnect);
    this.libp2p.addEventListener("peer:identify", this.onIdentify);
    this.loops = [this.runLoop(controller.signal)];
    if (this.opts.pingIntervalMs > 0) this.loops.push(this.runPings(controller.signal));
  }

  /** Stops the loops and waits for them and for pending known-peer writes. */
  async stop(): Promise<void> {
    const controller = this.controller;
    if (!controller) return;
    this.controller = undefined;
    controller.abort();
    this.wake?.();
    this.libp2p.removeEventListener("peer:discovery", this.onDiscovery);
    this.libp2p.removeEventListener("peer:connect", this.onConnect);
    this.libp2p.removeEventListener("peer:disconnect", this.onDisconnect);
    this.libp2p.removeEventListener("peer:identify", this.onIdentify);
    await Promise.allSettled(this.loops);
    this.loops = [];
    await Promise.allSettled([...this.pendingWrites]);
  }

  /** Forgets a peer (after a ban): no more dials, and its known-address record is deleted. */
  forget(peerId: string): void {
    this.candidates.delete(peerId);
    this.track(this.deps.peerDb.deleteKnownPeer(peerId));
  }

  /** `peerId` delivered a block or transaction we took: it is protected from eviction for a while. */
  noteDelivery(peerId: string, kind: "block" | "tx"): void {
    if (!this.libp2p.getPeers().some((p) => p.toString() === peerId)) return;
    const d = this.deliveries.get(peerId) ?? { blockMs: 0, txMs: 0 };
    if (kind === "block") d.blockMs = this.clock.nowMs();
    else d.txMs = this.clock.nowMs();
    this.deliveries.set(peerId, d);
  }

  /** The last health-check ping's round trip to `peerId` in ms (undefined: none answered yet). */
  lastPingMs(peerId: string): number | undefined {
    return this.pingRtts.get(peerId);
  }

  /** Peer ids the manager would dial, for diagnostics. */
  candidateIds(): string[] {
    return [...this.candidates.keys()];
  }

  private get connectedCount(): number {
    return this.libp2p.getPeers().length;
  }

  /** Peers with an outbound connection (our dials, and peers our DHT queries connected to). */
  private get outboundCount(): number {
    const peers = new Set<string>();
    for (const conn of this.libp2p.getConnections())
      if (conn.direction === "outbound") peers.add(conn.remotePeer.toString());
    return peers.size;
  }

  private addCandidate(peerId: PeerId): Candidate {
    const key = peerId.toString();
    let c = this.candidates.get(key);
    if (!c) {
      c = { peerId, failures: 0, nextAttemptMs: 0 };
      this.candidates.set(key, c);
    }
    return c;
  }

  private backoffMs(failures: number): number {
    return Math.min(this.opts.dialBackoffMaxMs, this.opts.dialBackoffBaseMs * 2 ** Math.min(failures, 30));
  }

  private readonly onDiscovery = (evt: CustomEvent<PeerInfo>): void => {
    const peerId = evt.detail.id;
    if (peerId.equals(this.libp2p.peerId)) return;
    const c = this.addCandidate(peerId);
    if (
      this.outboundCount + this.dialing.size < outboundTarget(this.opts) &&
      c.nextAttemptMs <= this.clock.nowMs()
    ) {
      void this.dial(c);
    }
  };

  private readonly onConnect = (evt: CustomEvent<PeerId>): void => {
    const c = this.addCandidate(evt.detail);
    // failures reset only once the connection has lasted (see onDisconnect): a full peer that
    // accepts and at once evicts us must not be redialled every second
    c.connectedAtMs = this.clock.nowMs();
    c.nextAttemptMs = 0;
    this.pingFailures.delete(evt.detail.toString());
    if (this.isInboundOnly(evt.detail) && this.libp2p.getConnections().length > evictionThreshold(this.opts))
      this.evictFor(evt.detail);
  };

  private isInboundOnly(peerId: PeerId): boolean {
    const conns = this.libp2p.getConnections(peerId);
    return conns.length > 0 && conns.every((c) => c.direction === "inbound");
  }

  /**
   * Inbound peers that may be evicted, in eviction order (`evictionOrder`: delivering, long-lived
   * and address-diverse peers are protected; the rest go most penalty points first). Never a peer
   * with an outbound connection (ours, or our DHT's: flooding our inbound slots cannot displace
   * them), never one younger than `evictionGraceMs` (time to exchange status and sync), never
   * `except`.
   */
  private evictionCandidates(except?: string): PeerId[] {
    const now = this.clock.nowMs();
    const byId = new Map<string, { peerId: PeerId; candidate: EvictionCandidate }>();
    const outbound = new Set<string>();
    for (const conn of this.libp2p.getConnections()) {
      const id = conn.remotePeer.toString();
      if (conn.direction === "outbound") outbound.add(id);
      // When the peer connected, by our clock (the one `now` comes from); else libp2p's.
      const openedMs = this.candidates.get(id)?.connectedAtMs ?? conn.timeline.open;
      const prev = byId.get(id);
      if (prev && prev.candidate.connectedMs <= openedMs) continue;
      const delivered = this.deliveries.get(id);
      byId.set(id, {
        peerId: conn.remotePeer,
        candidate: {
          id,
          connectedMs: openedMs,
          group: addressGroup(conn.remoteAddr),
          score: this.deps.reputation.score(id),
          lastBlockMs: delivered?.blockMs ?? 0,
          lastTxMs: delivered?.txMs ?? 0,
          evictable: false,
        },
      });
    }
    const candidates = [...byId.entries()]
      .filter(([id]) => !outbound.has(id))
      .map(([id, p]) => {
        p.candidate.evictable = id !== except && now - p.candidate.connectedMs >= this.opts.evictionGraceMs;
        return p.candidate;
      });
    return evictionOrder(candidates).map((id) => byId.get(id)!.peerId);
  }

  /** An inbound `newcomer` took us over `evictionThreshold`: one older inbound peer goes. */
  private evictFor(newcomer: PeerId): void {
    const key = newcomer.toString();
    const victim = this.evictionCandidates(key)[0];
    // with nobody evictable the newcomer stays: the connection ceiling still holds
    if (!victim) return;
    this.log.debug(
      { peerId: victim.toString(), newcomer: key },
      "over the eviction threshold: evicting a peer",
    );
    void this.libp2p.hangUp(victim).catch(() => undefined);
  }

  /**
   * Upkeep: back down to `evictionThreshold`, so a few slots below the ceiling stay free (at the
   * ceiling libp2p refuses at the socket, and a newcomer could never arrive to evict anyone).
   */
  private trimToThreshold(): void {
    let excess = this.libp2p.getConnections().length - evictionThreshold(this.opts);
    for (const victim of this.evictionCandidates()) {
      if (excess <= 0) return;
      excess -= this.libp2p.getConnections(victim).length;
      this.log.debug({ peerId: victim.toString() }, "over the eviction threshold: closing a peer");
      void this.libp2p.hangUp(victim).catch(() => undefined);
    }
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    this.deliveries.delete(evt.detail.toString());
    this.pingRtts.delete(evt.detail.toString());
    const c = this.candidates.get(evt.detail.toString());
    // Do not hammer a peer that just dropped us; the upkeep loop redials after the backoff,
    // which grows while connections to it keep ending within the eviction grace.
    if (c) {
      const now = this.clock.nowMs();
      const lived = c.connectedAtMs === undefined ? 0 : now - c.connectedAtMs;
      c.failures = lived >= this.opts.evictionGraceMs ? 0 : c.failures + 1;
      c.connectedAtMs = undefined;
      c.nextAttemptMs = now + this.backoffMs(c.failures);
    }
    if (this.connectedCount < this.opts.minPeers) this.wake?.();
  };

  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    const { peerId, listenAddrs } = evt.detail;
    const id = peerId.toString();
    if (this.deps.reputation.isBanned(id)) return;
    const addrs = listenAddrs.filter((a) => !a.toString().includes("/p2p-circuit")).map((a) => a.toString());
    if (addrs.length === 0) return;
    const record: KnownPeer = { peerId: id, addrs, lastSeenMs: this.clock.nowMs() };
    this.track(this.saveKnownPeer(record));
  };

  private async saveKnownPeer(record: KnownPeer): Promise<void> {
    await this.deps.peerDb.putKnownPeer(record);
    const all = await this.deps.peerDb.knownPeers();
    if (all.length > this.opts.maxKnownPeers) {
      all.sort((a, b) => a.lastSeenMs - b.lastSeenMs);
      for (const old of all.slice(0, all.length - this.opts.maxKnownPeers))
        await this.deps.peerDb.deleteKnownPeer(old.peerId);
    }
  }

  private track(write: Promise<void>): void {
    const p = write.catch((err: unknown) => this.log.warn({ err }, "peer database write failed"));
    this.pendingWrites.add(p);
    void p.finally(() => this.pendingWrites.delete(p));
  }

  private async dial(c: Candidate): Promise<void> {
    const key = c.peerId.toString();
    const signal = this.controller?.signal;
    if (!signal || signal.aborted || this.dialing.has(key) || this.deps.reputation.isBanned(key)) return;
    if (this.libp2p.getConnections(c.peerId).length > 0) return;
    this.dialing.add(key);
    try {
      await this.libp2p.dial(c.peerId, {
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.opts.dialTimeoutMs)]),
      });
      this.bootstrapDownLogged.delete(key);
    } catch (err) {
      if (signal.aborted) return;
      c.failures++;
      c.nextAttemptMs = this.clock.nowMs() + this.backoffMs(c.failures);
      this.log.debug({ peerId: key, failures: c.failures, err }, "dial failed");
      if (this.bootstrapIds.has(key) && !this.bootstrapDownLogged.has(key)) {
        this.bootstrapDownLogged.add(key);
        this.log.warn(
          { peerId: key, reason: err instanceof Error ? err.message : String(err) },
          "bootstrap node unreachable; retrying with backoff, other peers kept",
        );
      }
    } finally {
      this.dialing.delete(key);
    }
  }

  /** One upkeep round: dial eligible candidates while below minPeers; discover when none are left. */
  private async maintain(): Promise<void> {
    this.trimToThreshold();
    const missing = this.opts.minPeers - this.connectedCount - this.dialing.size;
    if (missing <= 0) return;
    const now = this.clock.nowMs();
    const eligible = [...this.candidates.values()]
      .filter((c) => c.nextAttemptMs <= now && !this.dialing.has(c.peerId.toString()))
      .filter((c) => this.libp2p.getConnections(c.peerId).length === 0)
      .filter((c) => !this.deps.reputation.isBanned(c.peerId.toString()))
      .sort((a, b) => a.failures - b.failures);
    for (const c of eligible.slice(0, missing)) void this.dial(c);
    if (eligible.length < missing && this.connectedCount > 0) void this.discover();
  }

  // A DHT walk towards our own id: every peer met on the way is announced as peer:discovery.
  private async discover(): Promise<void> {
    const signal = this.controller?.signal;
    if (this.discovering || !signal) return;
    this.discovering = true;
    try {
      const query = this.libp2p.peerRouting.getClosestPeers(this.libp2p.peerId.toMultihash().bytes, {
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.opts.dialTimeoutMs)]),
      });
      for await (const _ of query) {
        // results arrive as peer:discovery events too; draining the iterator runs the query
      }
    } catch (err) {
      if (!signal.aborted) this.log.debug({ err }, "discovery query failed");
    } finally {
      this.discovering = false;
    }
  }

  private async runLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.maintain();
      } catch (err) {
        this.log.warn({ err }, "peer upkeep failed");
      }
      await this.sleep(this.opts.maintenanceIntervalMs, signal);
    }
  }

  // Sleeps, but wakes early when a peer drops below the minimum.
  private async sleep(ms: number, signal: AbortSignal): Promise<void> {
    const woken = new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    await Promise.race([delay(ms, undefined, { signal }).catch(() => undefined), woken]);
    this.wake = undefined;
  }

  private async runPings(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await delay(this.opts.pingIntervalMs, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) return;
      await Promise.allSettled(this.libp2p.getPeers().map((peerId) => this.pingOnce(peerId, signal)));
    }
  }

  private async pingOnce(peerId: PeerId, signal: AbortSignal): Promise<void> {
    const key = peerId.toString();
    try {
      const rtt = await this.libp2p.services.ping.ping(peerId, {
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.opts.pingTimeoutMs)]),
      });
      this.pingFailures.delete(key);
      if (this.libp2p.getConnections(peerId).length > 0) this.pingRtts.set(key, rtt);
    } catch {
      if (signal.aborted) return;
      const failures = (this.pingFailures.get(key) ?? 0) + 1;
      this.pingFailures.set(key, failures);
      if (failures >= this.opts.maxPingFailures) {
        this.log.info({ peerId: key, failures }, "dropping unresponsive peer");
        this.pingFailures.delete(key);
        this.deps.reputation.penalize(key, NetworkErrorCode.UNRESPONSIVE);
        await this.libp2p.hangUp(peerId).catch(() => undefined);
      }
    }
  }
}
