import { describe, expect, it } from "vitest";
import { LevelPeerDb, MemoryPeerDb, SecurityLog } from "../../../src/network/index.js";
import { tempDir } from "../../helpers/temp-dir.js";

describe("SecurityLog", () => {
  it("records entries with sequence and time; recent() is newest first", () => {
    let t = 5;
    const log = new SecurityLog({}, { peerDb: new MemoryPeerDb(), clock: { nowMs: () => t++ } });
    log.record({ peerId: "p1", code: "CODEC_TRUNCATED", kind: "block" });
    log.record({ peerId: "p2", code: "NET_FLOOD", kind: "tx", detail: { n: 1 } });
    expect(log.recent(10)).toEqual([
      { seq: 1, timeMs: 6, peerId: "p2", code: "NET_FLOOD", kind: "tx", detail: { n: 1 } },
      { seq: 0, timeMs: 5, peerId: "p1", code: "CODEC_TRUNCATED", kind: "block" },
    ]);
    expect(log.recent(1)).toHaveLength(1);
    expect(log.recent(0)).toEqual([]);
  });

  it("is bounded: the oldest entries are dropped, in memory and on disk, and survive a reopen", async () => {
    const tmp = tempDir("quarry-seclog-");
    try {
      let db = new LevelPeerDb({ location: tmp.path });
      await db.open();
      const log = new SecurityLog({ maxEntries: 5 }, { peerDb: db });
      await log.load();
      for (let i = 0; i < 12; i++) log.record({ peerId: `p${i}`, code: "NET_FLOOD", kind: "frame" });
      expect(log.size).toBe(5);
      await log.flush();
      expect((await db.logEntries(100)).map((e) => e.seq)).toEqual([7, 8, 9, 10, 11]);
      await db.close();

      db = new LevelPeerDb({ location: tmp.path });
      await db.open();
      const reopened = new SecurityLog({ maxEntries: 5 }, { peerDb: db });
      await reopened.load();
      expect(reopened.recent(10).map((e) => e.peerId)).toEqual(["p11", "p10", "p9", "p8", "p7"]);
      const next = reopened.record({ peerId: "p12", code: "NET_FLOOD", kind: "ban" });
      expect(next.seq).toBe(12);
      await reopened.flush();
      expect((await db.logEntries(100)).map((e) => e.seq)).toEqual([8, 9, 10, 11, 12]);
      await db.close();
    } finally {
      tmp.cleanup();
    }
  });

  it("replaces an oversized detail by a note (evidence stays bounded)", () => {
    const log = new SecurityLog({ maxDetailBytes: 100 }, { peerDb: new MemoryPeerDb() });
    const e = log.record({
      peerId: "p",
      code: "SYNC_INVALID_BATCH",
      kind: "batch",
      detail: { blob: "x".repeat(500) },
    });
    expect(e.detail).toEqual({ note: "detail over 100 bytes dropped" });
  });
});
