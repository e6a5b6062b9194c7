import type { Connection, Libp2p, PeerId } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { type Multiaddr, multiaddr } from "@multiformats/multiaddr";
import { type Logger, QuarryError, silentLogger } from "../util/index.js";
import { type AddressBans, canonicalIp, ipOfMultiaddr } from "./address-bans.js";
import { type ConnectionTraffic, connectionKey } from "./libp2p-metrics.js";
import type { AddressBanRecord, BanRecord } from "./records.js";
import type { PeerReputation } from "./reputation.js";

export enum PeerControlErrorCode {
  /** neither a peer id nor an IP address */
  BAD_TARGET = "PEER_BAD_TARGET",
  /** not a multiaddr */
  BAD_MULTIADDR = "PEER_BAD_MULTIADDR",
  /** the target is this node */
  SELF = "PEER_SELF",
  /** unban of something that is not banned */
  NOT_BANNED = "PEER_NOT_BANNED",
  /** disconnect of a peer we have no connection to */
  NOT_CONNECTED = "PEER_NOT_CONNECTED",
  /** connect to a banned peer or address */
  BANNED = "PEER_BANNED",
  /** the dial failed (refused, timed out, wrong peer id, ...) */
  DIAL_FAILED = "PEER_DIAL_FAILED",
}

/** An operator's peer command that cannot be carried out; the code says why. */
export class PeerControlError extends QuarryError<{ code: PeerControlErrorCode }> {
  constructor(code: PeerControlErrorCode, message: string) {
    super({ code }, message);
  }
}

/** One connected peer as the operator sees it (getPeers). */
export interface PeerView {
  peerId: string;
  /** remote multiaddr of the oldest open connection (without /p2p/<peer id>) */
  address: string;
  /** who dialled the oldest open connection */
  direction: "inbound" | "outbound";
  /** when the oldest open connection opened (ms since the epoch) */
  connectedSinceMs: number;
  connections: number;
  /** round trip in ms: libp2p's connection monitor, else our last health-check ping; null: not measured yet */
  latencyMs: number | null;
  /** from identify; null until the peer identified */
  agent: string | null;
  protocols: string[];
  /** our penalty score for the peer (decayed points; 0 = clean) */
  score: number;
  /** bytes over its open connections (raw socket traffic, encryption included) */
  bytesIn: number;
  bytesOut: number;
}

/** A ban as the operator sees it: of a peer id or of an IP address. */
export type BanView =
  | ({ kind: "peer"; target: string } & BanRecord)
  | ({ kind: "address"; target: string } & AddressBanRecord);

/** What `ban`/`unban` take: a peer id, or an IP address. */
export type BanTarget = { kind: "peer"; peerId: string } | { kind: "address"; address: string };

export interface PeerControlDeps {
  libp2p: Libp2p;
  reputation: Pick<PeerReputation, "banByOperator" | "unban" | "bans" | "isBanned" | "score">;
  addressBans: AddressBans;
  traffic: ConnectionTraffic;
  /** the peer manager's last ping round trip */
  lastPingMs(peerId: string): number | undefined;
  /** deadline of one `connect` dial */
  dialTimeoutMs: number;
  log?: Logger;
}

/**
 * The operator's view of and hand on the peers: the peer table, bans of peer ids and IP addresses
 * (persisted; an operator ban replaces a penalty ban), connecting to an address now (once: the
 * peer manager may keep it or not, as any peer) and disconnecting a peer (not a ban: it may come
 * back, and the peer manager may dial it again).
 */
export class PeerControl {
  private readonly log: Logger;

  constructor(private readonly deps: PeerControlDeps) {
    this.log = deps.log ?? silentLogger;
  }

  /** Parses a ban target: an IP address, else a peer id; throws BAD_TARGET or SELF. */
  parseTarget(text: string): BanTarget {
    const address = canonicalIp(text);
    if (address !== undefined) return { kind: "address", address };
    let peerId: PeerId;
    try {
      peerId = peerIdFromString(text);
    } catch {
      throw new PeerControlError(
        PeerControlErrorCode.BAD_TARGET,
        `${text.slice(0, 100)} is neither a peer id nor an IP address`,
      );
    }
    if (peerId.equals(this.deps.libp2p.peerId))
      throw new PeerControlError(PeerControlErrorCode.SELF, "that is this node's own peer id");
    return { kind: "peer", peerId: peerId.toString() };
  }

  /** The connected peers, oldest connection first. */
  async peers(): Promise<PeerView[]> {
    const byPeer = new Map<string, Connection[]>();
    for (const conn of this.deps.libp2p.getConnections()) {
      const id = conn.remotePeer.toString();
      byPeer.set(id, [...(byPeer.get(id) ?? []), conn]);
    }
    const views = await Promise.all([...byPeer.entries()].map(([id, conns]) => this.view(id, conns)));
    return views.sort((a, b) => a.connectedSinceMs - b.connectedSinceMs);
  }

  /** Every active ban, peer ids and addresses, oldest first. */
  bans(): BanView[] {
    const peers: BanView[] = this.deps.reputation
      .bans()
      .map((b) => ({ kind: "peer", target: b.peerId, ...b }));
    const addresses: BanView[] = this.deps.addressBans
      .list()
      .map((b) => ({ kind: "address", target: b.address, ...b }));
    return [...peers, ...addresses].sort((a, b) => a.sinceMs - b.sinceMs);
  }

  /** Bans `target` for `durationMs` and closes its connections. */
  ban(target: BanTarget, reason: string, durationMs: number): BanView {
    if (target.kind === "peer") {
      // the reputation's `banned` event makes the host hang up and forget the peer
      const ban = this.deps.reputation.banByOperator(target.peerId, reason, durationMs);
      return { kind: "peer", target: ban.peerId, ...ban };
    }
    const ban = this.deps.addressBans.ban(target.address, reason, durationMs);
    for (const conn of this.deps.libp2p.getConnections())
      if (ipOfMultiaddr(conn.remoteAddr) === ban.address)
        void conn.close().catch((err: unknown) => this.log.debug({ err }, "closing a banned address failed"));
    return { kind: "address", target: ban.address, ...ban };
  }

  /** Lifts the ban of `target`; throws NOT_BANNED when there is none. */
  unban(target: BanTarget): BanView {
    if (target.kind === "peer") {
      const lifted = this.deps.reputation.unban(target.peerId);
      if (lifted) return { kind: "peer", target: lifted.peerId, ...lifted };
      throw new PeerControlError(PeerControlErrorCode.NOT_BANNED, `peer ${target.peerId} is not banned`);
    }
    const lifted = this.deps.addressBans.unban(target.address);
    if (lifted) return { kind: "address", target: lifted.address, ...lifted };
    throw new PeerControlError(PeerControlErrorCode.NOT_BANNED, `address ${target.address} is not banned`);
  }

  /** Parses a multiaddr to dial; throws BAD_MULTIADDR. */
  parseMultiaddr(text: string): Multiaddr {
    try {
      const ma = multiaddr(text);
      const id = ma.getComponents().find((c) => c.name === "p2p")?.value;
      if (id !== undefined) peerIdFromString(id);
      return ma;
    } catch {
      throw new PeerControlError(
        PeerControlErrorCode.BAD_MULTIADDR,
        `${text.slice(0, 200)} is not a multiaddr`,
      );
    }
  }

  /** Dials `ma` now (once); resolves with the peer's id and address. */
  async connect(ma: Multiaddr): Promise<{ peerId: string; address: string }> {
    const id = ma.getComponents().find((c) => c.name === "p2p")?.value;
    if (id !== undefined && peerIdFromString(id).equals(this.deps.libp2p.peerId))
      throw new PeerControlError(PeerControlErrorCode.SELF, "that is this node's own address");
    if ((id !== undefined && this.deps.reputation.isBanned(id)) || this.deps.addressBans.refuses(ma))
      throw new PeerControlError(PeerControlErrorCode.BANNED, `${ma.toString()} is banned; unban it first`);
    try {
      const conn = await this.deps.libp2p.dial(ma, { signal: AbortSignal.timeout(this.deps.dialTimeoutMs) });
      return { peerId: conn.remotePeer.toString(), address: conn.remoteAddr.toString() };
    } catch (err) {
      const why = err instanceof Error ? err.message.split("\n")[0]!.slice(0, 200) : String(err);
      throw new PeerControlError(
        PeerControlErrorCode.DIAL_FAILED,
        `dialling ${ma.toString()} failed: ${why}`,
      );
    }
  }

  /** Closes every connection to `peerId`; throws NOT_CONNECTED when there is none. */
  async disconnect(peerId: string): Promise<void> {
    const target = this.parseTarget(peerId);
    if (target.kind !== "peer")
      throw new PeerControlError(PeerControlErrorCode.BAD_TARGET, `${peerId} is not a peer id`);
    const id = peerIdFromString(target.peerId);
    if (this.deps.libp2p.getConnections(id).length === 0)
      throw new PeerControlError(PeerControlErrorCode.NOT_CONNECTED, `not connected to ${target.peerId}`);
    await this.deps.libp2p.hangUp(id);
  }

  private async view(id: string, conns: Connection[]): Promise<PeerView> {
    const oldest = conns.reduce((a, b) => (b.timeline.open < a.timeline.open ? b : a));
    let agent: string | null = null;
    let protocols: string[] = [];
    try {
      const peer = await this.deps.libp2p.peerStore.get(oldest.remotePeer);
      const raw = peer.metadata.get("AgentVersion");
      agent = raw ? new TextDecoder().decode(raw) : null;
      protocols = [...peer.protocols].sort();
    } catch {
      // not in the peer store yet: identify has not run
    }
    let bytesIn = 0;
    let bytesOut = 0;
    for (const conn of conns) {
      const b = this.deps.traffic.bytes(conn.remoteAddr);
      bytesIn += b?.in ?? 0;
      bytesOut += b?.out ?? 0;
    }
    const rtt = conns.map((c) => c.rtt).find((r) => r !== undefined) ?? this.deps.lastPingMs(id);
    return {
      peerId: id,
      address: connectionKey(oldest.remoteAddr),
      direction: oldest.direction === "inbound" ? "inbound" : "outbound",
      connectedSinceMs: oldest.timeline.open,
      connections: conns.length,
      latencyMs: rtt === undefined ? null : Math.round(rtt * 10) / 10,
      agent,
      protocols,
      score: Math.round(this.deps.reputation.score(id) * 100) / 100,
      bytesIn,
      bytesOut,
    };
  }
}
