import { describe, expect, it } from "vitest";
import { PeerJudge } from "../../../src/sync/peer-judge.js";

describe("PeerJudge", () => {
  it("backs a failing peer off for base·2^(n−1), capped, and counts failures in a row", () => {
    const judge = new PeerJudge({ baseMs: 1_000, maxMs: 5_000, maxPeers: 10 });
    expect(judge.strike("a", 0)).toEqual({ count: 1, untilMs: 1_000, counted: true });
    expect(judge.strike("a", 10_000)).toEqual({ count: 2, untilMs: 12_000, counted: true });
    expect(judge.strike("a", 20_000)).toEqual({ count: 3, untilMs: 24_000, counted: true });
    expect(judge.strike("a", 30_000)).toEqual({ count: 4, untilMs: 35_000, counted: true });
    expect(judge.backedOffUntil("a")).toBe(35_000);
    expect(judge.backedOffUntil("b")).toBe(0);
  });

  it("failures during a backoff (requests in flight together) are one strike", () => {
    const judge = new PeerJudge({ baseMs: 1_000, maxMs: 60_000, maxPeers: 10 });
    judge.strike("a", 0);
    expect(judge.strike("a", 500)).toEqual({ count: 1, untilMs: 1_000, counted: false });
    expect(judge.strike("a", 1_000).count).toBe(2);
  });

  it("a delivery clears the strikes", () => {
    const judge = new PeerJudge({ baseMs: 1_000, maxMs: 60_000, maxPeers: 10 });
    judge.strike("a", 0);
    judge.strike("a", 5_000);
    judge.delivered("a");
    expect(judge.count("a")).toBe(0);
    expect(judge.strike("a", 5_000).count).toBe(1);
  });

  it("remembers at most maxPeers peers, forgetting the least recently struck", () => {
    const judge = new PeerJudge({ baseMs: 1_000, maxMs: 60_000, maxPeers: 2 });
    judge.strike("a", 0);
    judge.strike("b", 0);
    judge.strike("a", 5_000);
    judge.strike("c", 5_000);
    expect(judge.count("b")).toBe(0);
    expect(judge.count("a")).toBe(2);
    expect(judge.count("c")).toBe(1);
  });
});
