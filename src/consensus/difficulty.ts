import { nextTargetAsert } from "./asert.js";
import type { NetworkParams } from "./params.js";
import { compactToTarget } from "./pow.js";

/**
 * The bits a block at `height` must carry. Genesis and block 1 use the pow limit; from block 2 on,
 * aserti3-2d anchored at block 1 (see params.ts for why block 1 and not genesis).
 *
 * @param block1Time time of block 1 on the block's own branch (unused for height ≤ 1)
 * @param parent height and time of the block's parent
 */
export function expectedBits(
  height: number,
  parent: { height: number; time: number },
  block1Time: number | undefined,
  params: NetworkParams,
): number {
  if (height <= 1) return params.powLimitBits;
  if (block1Time === undefined) throw new RangeError("block 1 time is needed from height 2 on");
  return nextTargetAsert({
    anchorHeight: 1,
    anchorParentTime: block1Time - params.targetSpacingSeconds,
    anchorBits: params.powLimitBits,
    tipHeight: parent.height,
    tipTime: parent.time,
    targetSpacing: params.targetSpacingSeconds,
    halfLife: params.halfLifeSeconds,
    powLimit: powLimit(params),
  });
}

const powLimits = new WeakMap<NetworkParams, bigint>();

export function powLimit(params: NetworkParams): bigint {
  let limit = powLimits.get(params);
  if (limit === undefined) {
    limit = compactToTarget(params.powLimitBits).target;
    powLimits.set(params, limit);
  }
  return limit;
}

/** Median of the given timestamps (the previous ≤11 blocks); a block's time must exceed it. */
export function medianTimePast(times: readonly number[]): number {
  if (times.length === 0) throw new RangeError("median of no timestamps");
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
