import { describe, expect, it } from "vitest";
import { manualClock } from "../../../src/util/clock.js";
import { TokenBuckets } from "../../../src/util/token-buckets.js";

describe("TokenBuckets", () => {
  it("allows a burst, then refills at the rate, per key", () => {
    const clock = manualClock();
    const buckets = new TokenBuckets({ burst: 3, perSecond: 2 }, clock);
    expect([1, 2, 3, 4].map(() => buckets.take("a"))).toEqual([true, true, true, false]);
    expect(buckets.take("b")).toBe(true);
    clock.advanceMs(500); // one token back
    expect(buckets.take("a")).toBe(true);
    expect(buckets.take("a")).toBe(false);
  });

  it("a clock that steps back refills nothing and does not drain the bucket", () => {
    const clock = manualClock(10_000);
    const buckets = new TokenBuckets({ burst: 2, perSecond: 1 }, clock);
    expect(buckets.take("a")).toBe(true);
    clock.setMs(5_000);
    expect(buckets.take("a")).toBe(true);
    expect(buckets.take("a")).toBe(false);
    clock.setMs(11_000); // one second after the newest time seen: one token
    expect(buckets.take("a")).toBe(true);
  });

  it("forget gives a key a full bucket again", () => {
    const buckets = new TokenBuckets({ burst: 1, perSecond: 1 }, manualClock());
    expect(buckets.take("a")).toBe(true);
    expect(buckets.take("a")).toBe(false);
    buckets.forget("a");
    expect(buckets.take("a")).toBe(true);
  });

  it("rejects a burst below 1 or a rate of 0 (RangeError)", () => {
    expect(() => new TokenBuckets({ burst: 0, perSecond: 1 })).toThrow(RangeError);
    expect(() => new TokenBuckets({ burst: 1, perSecond: 0 })).toThrow(RangeError);
  });
});
