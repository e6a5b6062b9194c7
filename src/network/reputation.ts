import { type Clock, type Logger, silentLogger, systemClock, TypedEmitter } from "../util/index.js";
import { type ReputationOptions, resolveReputationOptions } from "./options.js";
import type { PeerDb } from "./peer-db.js";
import type { BanRecord, SecurityLogKind } from "./records.js";
import type { SecurityLog } from "./security-log.js";

/**
 * Points for a code, or undefined when the penalty table has no entry for it. The table itself
 * (`PENALTIES`, src/node/penalties.ts) names every service's codes, so the composition root owns
 * it and hands its lookup to the network layer.
 */
export type PenaltyLookup = (code: string) => number | undefined;

export interface ReputationDeps {
  /** where bans persist */
  peerDb: PeerDb;
  /** the one penalty table */
  penalties: PenaltyLookup;
  /** every charge with points leaves a line here (with the offence's evidence) */
  securityLog?: Pick<SecurityLog, "record">;
  /** milliseconds; injected so tests control decay */
  clock?: Clock;
  log?: Logger;
}

export interface PeerPenalizedEvent {
  peerId: string;
  code: string;
  points: number;
  score: number;
  detail?: Record<string, unknown>;
}

export interface ReputationEvents {
  /** every penalty with points > 0 */
  penalized: PeerPenalizedEvent;
  /** the score reached the disconnect threshold (below the ban threshold) */
  disconnect: PeerPenalizedEvent;
  /** the score reached the ban threshold: the host disconnects and refuses the peer */
  banned: BanRecord;
}

/** What a penalty is about: the security-log kind and the evidence kept with it. */
export interface PeerOffence {
  kind: SecurityLogKind;
  detail?: Record<string, unknown>;
}

interface Score {
  points: number;
  atMs: number;
}

/** The code of a ban the operator set (`banPeer`), as opposed to one a penalty score reached. */
export const OPERATOR_BAN_CODE = "OPERATOR_BAN";

// Scores below this are forgotten when the table is pruned.
const NEGLIGIBLE = 0.5;
const PRUNE_AT = 10_000;

/**
 * Misbehaviour scores per peer: penalty points from the one table (`PENALTIES`) that decay
 * exponentially, a disconnect threshold and a ban threshold. Bans persist in the peer database
 * with their code, reason and expiry, and are reloaded by `load()`. `penalize` is the one way to
 * charge a peer: gossip verdicts, request/response sync, the mempool exchange and the peer
 * manager all call it.
 */
export class PeerReputation extends TypedEmitter<ReputationEvents> {
  private readonly opts: ReputationOptions;
  private readonly peerDb: PeerDb;
  private readonly penalties: PenaltyLookup;
  private readonly securityLog: Pick<SecurityLog, "record"> | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly scores = new Map<string, Score>();
  private readonly banned = new Map<string, BanRecord>();
  private readonly pending = new Set<Promise<void>>();

  constructor(opts: Partial<ReputationOptions>, deps: ReputationDeps) {
    super();
    this.opts = resolveReputationOptions(opts);
    this.peerDb = deps.peerDb;
    this.penalties = deps.penalties;
    this.securityLog = deps.securityLog;
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log ?? silentLogger;
  }

  /** Reads the persisted bans (dropping expired ones). The peer database must be open. */
  async load(): Promise<void> {
    const now = this.clock.nowMs();
    for (const ban of await this.peerDb.bans()) {
      if (ban.untilMs > now) this.banned.set(ban.peerId, ban);
      else await this.peerDb.deleteBan(ban.peerId);
    }
  }

  /** What `code` costs by the penalty table (undefined: no entry). */
  pointsFor(code: string): number | undefined {
    return this.penalties(code);
  }

  /** The peer's current score (decayed penalty points; 0 = clean). */
  score(peerId: string): number {
    const s = this.scores.get(peerId);
    if (!s) return 0;
    return s.points * 0.5 ** ((this.clock.nowMs() - s.atMs) / this.opts.halfLifeMs);
  }

  /**
   * Charges `peerId` the table's points for `code` and returns them. A charge with points leaves a
   * security-log line (kind and evidence from `offence`; "peer" without one) and a `penalized`
   * event; at the disconnect threshold emits `disconnect`, at the ban threshold bans the peer
   * (persisted) and emits `banned`. A code without a table entry is a bug, not the peer's fault:
   * logged as an error and charged nothing.
   */
  penalize(peerId: string, code: string, offence?: PeerOffence): number {
    if (typeof peerId !== "string" || peerId.length === 0)
      throw new TypeError("peerId must be a non-empty string");
    if (typeof code !== "string" || code.length === 0) throw new TypeError("code must be a non-empty string");
    const points = this.penalties(code);
    if (points === undefined) {
      this.log.error({ peerId, code }, "no penalty table entry for this code; peer not charged");
      return 0;
    }
    // Nothing left to decide about a banned peer: messages already in flight are not charged.
    if (points <= 0 || this.activeBan(peerId)) return 0;
    const detail = offence?.detail;
    // The offence's line comes before the ban line it may cause.
    this.securityLog?.record({ peerId, code, kind: offence?.kind ?? "peer", ...(detail ? { detail } : {}) });
    const score = this.score(peerId) + points;
    this.scores.set(peerId, { points: score, atMs: this.clock.nowMs() });
    if (this.scores.size > PRUNE_AT) this.prune();
    const event: PeerPenalizedEvent = { peerId, code, points, score, ...(detail ? { detail } : {}) };
    this.log.debug({ peerId, code, points, score }, "peer penalized");
    this.emit("penalized", event);
    if (score >= this.opts.banThreshold)
      this.ban(peerId, code, `score ${score.toFixed(1)} reached ${this.opts.banThreshold}`);
    else if (score >= this.opts.disconnectThreshold) this.emit("disconnect", event);
    return points;
  }

  /** Bans `peerId` for `durationMs` (default: the configured ban duration), persisted. */
  ban(peerId: string, code: string, reason: string, durationMs = this.opts.banDurationMs): BanRecord {
    const existing = this.activeBan(peerId);
    if (existing) return existing;
    const now = this.clock.nowMs();
    const ban: BanRecord = { peerId, code, reason, sinceMs: now, untilMs: now + durationMs };
    this.banned.set(peerId, ban);
    this.log.warn({ peerId, code, reason, untilMs: ban.untilMs }, "peer banned");
    this.track(this.peerDb.putBan(ban));
    this.emit("banned", ban);
    return ban;
  }

  /**
   * The operator's ban (code OPERATOR_BAN): replaces any ban the peer already has (a penalty ban's
   * expiry and reason give way to the operator's), persisted, and emits `banned` like any other.
   */
  banByOperator(peerId: string, reason: string, durationMs: number): BanRecord {
    this.banned.delete(peerId);
    return this.ban(peerId, OPERATOR_BAN_CODE, reason, durationMs);
  }

  /** Lifts a ban and clears the score; returns the ban that was lifted (undefined: there was none). */
  unban(peerId: string): BanRecord | undefined {
    const lifted = this.activeBan(peerId);
    this.banned.delete(peerId);
    this.scores.delete(peerId);
    this.track(this.peerDb.deleteBan(peerId));
    return lifted;
  }

  isBanned(peerId: string): boolean {
    return this.activeBan(peerId) !== undefined;
  }

  /** Active bans, oldest first. */
  bans(): BanRecord[] {
    const now = this.clock.nowMs();
    return [...this.banned.values()].filter((b) => b.untilMs > now).sort((a, b) => a.sinceMs - b.sinceMs);
  }

  /** Resolves when every ban write so far has reached the peer database. */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private activeBan(peerId: string): BanRecord | undefined {
    const ban = this.banned.get(peerId);
    if (!ban) return undefined;
    if (ban.untilMs > this.clock.nowMs()) return ban;
    this.banned.delete(peerId);
    this.track(this.peerDb.deleteBan(peerId));
    return undefined;
  }

  private prune(): void {
    for (const peerId of [...this.scores.keys()])
      if (this.score(peerId) < NEGLIGIBLE) this.scores.delete(peerId);
  }

  private track(write: Promise<void>): void {
    const p = write.catch((err: unknown) => this.log.error({ err }, "peer database write failed"));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
}
