import { describe, expect, it } from "vitest";
import { percentile, propagation } from "../../testbed/propagation.js";
import type { TipSeen } from "../../testbed/tip-agent.js";

const at = (height: number, atMs: number): TipSeen => ({ height, atMs });

describe("testbed propagation arithmetic", () => {
  it("percentile is nearest-rank", () => {
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20], 95)).toBe(19);
    expect(percentile([], 50)).toBeNaN();
  });

  it("delays run from the miner's connect; a block a node never connected is missing, not a delay", () => {
    const miner = new Map([
      ["b1", at(1, 1_000)],
      ["b2", at(2, 2_000)],
    ]);
    const receivers = new Map([
      [
        "x",
        new Map([
          ["b1", at(1, 1_010)],
          ["b2", at(2, 2_050)],
        ]),
      ],
      // y missed b2; its early b1 (before the miner's event reached us) counts as 0
      ["y", new Map([["b1", at(1, 995)]])],
    ]);
    const p = propagation(["b1", "b2"], miner, receivers);
    expect(p).toMatchObject({ blocks: 2, nodes: 2, delivered: 3, pairs: 4, missing: { x: 0, y: 1 } });
    expect(p.pairP95Ms).toBe(50);
    // to all nodes: only b1 reached both (its last arrival 10 ms)
    expect(p.allP50Ms).toBe(10);
    expect(p.slowest[0]).toEqual({ height: 2, node: "x", ms: 50 });
  });

  it("a block the miner has no record of is an error, not a silent gap", () => {
    expect(() => propagation(["b9"], new Map(), new Map())).toThrow(/no record of block b9/);
  });
});
