import { describe, expect, it } from "vitest";
import { DEFAULT_SYNC_OPTIONS } from "../../../src/sync/options.js";
import { MAX_OUTBOUND_REQUESTS_PER_PEER, RequestSlots } from "../../../src/sync/request-slots.js";

describe("RequestSlots: an honest client never crosses a server's per-peer stream limit", () => {
  it("the client's bound is below the server's default limit", () => {
    expect(MAX_OUTBOUND_REQUESTS_PER_PEER).toBeLessThan(DEFAULT_SYNC_OPTIONS.maxInboundStreamsPerPeer);
  });

  it("at most perPeer slots are open to one peer; waiters get freed slots in order; other peers are independent", async () => {
    const slots = new RequestSlots(2);
    const signal = new AbortController().signal;
    const a1 = await slots.acquire("a", signal);
    const a2 = await slots.acquire("a", signal);
    const b1 = await slots.acquire("b", signal);
    expect(slots.openTo("a")).toBe(2);
    expect(slots.openTo("b")).toBe(1);
    const order: string[] = [];
    const third = slots.acquire("a", signal).then((release) => {
      order.push("third");
      return release;
    });
    const fourth = slots.acquire("a", signal).then((release) => {
      order.push("fourth");
      return release;
    });
    await Promise.resolve();
    expect(order).toEqual([]);
    a1();
    const a3 = await third;
    expect(order).toEqual(["third"]);
    expect(slots.openTo("a")).toBe(2);
    a2();
    a2(); // releasing twice frees one slot only
    const a4 = await fourth;
    expect(order).toEqual(["third", "fourth"]);
    a3();
    a4();
    b1();
    expect(slots.openTo("a")).toBe(0);
    expect(slots.openTo("b")).toBe(0);
  });

  it("a waiter whose deadline passes gives up its place with the signal's reason", async () => {
    const slots = new RequestSlots(1);
    const held = await slots.acquire("a", new AbortController().signal);
    const deadline = new AbortController();
    const waiting = slots.acquire("a", deadline.signal);
    deadline.abort(new Error("request timed out"));
    await expect(waiting).rejects.toThrow("request timed out");
    held();
    expect(slots.openTo("a")).toBe(0);
    const again = await slots.acquire("a", new AbortController().signal);
    expect(slots.openTo("a")).toBe(1);
    again();
  });
});
