import { isIP } from "node:net";
import type { Multiaddr } from "@multiformats/multiaddr";
import { type Clock, type Logger, silentLogger, systemClock } from "../util/index.js";
import type { PeerDb } from "./peer-db.js";
import type { AddressBanRecord } from "./records.js";
import { OPERATOR_BAN_CODE } from "./reputation.js";

/**
 * The canonical text of an IP address (IPv6 compressed and lower-case), or undefined when `text`
 * is not an IP address.
 */
export function canonicalIp(text: string): string | undefined {
  const family = isIP(text);
  if (family === 4) return text;
  if (family === 6) return new URL(`http://[${text}]`).hostname.slice(1, -1);
  return undefined;
}

/** The IP address a multiaddr starts with (/ip4/… or /ip6/…), canonical; undefined for others (dns, relay). */
export function ipOfMultiaddr(ma: Multiaddr): string | undefined {
  const first = ma.getComponents()[0];
  if (first?.value === undefined || (first.name !== "ip4" && first.name !== "ip6")) return undefined;
  return canonicalIp(first.value);
}

export interface AddressBansDeps {
  peerDb: PeerDb;
  clock?: Clock;
  log?: Logger;
}

/**
 * IP addresses the operator banned: the connection gater refuses connections from them and dials
 * to them until each ban expires. Persisted in the peer database, reloaded by `load()`. Unlike
 * peer-id bans these are never set by penalty scores (a score belongs to a peer id; many honest
 * peers may share an address behind NAT).
 */
export class AddressBans {
  private readonly peerDb: PeerDb;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly bans = new Map<string, AddressBanRecord>();
  private readonly pending = new Set<Promise<void>>();

  constructor(deps: AddressBansDeps) {
    this.peerDb = deps.peerDb;
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log ?? silentLogger;
  }

  /** Reads the persisted address bans (dropping expired ones). The peer database must be open. */
  async load(): Promise<void> {
    const now = this.clock.nowMs();
    for (const ban of await this.peerDb.addressBans()) {
      if (ban.untilMs > now) this.bans.set(ban.address, ban);
      else await this.peerDb.deleteAddressBan(ban.address);
    }
  }

  /** Bans `address` (canonical IP text) for `durationMs`, replacing an earlier ban of it. */
  ban(address: string, reason: string, durationMs: number): AddressBanRecord {
    const canonical = canonicalIp(address);
    if (canonical === undefined) throw new RangeError(`${address} is not an IP address`);
    const now = this.clock.nowMs();
    const ban: AddressBanRecord = {
      address: canonical,
      code: OPERATOR_BAN_CODE,
      reason,
      sinceMs: now,
      untilMs: now + durationMs,
    };
    this.bans.set(canonical, ban);
    this.log.warn({ address: canonical, reason, untilMs: ban.untilMs }, "address banned");
    this.track(this.peerDb.putAddressBan(ban));
    return ban;
  }

  /** Lifts the ban of `address`; returns it (undefined: there was none). */
  unban(address: string): AddressBanRecord | undefined {
    const canonical = canonicalIp(address);
    if (canonical === undefined) return undefined;
    const lifted = this.active(canonical);
    this.bans.delete(canonical);
    this.track(this.peerDb.deleteAddressBan(canonical));
    return lifted;
  }

  /** Whether a connection from or a dial to `ma` is refused. */
  refuses(ma: Multiaddr): boolean {
    if (this.bans.size === 0) return false;
    const ip = ipOfMultiaddr(ma);
    return ip !== undefined && this.isBanned(ip);
  }

  isBanned(address: string): boolean {
    const canonical = canonicalIp(address);
    return canonical !== undefined && this.active(canonical) !== undefined;
  }

  /** Active address bans, oldest first. */
  list(): AddressBanRecord[] {
    const now = this.clock.nowMs();
    return [...this.bans.values()].filter((b) => b.untilMs > now).sort((a, b) => a.sinceMs - b.sinceMs);
  }

  /** Resolves when every write so far has reached the peer database. */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private active(canonical: string): AddressBanRecord | undefined {
    const ban = this.bans.get(canonical);
    if (!ban) return undefined;
    if (ban.untilMs > this.clock.nowMs()) return ban;
    this.bans.delete(canonical);
    this.track(this.peerDb.deleteAddressBan(canonical));
    return undefined;
  }

  private track(write: Promise<void>): void {
    const p = write.catch((err: unknown) => this.log.error({ err }, "peer database write failed"));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
}
