import { multiaddr } from "@multiformats/multiaddr";
import { describe, expect, it } from "vitest";
import {
  addressGroup,
  type EvictionCandidate,
  evictionOrder,
  UNPROTECTED_SCORE,
} from "../../../src/network/eviction.js";

function peer(id: string, connectedMs: number, extra: Partial<EvictionCandidate> = {}): EvictionCandidate {
  return {
    id,
    connectedMs,
    group: "ip4:10.0",
    score: 0,
    lastBlockMs: 0,
    lastTxMs: 0,
    evictable: true,
    ...extra,
  };
}

describe("inbound eviction order (after Bitcoin Core's SelectNodeToEvict)", () => {
  it.each([
    ["/ip4/192.168.3.4/tcp/1", "ip4:192.168"],
    ["/ip4/127.0.0.1/tcp/5", "ip4:127.0"],
    ["/ip6/2001:db8:1:2::1/tcp/1", "ip6:2001:db8"],
    ["/dns4/example.org/tcp/1", "dns4:example.org"],
  ])("addressGroup(%s) = %s", (addr, group) => {
    expect(addressGroup(multiaddr(addr))).toBe(group);
  });

  it("protects the oldest peer of each of the 4 oldest address groups", () => {
    const peers = [
      ...["a", "b", "c", "d", "e"].map((g, i) => peer(`${g}-old`, i, { group: g })),
      ...Array.from({ length: 10 }, (_, i) => peer(`x${i}`, 100 + i, { group: "a" })),
    ];
    const order = evictionOrder(peers);
    for (const g of ["a", "b", "c", "d"]) expect(order).not.toContain(`${g}-old`);
    // the fifth group's elder is protected only by its age (in the older half)
    expect(order).not.toContain("e-old");
  });

  it("protects the 4 most recent block deliverers and the 4 most recent tx deliverers", () => {
    const peers = Array.from({ length: 20 }, (_, i) =>
      peer(`p${i}`, 1_000 - i, {
        group: `g${i % 2}`,
        lastBlockMs: i >= 14 && i < 19 ? i : 0,
        lastTxMs: i < 5 ? 50 + i : 0,
      }),
    );
    const order = evictionOrder(peers);
    for (const id of ["p15", "p16", "p17", "p18"]) expect(order).not.toContain(id);
    for (const id of ["p1", "p2", "p3", "p4"]) expect(order).not.toContain(id);
  });

  it("newcomers inside their grace count in the pool: they cannot make established peers evictable", () => {
    const established = Array.from({ length: 4 }, (_, i) => peer(`e${i}`, i));
    const flood = Array.from({ length: 50 }, (_, i) => peer(`f${i}`, 1_000 + i, { evictable: false }));
    expect(evictionOrder([...established, ...flood])).toEqual([]);
    // once the flood is past its grace, the flood goes, newest first
    const aged = flood.map((f) => ({ ...f, evictable: true }));
    const order = evictionOrder([...established, ...aged]);
    expect(order[0]).toBe("f49");
    for (const e of established) expect(order).not.toContain(e.id);
  });

  it("peers with UNPROTECTED_SCORE points lose protection and go first; then the most crowded group, newest first", () => {
    const peers = [
      peer("old-offender", 0, { score: UNPROTECTED_SCORE, lastBlockMs: 5, group: "solo" }),
      peer("a1", 10, { group: "crowd" }),
      peer("a2", 11, { group: "crowd" }),
      peer("a3", 12, { group: "crowd" }),
      peer("b1", 13, { group: "b" }),
      peer("c1", 14, { group: "c" }),
      peer("d1", 15, { group: "d" }),
      peer("e1", 16, { group: "e" }),
      peer("e2", 17, { group: "e" }),
      peer("f1", 18, { group: "crowd" }),
      peer("f2", 19, { group: "crowd" }),
    ];
    const order = evictionOrder(peers);
    expect(order[0]).toBe("old-offender");
    expect(order[1]).toBe("f2");
  });
});
