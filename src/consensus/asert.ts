/**
 * aserti3-2d (ASERT), the per-block difficulty algorithm of Bitcoin Cash, as specified in
 * bitcoincash.org spec/2020-11-15-asert.md and implemented by Bitcoin Cash Node's
 * `CalculateASERT` (src/pow.cpp):
 *
 *   next_target = anchor_target * 2^((time_delta - spacing * (height_delta + 1)) / half_life)
 *
 * computed in 16.16 fixed point with the spec's cubic approximation of 2^x, so every node gets
 * the same bits. Pure bigint arithmetic: heights and times may exceed 2^53 (the published vectors
 * cross the int64 height range), and no intermediate is truncated.
 */
import { compactToTarget, targetToCompact } from "./pow.js";

/** Inputs of {@link nextTargetAsert}. Integers given as `number` must be safe integers. */
export interface AsertInput {
  /** height of the anchor block; > 0 per the spec */
  anchorHeight: bigint | number;
  /** timestamp of the anchor block's PARENT (the spec's t_ref), in seconds */
  anchorParentTime: bigint | number;
  /** compact bits of the anchor block; must decode to a target in (0, powLimit] */
  anchorBits: number;
  /** height of the evaluation block (the parent of the block being computed); ≥ anchorHeight */
  tipHeight: bigint | number;
  /** timestamp of the evaluation block, in seconds; may be earlier than anchorParentTime */
  tipTime: bigint | number;
  /** ideal seconds between blocks (600 on Bitcoin Cash) */
  targetSpacing: number;
  /** seconds ahead of schedule that double the target (172800 on Bitcoin Cash) */
  halfLife: number;
  /** easiest allowed target */
  powLimit: bigint;
}

const RADIX_BITS = 16n;
const RADIX = 1n << RADIX_BITS;
const FRAC_MASK = RADIX - 1n;

function toBigInt(value: bigint | number, name: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value !== "number")
    throw new TypeError(`${name} must be a bigint or number, got ${typeof value}`);
  if (!Number.isSafeInteger(value)) throw new RangeError(`${name} must be a safe integer, got ${value}`);
  return BigInt(value);
}

function positive(value: number, name: string): bigint {
  const v = toBigInt(value, name);
  if (v <= 0n) throw new RangeError(`${name} must be positive, got ${value}`);
  return v;
}

/**
 * Compact bits of the block at height `tipHeight + 1`, by aserti3-2d.
 *
 * @throws TypeError / RangeError on malformed input: non-integers, `anchorHeight` ≤ 0,
 *   `tipHeight` < `anchorHeight`, non-positive spacing or half-life, or anchor bits that are not a
 *   valid target within `powLimit` (the spec's precondition)
 */
export function nextTargetAsert(p: AsertInput): number {
  const anchorHeight = toBigInt(p.anchorHeight, "anchorHeight");
  const anchorParentTime = toBigInt(p.anchorParentTime, "anchorParentTime");
  const tipHeight = toBigInt(p.tipHeight, "tipHeight");
  const tipTime = toBigInt(p.tipTime, "tipTime");
  const spacing = positive(p.targetSpacing, "targetSpacing");
  const halfLife = positive(p.halfLife, "halfLife");
  if (typeof p.powLimit !== "bigint" || p.powLimit <= 0n)
    throw new RangeError("powLimit must be a positive bigint");
  if (anchorHeight <= 0n) throw new RangeError(`anchorHeight must be > 0, got ${anchorHeight}`);
  if (tipHeight < anchorHeight) {
    throw new RangeError(`tipHeight ${tipHeight} is below anchorHeight ${anchorHeight}`);
  }
  const anchor = compactToTarget(p.anchorBits);
  if (anchor.negative || anchor.overflow || anchor.target === 0n || anchor.target > p.powLimit) {
    throw new RangeError(`anchorBits 0x${p.anchorBits.toString(16)} are not a target in (0, powLimit]`);
  }

  const timeDelta = tipTime - anchorParentTime;
  const heightDelta = tipHeight - anchorHeight;
  // Spec note 3: truncating division here. bigint `/` truncates toward zero like C++ int64 `/`.
  const exponent = ((timeDelta - spacing * (heightDelta + 1n)) * RADIX) / halfLife;
  // Spec: arithmetic right shift, i.e. floor division. bigint `>>` floors on negatives too, as
  // BCHN's int64 `>>` does, so frac = exponent - shifts * 2^16 is always in [0, 2^16).
  const shifts = exponent >> RADIX_BITS;
  const frac = exponent & FRAC_MASK;
  // 2^frac ≈ 1 + 0.695502049x + 0.2262698x² + 0.0782318x³ in 16.16 fixed point, rounded
  // (+2^47) before >> 48. The sum stays below 2^64, so no wrap-around is needed to match uint64.
  const factor =
    RADIX + ((195766423245049n * frac + 971821376n * frac ** 2n + 5127n * frac ** 3n + (1n << 47n)) >> 48n);
  // Unlimited width: no overflow handling needed (spec note 6); the clamp below covers it. This
  // also lets pow limits above 2^224 work (regtest), which BCHN's C++ asserts against.
  const scaled = anchor.target * factor;
  const shift = shifts - RADIX_BITS;
  let next: bigint;
  if (shift >= 256n) {
    // scaled ≥ 1, so the result is ≥ 2^256 > any pow limit; don't build a huge number for a
    // timestamp far in the future.
    next = p.powLimit;
  } else {
    next = shift < 0n ? scaled >> -shift : scaled << shift;
  }

  // 0 is not a valid target, 1 is (the hardest); the pow limit is the easiest.
  if (next === 0n) next = 1n;
  else if (next > p.powLimit) next = p.powLimit;
  return targetToCompact(next);
}
