import { describe, expect, it } from "vitest";
import { estimateFee, feeAtRate, feePerKb, type SampledBlock } from "../../../src/node/fee-estimate.js";

// 1000-byte samples: a fee is its rate exactly.
const SIZE = 1000;
/** A transfer paying `rate` per 1000 bytes (rounded up to whole units, so its rate is ≥ `rate`). */
const atRate = (rate: bigint) => ({ fee: feeAtRate(rate, SIZE), size: SIZE });
const fullBlock = (lowestRate: bigint): SampledBlock => ({
  transfers: [atRate(lowestRate * 3n), atRate(lowestRate)],
  full: true,
});
const roomyBlock: SampledBlock = { transfers: [atRate(500n)], full: false };

describe("estimateFee", () => {
  it("rates: feePerKb rounds up; feeAtRate pays at least the rate", () => {
    expect(feePerKb({ fee: 29n, size: 145 })).toBe(200n);
    expect(feePerKb({ fee: 1n, size: 145 })).toBe(7n);
    expect(feeAtRate(1n, 145)).toBe(1n);
    expect(feePerKb({ fee: feeAtRate(333n, 145), size: 145 }) >= 333n).toBe(true);
  });

  it("an empty history and mempool: the relay minimum", () => {
    const e = estimateFee({
      nBlocks: 1,
      minFeePerKb: 5n,
      mempoolRanked: [],
      mempoolFillsTarget: false,
      recentBlocks: [],
    });
    expect(e).toMatchObject({
      feePerKb: 5n,
      mempoolFeePerKb: 5n,
      recentBlocksFeePerKb: 5n,
      blocksSampled: 0,
    });
  });

  it("blocks with room price at the relay minimum, whatever they included", () => {
    const e = estimateFee({
      nBlocks: 1,
      minFeePerKb: 1n,
      mempoolRanked: [],
      mempoolFillsTarget: false,
      recentBlocks: Array(10).fill(roomyBlock),
    });
    expect(e.recentBlocksFeePerKb).toBe(1n);
  });

  it("a mempool that fills N blocks: outbid the last transfer that fits by one unit", () => {
    const ranked = [atRate(900n), atRate(400n)];
    const e = estimateFee({
      nBlocks: 3,
      minFeePerKb: 1n,
      mempoolRanked: ranked,
      mempoolFillsTarget: true,
      recentBlocks: [],
    });
    expect(e.mempoolFeePerKb).toBe(feePerKb(ranked[1]!) + 1n);
    expect(e.feePerKb).toBe(e.mempoolFeePerKb);
    const notFull = estimateFee({
      nBlocks: 3,
      minFeePerKb: 1n,
      mempoolRanked: ranked,
      mempoolFillsTarget: false,
      recentBlocks: [],
    });
    expect(notFull.feePerKb).toBe(1n);
  });

  // 20 full blocks priced 100, 200, ..., 2000: f = 1 − 0.05^(1/N) of them must not exceed the answer.
  it.each([
    [1, 1900n], // f = 0.95 → 19th of 20
    [2, 1600n], // f ≈ 0.776 → 16th
    [6, 800n], // f ≈ 0.393 → 8th
    [20, 300n], // f ≈ 0.139 → 3rd
  ])("recent full blocks, nBlocks=%i: the block-price percentile for 95%% inclusion is %s", (n, expected) => {
    const blocks = Array.from({ length: 20 }, (_, i) => fullBlock(BigInt((i + 1) * 100)));
    const e = estimateFee({
      nBlocks: n,
      minFeePerKb: 1n,
      mempoolRanked: [],
      mempoolFillsTarget: false,
      recentBlocks: blocks,
    });
    expect(e.recentBlocksFeePerKb).toBe(expected);
    expect(e.blocksSampled).toBe(20);
  });

  it("the answer is the larger of the two views", () => {
    const e = estimateFee({
      nBlocks: 1,
      minFeePerKb: 1n,
      mempoolRanked: [atRate(50n)],
      mempoolFillsTarget: true,
      recentBlocks: [fullBlock(700n)],
    });
    expect(e.feePerKb).toBe(700n);
  });

  it.each([0, 101, 1.5])("nBlocks %s is a RangeError", (n) => {
    expect(() =>
      estimateFee({
        nBlocks: n,
        minFeePerKb: 1n,
        mempoolRanked: [],
        mempoolFillsTarget: false,
        recentBlocks: [],
      }),
    ).toThrow(RangeError);
  });
});
