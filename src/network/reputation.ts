import { type Clock, systemClock } from "../util/clock.js";
import { type Logger, silentLogger } from "../util/logger.js";
import { TypedEmitter } from "../util/typed-emitter.js";
import { type ReputationOptions, resolveReputationOptions } from "./options.js";
import type { PeerDb } from "./peer-db.js";
import { penaltyFor } from "./penalties.js";
import type { BanRecord } from "./records.js";

export interface ReputationDeps {
  /** where bans persist */
  peerDb: PeerDb;
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

interface Score {
  points: number;
  atMs: number;
}

// Scores below this are forgotten when the table is pruned.
const NEGLIGIBLE = 0.5;
const PRUNE_AT = 10_000;

/**
 * Misbehaviour scores per peer: penalty points from the one table (`PENALTIES`) that decay
 * exponentially, a disconnect threshold and a ban threshold. Bans persist in the peer database
 * with their code, reason and expiry, and are reloaded by `load()`. Gossip verdicts and
 * request/response sync feed the same score.
 */
export class PeerReputation extends TypedEmitter<ReputationEvents> {
  private readonly opts: ReputationOptions;
  private readonly peerDb: PeerDb;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly scores = new Map<string, Score>();
  private readonly banned = new Map<string, BanRecord>();
  private readonly pending = new Set<Promise<void>>();

  constructor(opts: Partial<ReputationOptions>, deps: ReputationDeps) {
    super();
    this.opts = resolveReputationOptions(opts);
    this.peerDb = deps.peerDb;
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

  /** The peer's current score (decayed penalty points; 0 = clean). */
  score(peerId: string): number {
    const s = this.scores.get(peerId);
    if (!s) return 0;
    return s.points * 0.5 ** ((this.clock.nowMs() - s.atMs) / this.opts.halfLifeMs);
  }

  /**
   * Adds the table's points for `code` to the peer's score; at the disconnect threshold emits
   * `disconnect`, at the ban threshold bans the peer (persisted) and emits `banned`.
   */
  penalize(peerId: string, code: string, detail?: Record<string, unknown>): void {
    if (typeof peerId !== "string" || peerId.length === 0)
      throw new TypeError("peerId must be a non-empty string");
    if (typeof code !== "string" || code.length === 0) throw new TypeError("code must be a non-empty string");
    const points = penaltyFor(code);
    if (points <= 0) return;
    const score = this.score(peerId) + points;
    this.scores.set(peerId, { points: score, atMs: this.clock.nowMs() });
    if (this.scores.size > PRUNE_AT) this.prune();
    const event: PeerPenalizedEvent = { peerId, code, points, score, ...(detail ? { detail } : {}) };
    this.log.debug({ peerId, code, points, score }, "peer penalized");
    this.emit("penalized", event);
    if (score >= this.opts.banThreshold)
      this.ban(peerId, code, `score ${score.toFixed(1)} reached ${this.opts.banThreshold}`);
    else if (score >= this.opts.disconnectThreshold) this.emit("disconnect", event);
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

  /** Lifts a ban and clears the score. */
  unban(peerId: string): void {
    this.banned.delete(peerId);
    this.scores.delete(peerId);
    this.track(this.peerDb.deleteBan(peerId));
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
