import { ClassicLevel } from "classic-level";
import { SMALL_DB_MEMORY } from "../store/index.js";
import { copyLevelDatabase, type LevelCopyReport, QuarryError } from "../util/index.js";
import { PEER_DB_SCHEMA_VERSION, PeerPrefix, peerKeys, peerPrefixRange } from "./layout.js";
import type { AddressBanRecord, BanRecord, KnownPeer, SecurityLogEntry } from "./records.js";

export enum PeerDbErrorCode {
  /** another process holds the database */
  LOCKED = "PEERDB_LOCKED",
  /** the stored schema version is not the one this code writes */
  SCHEMA_MISMATCH = "PEERDB_SCHEMA_MISMATCH",
  /** used before open() or after close() */
  NOT_OPEN = "PEERDB_NOT_OPEN",
}

export class PeerDbError extends QuarryError<{ code: PeerDbErrorCode }> {
  constructor(code: PeerDbErrorCode, message?: string) {
    super({ code }, message);
  }
}

/**
 * Persistence for known peer addresses, bans and the security log. `LevelPeerDb` is the real one
 * (`<datadir>/peers`); `MemoryPeerDb` keeps everything in memory (tests, or a node run without a
 * datadir). Whoever opens a PeerDb closes it: the network host never closes one it was given.
 */
export interface PeerDb {
  open(): Promise<void>;
  close(): Promise<void>;
  knownPeers(): Promise<KnownPeer[]>;
  putKnownPeer(peer: KnownPeer): Promise<void>;
  deleteKnownPeer(peerId: string): Promise<void>;
  bans(): Promise<BanRecord[]>;
  putBan(ban: BanRecord): Promise<void>;
  deleteBan(peerId: string): Promise<void>;
  addressBans(): Promise<AddressBanRecord[]>;
  putAddressBan(ban: AddressBanRecord): Promise<void>;
  deleteAddressBan(address: string): Promise<void>;
  /** the newest `limit` entries, oldest first */
  logEntries(limit: number): Promise<SecurityLogEntry[]>;
  /** appends `entries` and deletes every entry with a sequence below `keepFromSeq`, atomically */
  appendLog(entries: readonly SecurityLogEntry[], keepFromSeq: number): Promise<void>;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function encodeJson(value: unknown): Uint8Array {
  return utf8.encode(JSON.stringify(value));
}

function decodeJson<T>(bytes: Uint8Array): T {
  return JSON.parse(fromUtf8.decode(bytes)) as T;
}

export interface LevelPeerDbOptions {
  /** directory of the database, conventionally `<datadir>/peers` */
  location: string;
}

/** The peer database on LevelDB; key layout in layout.ts. */
export class LevelPeerDb implements PeerDb {
  private readonly db: ClassicLevel<Uint8Array, Uint8Array>;

  constructor(private readonly opts: LevelPeerDbOptions) {
    this.db = new ClassicLevel<Uint8Array, Uint8Array>(opts.location, {
      keyEncoding: "view",
      valueEncoding: "view",
      ...SMALL_DB_MEMORY,
    });
  }

  async open(): Promise<void> {
    if (this.db.status === "open") return;
    try {
      await this.db.open();
    } catch (err) {
      // classic-level reports a held lock as the cause of its open error, with code LEVEL_LOCKED.
      const cause: unknown = err instanceof Error ? err.cause : undefined;
      if (cause instanceof Error && "code" in cause && cause.code === "LEVEL_LOCKED") {
        throw new PeerDbError(
          PeerDbErrorCode.LOCKED,
          `peer database ${this.opts.location} is in use by another process`,
        );
      }
      throw err;
    }
    const schema = await this.db.get(peerKeys.meta("schema"));
    if (schema === undefined) {
      const v = new Uint8Array(4);
      new DataView(v.buffer).setUint32(0, PEER_DB_SCHEMA_VERSION);
      await this.db.put(peerKeys.meta("schema"), v);
    } else if (new DataView(schema.buffer, schema.byteOffset).getUint32(0) !== PEER_DB_SCHEMA_VERSION) {
      await this.db.close();
      throw new PeerDbError(
        PeerDbErrorCode.SCHEMA_MISMATCH,
        `peer database ${this.opts.location} has another schema`,
      );
    }
  }

  /** Copies the database as it is now (one snapshot) into a new LevelDB at `location`, for backups. */
  copyTo(location: string): Promise<LevelCopyReport> {
    return copyLevelDatabase(this.db, location);
  }

  async close(): Promise<void> {
    if (this.db.status === "open") await this.db.close();
  }

  private assertOpen(): void {
    if (this.db.status !== "open")
      throw new PeerDbError(PeerDbErrorCode.NOT_OPEN, "peer database is not open");
  }

  private async values<T>(prefix: number, opts: { limit?: number; reverse?: boolean } = {}): Promise<T[]> {
    this.assertOpen();
    const out: T[] = [];
    for await (const value of this.db.values({ ...peerPrefixRange(prefix), ...opts }))
      out.push(decodeJson<T>(value));
    return out;
  }

  knownPeers(): Promise<KnownPeer[]> {
    return this.values<KnownPeer>(PeerPrefix.knownPeer);
  }

  async putKnownPeer(peer: KnownPeer): Promise<void> {
    this.assertOpen();
    await this.db.put(peerKeys.knownPeer(peer.peerId), encodeJson(peer));
  }

  async deleteKnownPeer(peerId: string): Promise<void> {
    this.assertOpen();
    await this.db.del(peerKeys.knownPeer(peerId));
  }

  bans(): Promise<BanRecord[]> {
    return this.values<BanRecord>(PeerPrefix.ban);
  }

  async putBan(ban: BanRecord): Promise<void> {
    this.assertOpen();
    await this.db.put(peerKeys.ban(ban.peerId), encodeJson(ban));
  }

  async deleteBan(peerId: string): Promise<void> {
    this.assertOpen();
    await this.db.del(peerKeys.ban(peerId));
  }

  addressBans(): Promise<AddressBanRecord[]> {
    return this.values<AddressBanRecord>(PeerPrefix.addressBan);
  }

  async putAddressBan(ban: AddressBanRecord): Promise<void> {
    this.assertOpen();
    await this.db.put(peerKeys.addressBan(ban.address), encodeJson(ban));
  }

  async deleteAddressBan(address: string): Promise<void> {
    this.assertOpen();
    await this.db.del(peerKeys.addressBan(address));
  }

  async logEntries(limit: number): Promise<SecurityLogEntry[]> {
    const newestFirst = await this.values<SecurityLogEntry>(PeerPrefix.log, { limit, reverse: true });
    return newestFirst.reverse();
  }

  async appendLog(entries: readonly SecurityLogEntry[], keepFromSeq: number): Promise<void> {
    this.assertOpen();
    const batch = this.db.batch();
    for (const entry of entries)
      if (entry.seq >= keepFromSeq) batch.put(peerKeys.log(entry.seq), encodeJson(entry));
    // Entries below keepFromSeq: at most the ones the last append pushed out, so iterate them.
    for await (const key of this.db.keys({
      gte: peerKeys.log(0),
      lt: peerKeys.log(Math.max(0, keepFromSeq)),
    })) {
      batch.del(key);
    }
    await batch.write();
  }
}

/** The same contract in memory: nothing survives the process. */
export class MemoryPeerDb implements PeerDb {
  private readonly known = new Map<string, KnownPeer>();
  private readonly banned = new Map<string, BanRecord>();
  private readonly bannedAddresses = new Map<string, AddressBanRecord>();
  private log: SecurityLogEntry[] = [];

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  async knownPeers(): Promise<KnownPeer[]> {
    return [...this.known.values()].map((p) => structuredClone(p));
  }

  async putKnownPeer(peer: KnownPeer): Promise<void> {
    this.known.set(peer.peerId, structuredClone(peer));
  }

  async deleteKnownPeer(peerId: string): Promise<void> {
    this.known.delete(peerId);
  }

  async bans(): Promise<BanRecord[]> {
    return [...this.banned.values()].map((b) => structuredClone(b));
  }

  async putBan(ban: BanRecord): Promise<void> {
    this.banned.set(ban.peerId, structuredClone(ban));
  }

  async deleteBan(peerId: string): Promise<void> {
    this.banned.delete(peerId);
  }

  async addressBans(): Promise<AddressBanRecord[]> {
    return [...this.bannedAddresses.values()].map((b) => structuredClone(b));
  }

  async putAddressBan(ban: AddressBanRecord): Promise<void> {
    this.bannedAddresses.set(ban.address, structuredClone(ban));
  }

  async deleteAddressBan(address: string): Promise<void> {
    this.bannedAddresses.delete(address);
  }

  async logEntries(limit: number): Promise<SecurityLogEntry[]> {
    return this.log.slice(-limit).map((e) => structuredClone(e));
  }

  async appendLog(entries: readonly SecurityLogEntry[], keepFromSeq: number): Promise<void> {
    this.log = [...this.log, ...entries.map((e) => structuredClone(e))].filter((e) => e.seq >= keepFromSeq);
  }
}
