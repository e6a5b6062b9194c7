import { describe, expect, it } from "vitest";
import { BlockErrorCode } from "../../../src/consensus/errors.js";
import {
  type BanRecord,
  DEFAULT_REPUTATION_OPTIONS,
  LevelPeerDb,
  MemoryPeerDb,
  NetworkErrorCode,
  OPERATOR_BAN_CODE,
  PeerReputation,
  type SecurityLogEntry,
} from "../../../src/network/index.js";
import { PENALTIES, penaltyFor } from "../../../src/node/penalties.js";
import { CodecErrorCode } from "../../../src/primitives/codec.js";
import { SyncErrorCode } from "../../../src/sync/errors.js";
import { manualClock } from "../../../src/util/clock.js";
import { tempDir } from "../../helpers/temp-dir.js";

const clockAt = () => manualClock(1_000_000);

describe("PeerReputation", () => {
  it("penalties accumulate per code from the PENALTIES table; penalize returns the points", () => {
    const clock = clockAt();
    const rep = new PeerReputation({}, { penalties: penaltyFor, peerDb: new MemoryPeerDb(), clock });
    expect(rep.penalize("peerA", NetworkErrorCode.UNRESPONSIVE)).toBe(
      PENALTIES[NetworkErrorCode.UNRESPONSIVE],
    );
    rep.penalize("peerA", NetworkErrorCode.UNRESPONSIVE);
    rep.penalize("peerA", SyncErrorCode.INVALID_REQUEST);
    expect(rep.score("peerA")).toBeCloseTo(
      2 * PENALTIES[NetworkErrorCode.UNRESPONSIVE] + PENALTIES[SyncErrorCode.INVALID_REQUEST],
    );
    expect(rep.score("peerB")).toBe(0);
  });

  it("SYNC_MALFORMED costs what malformed data costs (the mempool exchange reports it)", () => {
    const rep = new PeerReputation(
      {},
      { penalties: penaltyFor, peerDb: new MemoryPeerDb(), clock: clockAt() },
    );
    expect(rep.penalize("peerA", SyncErrorCode.MALFORMED)).toBe(PENALTIES[CodecErrorCode.TRUNCATED]);
    expect(rep.score("peerA")).toBe(25);
  });

  it("a charge with points leaves a security-log line with the offence's kind and evidence", () => {
    const lines: Omit<SecurityLogEntry, "seq" | "timeMs">[] = [];
    const rep = new PeerReputation(
      {},
      {
        penalties: penaltyFor,
        peerDb: new MemoryPeerDb(),
        clock: clockAt(),
        securityLog: {
          record: (e) => {
            lines.push(e);
            return { ...e, seq: lines.length, timeMs: 0 };
          },
        },
      },
    );
    rep.penalize("peerA", SyncErrorCode.INVALID_BATCH, { kind: "batch", detail: { batch: "00" } });
    rep.penalize("peerB", NetworkErrorCode.UNRESPONSIVE);
    rep.penalize("peerC", SyncErrorCode.TIMEOUT, { kind: "frame" });
    expect(lines).toEqual([
      { peerId: "peerA", code: SyncErrorCode.INVALID_BATCH, kind: "batch", detail: { batch: "00" } },
      { peerId: "peerB", code: NetworkErrorCode.UNRESPONSIVE, kind: "peer" },
    ]);
  });

  it("decay arithmetic: four 25-point offences 1 ms apart score 99.99 (no ban); the fifth bans", () => {
    const clock = clockAt();
    const rep = new PeerReputation({}, { penalties: penaltyFor, peerDb: new MemoryPeerDb(), clock });
    for (let i = 0; i < 4; i++) {
      rep.penalize("peerA", CodecErrorCode.TRUNCATED);
      clock.advanceMs(1);
    }
    expect(rep.score("peerA")).toBeLessThan(100);
    expect(rep.score("peerA")).toBeGreaterThan(99.99);
    expect(rep.isBanned("peerA")).toBe(false);
    rep.penalize("peerA", CodecErrorCode.TRUNCATED);
    expect(rep.isBanned("peerA")).toBe(true);
  });

  it("decay arithmetic: one malformed message every 4.2 minutes never bans (limit 25/(1-2^-0.42) < 100)", () => {
    const clock = clockAt();
    const rep = new PeerReputation({}, { penalties: penaltyFor, peerDb: new MemoryPeerDb(), clock });
    for (let i = 0; i < 200; i++) {
      rep.penalize("peerA", CodecErrorCode.TRUNCATED);
      clock.advanceMs(252_000);
    }
    expect(rep.isBanned("peerA")).toBe(false);
    const fast = new PeerReputation({}, { penalties: penaltyFor, peerDb: new MemoryPeerDb(), clock });
    for (let i = 0; i < 200 && !fast.isBanned("peerA"); i++) {
      fast.penalize("peerA", CodecErrorCode.TRUNCATED);
      clock.advanceMs(240_000);
    }
    expect(fast.isBanned("peerA")).toBe(true);
  });

  it("BLOCK_TIME_TOO_NEW costs nothing: an honest peer with another clock can send it", () => {
    const rep = new PeerReputation({}, { penalties: penaltyFor, peerDb: new MemoryPeerDb() });
    rep.penalize("peerA", BlockErrorCode.TIME_TOO_NEW);
    expect(rep.score("peerA")).toBe(0);
  });

  it("scores halve every halfLifeMs", () => {
    const clock = clockAt();
    const rep = new PeerReputation(
      { halfLifeMs: 60_000 },
      { penalties: penaltyFor, peerDb: new MemoryPeerDb(), clock },
    );
    rep.penalize("peerA", SyncErrorCode.INVALID_REQUEST); // 20
    clock.advanceMs(60_000);
    expect(rep.score("peerA")).toBeCloseTo(10);
    clock.advanceMs(120_000);
    expect(rep.score("peerA")).toBeCloseTo(2.5);
    // decayed points do not add up to a ban: 20 every half-life converges to 40 < 50
    for (let i = 0; i < 20; i++) {
      rep.penalize("peerA", SyncErrorCode.INVALID_REQUEST);
      clock.advanceMs(60_000);
    }
    expect(rep.isBanned("peerA")).toBe(false);
  });

  it("the disconnect threshold emits disconnect without a ban", () => {
    const rep = new PeerReputation(
      {},
      { penalties: penaltyFor, peerDb: new MemoryPeerDb(), clock: clockAt() },
    );
    const disconnects: string[] = [];
    rep.on("disconnect", (e) => disconnects.push(e.peerId));
    rep.penalize("peerA", SyncErrorCode.WRONG_NETWORK); // 50
    expect(disconnects).toEqual(["peerA"]);
    expect(rep.isBanned("peerA")).toBe(false);
  });

  it("the ban threshold bans with code, reason and expiry; the ban expires", () => {
    const clock = clockAt();
    const rep = new PeerReputation(
      { banDurationMs: 3_600_000 },
      { penalties: penaltyFor, peerDb: new MemoryPeerDb(), clock },
    );
    const bans: BanRecord[] = [];
    rep.on("banned", (b) => bans.push(b));
    for (let i = 0; i < 4; i++) rep.penalize("peerA", "CODEC_TRUNCATED"); // 4 × 25
    expect(rep.isBanned("peerA")).toBe(true);
    expect(bans).toHaveLength(1);
    expect(bans[0]).toMatchObject({
      peerId: "peerA",
      code: "CODEC_TRUNCATED",
      untilMs: clock.nowMs() + 3_600_000,
    });
    rep.penalize("peerA", "CODEC_TRUNCATED");
    expect(bans).toHaveLength(1);
    clock.advanceMs(3_600_001);
    expect(rep.isBanned("peerA")).toBe(false);
    expect(rep.bans()).toEqual([]);
  });

  it("a code outside the table is a bug, not the peer's fault: charged nothing (no default)", () => {
    const rep = new PeerReputation({}, { penalties: penaltyFor, peerDb: new MemoryPeerDb() });
    expect(rep.penalize("peerA", "SOMEONE_ELSES_CODE")).toBe(0);
    expect(rep.score("peerA")).toBe(0);
  });

  it("bans persist in LevelDB and are reloaded after a restart", async () => {
    const tmp = tempDir("quarry-rep-");
    try {
      const clock = clockAt();
      let db = new LevelPeerDb({ location: tmp.path });
      await db.open();
      const rep = new PeerReputation({}, { penalties: penaltyFor, peerDb: db, clock });
      rep.penalize("peerA", SyncErrorCode.BAD_BATCH_SIGNATURE);
      rep.ban("peerB", NetworkErrorCode.FLOOD, "manual", 1_000);
      await rep.flush();
      await db.close();

      db = new LevelPeerDb({ location: tmp.path });
      await db.open();
      clock.advanceMs(2_000); // peerB's ban has expired meanwhile
      const reloaded = new PeerReputation({}, { penalties: penaltyFor, peerDb: db, clock });
      await reloaded.load();
      expect(reloaded.isBanned("peerA")).toBe(true);
      expect(reloaded.bans()).toEqual([
        expect.objectContaining({ peerId: "peerA", code: SyncErrorCode.BAD_BATCH_SIGNATURE }),
      ]);
      expect(reloaded.isBanned("peerB")).toBe(false);
      expect((await db.bans()).map((b) => b.peerId)).toEqual(["peerA"]);
      reloaded.unban("peerA");
      await reloaded.flush();
      expect(await db.bans()).toEqual([]);
      await db.close();
    } finally {
      tmp.cleanup();
    }
  });

  it("OPERATOR_BAN replaces a penalty ban (code, reason, expiry) and unban returns the lifted ban", () => {
    const clock = clockAt();
    const rep = new PeerReputation({}, { penalties: penaltyFor, peerDb: new MemoryPeerDb(), clock });
    const seen: BanRecord[] = [];
    rep.on("banned", (ban) => seen.push(ban));
    rep.penalize("peerA", SyncErrorCode.BAD_BATCH_SIGNATURE);
    const ban = rep.banByOperator("peerA", "keeps lying", 5_000);
    expect(ban).toMatchObject({ peerId: "peerA", code: OPERATOR_BAN_CODE, reason: "keeps lying" });
    expect(ban.untilMs).toBe(clock.nowMs() + 5_000);
    expect(rep.bans()).toEqual([ban]);
    expect(seen.map((b) => b.code)).toEqual([SyncErrorCode.BAD_BATCH_SIGNATURE, OPERATOR_BAN_CODE]);
    expect(rep.unban("peerA")).toEqual(ban);
    expect(rep.unban("peerA")).toBeUndefined();
    expect(rep.isBanned("peerA")).toBe(false);
    expect(rep.score("peerA")).toBe(0);
  });

  it("an OPERATOR_BAN ends at its expiry like any ban", () => {
    const clock = clockAt();
    const rep = new PeerReputation({}, { penalties: penaltyFor, peerDb: new MemoryPeerDb(), clock });
    rep.banByOperator("peerA", "an hour", 3_600_000);
    clock.advanceMs(3_599_999);
    expect(rep.isBanned("peerA")).toBe(true);
    clock.advanceMs(1);
    expect(rep.isBanned("peerA")).toBe(false);
    expect(rep.bans()).toEqual([]);
  });

  it("rejects bad input at the boundary", () => {
    const rep = new PeerReputation({}, { penalties: penaltyFor, peerDb: new MemoryPeerDb() });
    expect(() => rep.penalize("", NetworkErrorCode.FLOOD)).toThrow(TypeError);
    expect(
      () =>
        new PeerReputation(
          { banThreshold: 10, disconnectThreshold: 20 },
          { penalties: penaltyFor, peerDb: new MemoryPeerDb() },
        ),
    ).toThrow(RangeError);
    expect(DEFAULT_REPUTATION_OPTIONS.banThreshold).toBe(100);
  });
});
