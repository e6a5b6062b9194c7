import { type BlockHeader, headerHash } from "../primitives/index.js";
import { checkHeader } from "./block-rules.js";
import { expectedBits, medianTimePast } from "./difficulty.js";
import { BlockError } from "./errors.js";
import type { NetworkParams } from "./params.js";
import { workFromBits } from "./pow.js";

/**
 * Everything the header rules need about the last header of a chain, as values: its id, height,
 * time, cumulative work, the time of block 1 on its branch (the ASERT anchor) and the times of the
 * last ≤ medianTimeSpan headers ending with it (oldest first).
 */
export interface HeaderChainTip {
  hash: Uint8Array;
  height: number;
  time: number;
  chainWork: bigint;
  /** time of block 1 on this branch (0 while height is 0) */
  block1Time: number;
  /** times of the last ≤ medianTimeSpan headers, oldest first, ending with this one's */
  recentTimes: readonly number[];
}

/** The checked part of a header run: its ids in order, the tip it ends at, and what stopped it. */
export interface CheckedHeaderRun {
  /** ids of the headers that passed, in order (a prefix of the run) */
  hashes: Uint8Array[];
  /** the last header that passed (`from` when none did) */
  tip: HeaderChainTip;
  /** the first header that failed (its index in the run) and why; absent when all passed */
  failure?: { index: number; error: BlockError };
}

/**
 * Checks a run of headers that must extend `from`, each against the one before, with the header
 * rules of `checkHeader` (linkage, version, ASERT bits, proof of work, median time past, future
 * limit) — no bodies, no state, no storage: what headers-first sync checks before it downloads a
 * single block. Stops at the first header that fails and returns the prefix that passed.
 */
export function checkHeaderRun(
  headers: readonly BlockHeader[],
  from: HeaderChainTip,
  nowSeconds: number,
  params: NetworkParams,
): CheckedHeaderRun {
  const hashes: Uint8Array[] = [];
  let tip = from;
  for (const [index, header] of headers.entries()) {
    const height = tip.height + 1;
    const hash = headerHash(header);
    try {
      checkHeader(
        header,
        hash,
        {
          parentHash: tip.hash,
          medianTimePast: medianTimePast(tip.recentTimes),
          expectedBits: expectedBits(
            height,
            { height: tip.height, time: tip.time },
            height === 1 ? undefined : tip.block1Time,
            params,
          ),
          nowSeconds,
        },
        params,
      );
    } catch (err) {
      if (!(err instanceof BlockError)) throw err;
      return { hashes, tip, failure: { index, error: err } };
    }
    const recentTimes = [...tip.recentTimes, header.time];
    if (recentTimes.length > params.medianTimeSpan) recentTimes.shift();
    tip = {
      hash,
      height,
      time: header.time,
      chainWork: tip.chainWork + workFromBits(header.bits),
      block1Time: height === 1 ? header.time : tip.block1Time,
      recentTimes,
    };
    hashes.push(hash);
  }
  return { hashes, tip };
}
