/**
 * Proof-of-work math: the compact `bits` encoding of a 256-bit target, block work, and the
 * header-hash check. Pure bigint arithmetic, no I/O.
 *
 * The compact encoding follows Bitcoin Core's `arith_uint256::SetCompact` / `GetCompact`
 * (src/arith_uint256.cpp) bit for bit, including its odd corners (a sign bit, mantissas shifted
 * out for exponents ≤ 3, overflow detection for a 256-bit number), because other nodes and the
 * ASERT test vectors depend on exactly those semantics.
 */
import { BlockError, BlockErrorCode } from "./errors.js";

const TWO_256 = 1n << 256n;
const UINT256_MASK = TWO_256 - 1n;
const SIGN_BIT = 0x00800000;
const MANTISSA_MASK = 0x007fffff;

/** A decoded compact target, with Core's `fNegative` and `fOverflow` flags. */
export interface CompactTarget {
  /** the 256-bit value (already truncated to 256 bits when `overflow` is set, as Core's uint256 does) */
  target: bigint;
  /** the sign bit was set on a non-zero mantissa */
  negative: boolean;
  /** the value does not fit in 256 bits */
  overflow: boolean;
}

function assertUint32(bits: number, name: string): void {
  if (typeof bits !== "number") throw new TypeError(`${name} must be a number, got ${typeof bits}`);
  if (!Number.isInteger(bits) || bits < 0 || bits > 0xffffffff) {
    throw new RangeError(`${name} must be an unsigned 32-bit integer, got ${bits}`);
  }
}

function assertUint256(value: bigint, name: string): void {
  if (typeof value !== "bigint") throw new TypeError(`${name} must be a bigint, got ${typeof value}`);
  if (value < 0n || value >= TWO_256) throw new RangeError(`${name} must be in [0, 2^256), got ${value}`);
}

/**
 * Decode compact `bits` (Core's `SetCompact`): the top byte is the size in bytes, the low 23 bits
 * the mantissa, bit 0x00800000 the sign.
 */
export function compactToTarget(bits: number): CompactTarget {
  assertUint32(bits, "bits");
  const size = bits >>> 24;
  let word = bits & MANTISSA_MASK;
  let target: bigint;
  if (size <= 3) {
    // Small sizes shift mantissa bytes out; the sign test below uses the shifted word, so
    // 0x01803456 is zero and not negative, exactly as in Core.
    word >>>= 8 * (3 - size);
    target = BigInt(word);
  } else {
    // Core's uint256 silently drops bits shifted past 2^256; `overflow` reports it.
    target = (BigInt(word) << BigInt(8 * (size - 3))) & UINT256_MASK;
  }
  const negative = word !== 0 && (bits & SIGN_BIT) !== 0;
  const overflow = word !== 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32));
  return { target, negative, overflow };
}

/**
 * Encode a target as compact `bits` (Core's `GetCompact`). The mantissa never has the sign bit
 * set: if it would, it is shifted right one byte and the size grows by one.
 *
 * @param negative set the sign bit (only when the mantissa is non-zero), as `GetCompact(true)`
 * @throws RangeError when `target` is negative or not below 2^256
 */
export function targetToCompact(target: bigint, negative = false): number {
  assertUint256(target, "target");
  let size = byteLength(target);
  let compact =
    size <= 3 ? Number(target << BigInt(8 * (3 - size))) : Number(target >> BigInt(8 * (size - 3)));
  if ((compact & SIGN_BIT) !== 0) {
    compact >>>= 8;
    size++;
  }
  compact |= size << 24;
  if (negative && (compact & MANTISSA_MASK) !== 0) compact |= SIGN_BIT;
  // `|` yields a signed int32; callers expect the unsigned header field.
  return compact >>> 0;
}

function byteLength(value: bigint): number {
  return value === 0n ? 0 : Math.ceil(value.toString(16).length / 2);
}

/**
 * Expected number of hashes to meet `target`: floor(2^256 / (target + 1)), Core's
 * `GetBlockProof`. Chain work is the sum of this over a chain.
 *
 * @throws RangeError when `target` is zero (no hash can meet it), negative or ≥ 2^256
 */
export function workFromTarget(target: bigint): bigint {
  assertUint256(target, "target");
  if (target === 0n) throw new RangeError("target 0 has no defined work");
  return TWO_256 / (target + 1n);
}

/**
 * Work of a block with these `bits`. Like Core's `GetBlockProof`, bits that are negative,
 * overflow or decode to zero count as no work (0n); validation rejects such blocks anyway.
 */
export function workFromBits(bits: number): bigint {
  const { target, negative, overflow } = compactToTarget(bits);
  if (negative || overflow || target === 0n) return 0n;
  return workFromTarget(target);
}

/**
 * Decode `bits` and check they form a valid target for this network.
 *
 * @returns the target
 * @throws BlockError BAD_BITS (reject) when the bits are negative, overflow, decode to zero, or
 *   exceed `powLimit` (Core's CheckProofOfWork range check)
 */
export function checkBits(bits: number, powLimit: bigint): bigint {
  assertUint256(powLimit, "powLimit");
  const { target, negative, overflow } = compactToTarget(bits);
  if (negative || overflow || target === 0n || target > powLimit) {
    const reason = negative ? "negative" : overflow ? "overflow" : target === 0n ? "zero" : "above pow limit";
    throw new BlockError({ code: BlockErrorCode.BAD_BITS }, `bits 0x${hex32(bits)} invalid: ${reason}`);
  }
  return target;
}

/**
 * The PoW value of a header hash.
 *
 * Quarry reads the 32-byte SHA-256d digest as a BIG-ENDIAN unsigned integer: byte 0 is the most
 * significant. Bitcoin reads the same digest little-endian (which is why its block ids are
 * displayed byte-reversed); big-endian lets the miner test leading zero bytes of the raw digest
 * directly, before any conversion.
 *
 * @throws TypeError unless `hash` is a Uint8Array; RangeError unless it is 32 bytes
 */
export function hashToBigInt(hash: Uint8Array): bigint {
  if (!(hash instanceof Uint8Array)) throw new TypeError("hash must be a Uint8Array");
  if (hash.length !== 32) throw new RangeError(`hash must be 32 bytes, got ${hash.length}`);
  let value = 0n;
  for (let i = 0; i < 32; i += 8) {
    value = (value << 64n) | readU64BE(hash, i);
  }
  return value;
}

function readU64BE(bytes: Uint8Array, offset: number): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset + offset, 8).getBigUint64(0, false);
}

/**
 * Check a header hash against its `bits` (Core's `CheckProofOfWork`).
 *
 * @throws BlockError BAD_BITS (reject) when the bits are invalid (see {@link checkBits});
 *   HIGH_HASH (reject) when the hash, read big-endian, is above the target
 */
export function checkProofOfWork(hash: Uint8Array, bits: number, powLimit: bigint): void {
  const target = checkBits(bits, powLimit);
  if (hashToBigInt(hash) > target) {
    throw new BlockError({ code: BlockErrorCode.HIGH_HASH }, `hash above target of bits 0x${hex32(bits)}`);
  }
}

function hex32(value: number): string {
  return value.toString(16).padStart(8, "0");
}
