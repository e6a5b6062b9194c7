import { describe, expect, it } from "vitest";
import { TwoGenerationCache } from "../../../src/store/node-cache.js";

describe("TwoGenerationCache", () => {
  it("never holds more than its capacity", () => {
    const cache = new TwoGenerationCache<number, number>(10);
    for (let i = 0; i < 1000; i++) cache.set(i, i);
    expect(cache.size).toBeLessThanOrEqual(10);
    expect(cache.get(999)).toBe(999);
  });

  it("keeps an entry that is read at least once per half-capacity writes", () => {
    const cache = new TwoGenerationCache<string, number>(10);
    cache.set("hot", 1);
    for (let i = 0; i < 100; i++) {
      cache.set(`cold ${i}`, i);
      if (i % 4 === 0) expect(cache.get("hot")).toBe(1);
    }
    expect(cache.get("hot")).toBe(1);
  });

  it("forgets an entry not read for a whole capacity of writes", () => {
    const cache = new TwoGenerationCache<string, number>(10);
    cache.set("once", 1);
    for (let i = 0; i < 10; i++) cache.set(`other ${i}`, i);
    expect(cache.get("once")).toBeUndefined();
  });

  it("bounds the total weight when entries are weighed (bytes), not their count", () => {
    const cache = new TwoGenerationCache<number, Uint8Array>(1000, (_k, v) => v.byteLength + 10);
    for (let i = 0; i < 500; i++) {
      cache.set(i, new Uint8Array(i % 7 === 0 ? 200 : 40));
      expect(cache.weight).toBeLessThanOrEqual(1000);
    }
    expect(cache.get(499)).toHaveLength(40);
    // 50-weight entries: a 500-weight generation holds 10 of them, so at most ~20 entries in all.
    expect(cache.size).toBeLessThanOrEqual(25);
  });

  it("rejects a capacity below 2", () => {
    expect(() => new TwoGenerationCache(1)).toThrow(RangeError);
    expect(() => new TwoGenerationCache(2.5)).toThrow(RangeError);
  });
});
