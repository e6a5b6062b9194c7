/**
 * `estimateFee(nBlocks)`: the fee rate a transfer needs to be included within N blocks, from two
 * views that must both be satisfied (docs/API.md, "estimateFee"):
 *
 * - the mempool: the executable transfers ranked as the block template ranks them (fee rate,
 *   nonce order kept). If they fill N blocks' capacity, a new transfer must outbid the last one that
 *   still fits: its rate + 1. Otherwise the minimum relay rate is enough.
 * - the last K blocks: a block's price is the lowest rate it included if it was full, else the
 *   minimum relay rate (it had room). A rate accepted by a fraction f of blocks gets into at least
 *   one of N blocks with probability 1 − (1 − f)^N; for 95 % that is f = 1 − 0.05^(1/N). The block
 *   view is the smallest block price that at least f·K of the sampled blocks did not exceed.
 *
 * Pure: the caller reads the mempool selection and the recent blocks.
 */

/** Confidence of inclusion within N blocks that the recent-blocks view aims at. */
export const FEE_ESTIMATE_CONFIDENCE = 0.95;
/** Main-chain blocks sampled (fewer on a shorter chain). */
export const FEE_ESTIMATE_BLOCKS = 24;
/** Largest nBlocks accepted. */
export const FEE_ESTIMATE_MAX_TARGET = 100;

export interface FeeSample {
  fee: bigint;
  /** encoded bytes */
  size: number;
}

export interface SampledBlock {
  /** its transfers (the coinbase left out) */
  transfers: readonly FeeSample[];
  /** no further transfer would have fitted (tx count or byte budget reached) */
  full: boolean;
}

export interface FeeEstimateInput {
  nBlocks: number;
  minFeePerKb: bigint;
  /** the mempool's template ranking for N blocks' capacity, best first */
  mempoolRanked: readonly FeeSample[];
  /** whether that ranking filled N blocks' capacity */
  mempoolFillsTarget: boolean;
  /** the newest main-chain blocks */
  recentBlocks: readonly SampledBlock[];
}

export interface FeeEstimate {
  nBlocks: number;
  /** base units per 1000 bytes: max(minimum relay rate, mempool view, recent-blocks view) */
  feePerKb: bigint;
  mempoolFeePerKb: bigint;
  recentBlocksFeePerKb: bigint;
  blocksSampled: number;
  minFeePerKb: bigint;
}

/** A transaction's fee rate per 1000 bytes, rounded up. */
export function feePerKb(sample: FeeSample): bigint {
  const size = BigInt(sample.size);
  return (sample.fee * 1000n + size - 1n) / size;
}

/** The fee a transaction of `size` bytes pays at `ratePerKb` (rounded up, so it meets the rate). */
export function feeAtRate(ratePerKb: bigint, size: number): bigint {
  return (ratePerKb * BigInt(size) + 999n) / 1000n;
}

export function estimateFee(input: FeeEstimateInput): FeeEstimate {
  const { nBlocks, minFeePerKb } = input;
  if (!Number.isInteger(nBlocks) || nBlocks < 1 || nBlocks > FEE_ESTIMATE_MAX_TARGET) {
    throw new RangeError(`nBlocks must be an integer in [1, ${FEE_ESTIMATE_MAX_TARGET}]`);
  }
  const last = input.mempoolRanked[input.mempoolRanked.length - 1];
  const mempoolFeePerKb = input.mempoolFillsTarget && last ? feePerKb(last) + 1n : minFeePerKb;

  const prices = input.recentBlocks
    .map((b) => {
      if (!b.full || b.transfers.length === 0) return minFeePerKb;
      let lowest = feePerKb(b.transfers[0]!);
      for (const t of b.transfers) {
        const rate = feePerKb(t);
        if (rate < lowest) lowest = rate;
      }
      return lowest;
    })
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let recentBlocksFeePerKb = minFeePerKb;
  if (prices.length > 0) {
    const fraction = 1 - (1 - FEE_ESTIMATE_CONFIDENCE) ** (1 / nBlocks);
    const index = Math.min(prices.length, Math.max(1, Math.ceil(fraction * prices.length))) - 1;
    recentBlocksFeePerKb = prices[index]!;
  }
  let best = minFeePerKb;
  if (mempoolFeePerKb > best) best = mempoolFeePerKb;
  if (recentBlocksFeePerKb > best) best = recentBlocksFeePerKb;
  return {
    nBlocks,
    feePerKb: best,
    mempoolFeePerKb,
    recentBlocksFeePerKb,
    blocksSampled: prices.length,
    minFeePerKb,
  };
}
