import { type Clock, type Logger, silentLogger, systemClock } from "../util/index.js";
import { resolveSecurityLogOptions, type SecurityLogOptions } from "./options.js";
import type { PeerDb } from "./peer-db.js";
import type { SecurityLogEntry, SecurityLogKind } from "./records.js";

export interface SecurityLogDeps {
  peerDb: PeerDb;
  /** milliseconds */
  clock?: Clock;
  log?: Logger;
}

/** What a caller records; the log adds the sequence number and the time. */
export interface SecurityEvent {
  peerId: string;
  code: string;
  kind: SecurityLogKind;
  detail?: Record<string, unknown>;
}

const utf8 = new TextEncoder();

/**
 * A bounded, persisted record of misbehaviour: rejected blocks, transactions and batches
 * (a validly signed bad batch is kept as evidence), malformed frames and bans. `record` is
 * synchronous; writes go to the peer database in order, and the oldest entries beyond
 * `maxEntries` are dropped in the same batch.
 */
export class SecurityLog {
  private readonly opts: SecurityLogOptions;
  private readonly peerDb: PeerDb;
  private readonly clock: Clock;
  private readonly log: Logger;
  private entries: SecurityLogEntry[] = [];
  private nextSeq = 0;
  private writeChain: Promise<void> = Promise.resolve();
  private unwritten: SecurityLogEntry[] = [];

  constructor(opts: Partial<SecurityLogOptions>, deps: SecurityLogDeps) {
    this.opts = resolveSecurityLogOptions(opts);
    this.peerDb = deps.peerDb;
    this.clock = deps.clock ?? systemClock;
    this.log = deps.log ?? silentLogger;
  }

  /** Reads the persisted entries. The peer database must be open. */
  async load(): Promise<void> {
    const stored = await this.peerDb.logEntries(this.opts.maxEntries);
    // Entries recorded before load() (none in normal use) come after the stored ones.
    const last = stored[stored.length - 1];
    const base = last ? last.seq + 1 : 0;
    const early = this.entries.map((e, i) => ({ ...e, seq: base + i }));
    this.entries = [...stored, ...early].slice(-this.opts.maxEntries);
    this.nextSeq = base + early.length;
    if (early.length > 0) {
      this.unwritten = early;
      this.scheduleWrite();
    }
  }

  /** Appends an entry (persisted in the background; `flush()` awaits it). */
  record(event: SecurityEvent): SecurityLogEntry {
    if (typeof event.peerId !== "string" || typeof event.code !== "string") {
      throw new TypeError("security log entries need a peerId and a code");
    }
    const entry: SecurityLogEntry = {
      seq: this.nextSeq++,
      timeMs: this.clock.nowMs(),
      peerId: event.peerId,
      code: event.code,
      kind: event.kind,
      ...(event.detail ? { detail: this.boundedDetail(event.detail) } : {}),
    };
    this.entries.push(entry);
    if (this.entries.length > this.opts.maxEntries)
      this.entries.splice(0, this.entries.length - this.opts.maxEntries);
    this.log.info({ peerId: entry.peerId, code: entry.code, kind: entry.kind }, "security event");
    this.unwritten.push(entry);
    this.scheduleWrite();
    return entry;
  }

  /** The newest `limit` entries, newest first. */
  recent(limit = 100): SecurityLogEntry[] {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError("limit must be a non-negative integer");
    if (limit === 0) return [];
    return this.entries.slice(-limit).reverse();
  }

  get size(): number {
    return this.entries.length;
  }

  /** Resolves when every entry recorded so far is in the peer database. */
  flush(): Promise<void> {
    return this.writeChain;
  }

  private scheduleWrite(): void {
    this.writeChain = this.writeChain.then(async () => {
      if (this.unwritten.length === 0) return;
      const batch = this.unwritten;
      this.unwritten = [];
      const newest = batch[batch.length - 1]!.seq;
      try {
        await this.peerDb.appendLog(batch, newest + 1 - this.opts.maxEntries);
      } catch (err) {
        this.log.error({ err }, "security log write failed");
      }
    });
  }

  private boundedDetail(detail: Record<string, unknown>): Record<string, unknown> {
    let json: string;
    try {
      json = JSON.stringify(detail, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
    } catch {
      return { note: "detail not serialisable" };
    }
    if (utf8.encode(json).length > this.opts.maxDetailBytes)
      return { note: `detail over ${this.opts.maxDetailBytes} bytes dropped` };
    return JSON.parse(json) as Record<string, unknown>;
  }
}
