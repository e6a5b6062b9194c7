import { describe, expect, it } from "vitest";
import { TokenBuckets } from "../../../src/network/rate-limiter.js";
import { manualClock } from "../../../src/util/clock.js";

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
});
