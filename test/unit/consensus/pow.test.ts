import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BlockError, BlockErrorCode } from "../../../src/consensus/errors.js";
import {
  checkBits,
  checkProofOfWork,
  compactToTarget,
  hashToBigInt,
  targetToCompact,
  workFromBits,
  workFromTarget,
} from "../../../src/consensus/pow.js";

const TWO_256 = 1n << 256n;
const MAINNET_LIMIT = 0xffffn << 208n; // 0x1d00ffff

interface CompactCase {
  bits: number;
  target: bigint;
  /** GetCompact of the decoded value; GetCompact(true) when `negative` */
  compact: number;
  negative: boolean;
}

// Bitcoin Core src/test/arith_uint256_tests.cpp, BOOST_AUTO_TEST_CASE(bignum_SetCompact).
const coreSetCompactCases: CompactCase[] = [
  { bits: 0, target: 0n, compact: 0, negative: false },
  { bits: 0x00123456, target: 0n, compact: 0, negative: false },
  { bits: 0x01003456, target: 0n, compact: 0, negative: false },
  { bits: 0x02000056, target: 0n, compact: 0, negative: false },
  { bits: 0x03000000, target: 0n, compact: 0, negative: false },
  { bits: 0x04000000, target: 0n, compact: 0, negative: false },
  // sign bit on a mantissa that is zero (or shifted out) is not negative
  { bits: 0x00923456, target: 0n, compact: 0, negative: false },
  { bits: 0x01803456, target: 0n, compact: 0, negative: false },
  { bits: 0x02800056, target: 0n, compact: 0, negative: false },
  { bits: 0x03800000, target: 0n, compact: 0, negative: false },
  { bits: 0x04800000, target: 0n, compact: 0, negative: false },
  { bits: 0x01123456, target: 0x12n, compact: 0x01120000, negative: false },
  { bits: 0x01fedcba, target: 0x7en, compact: 0x01fe0000, negative: true },
  { bits: 0x02123456, target: 0x1234n, compact: 0x02123400, negative: false },
  { bits: 0x03123456, target: 0x123456n, compact: 0x03123456, negative: false },
  { bits: 0x04123456, target: 0x12345600n, compact: 0x04123456, negative: false },
  { bits: 0x04923456, target: 0x12345600n, compact: 0x04923456, negative: true },
  { bits: 0x05009234, target: 0x92340000n, compact: 0x05009234, negative: false },
  { bits: 0x20123456, target: 0x123456n << 232n, compact: 0x20123456, negative: false },
];

// Core's overflow rule for a 256-bit number: size > 34, or a 2-byte mantissa with size > 33, or a
// 3-byte mantissa with size > 32. Boundaries on both sides (derived from that rule).
const overflowCases: { bits: number; overflow: boolean; target?: bigint }[] = [
  { bits: 0xff123456, overflow: true }, // Core's own case
  { bits: 0x207fffff, overflow: false, target: 0x7fffffn << 232n },
  { bits: 0x21010000, overflow: true },
  { bits: 0x2100ffff, overflow: false, target: 0xffffn << 240n },
  { bits: 0x22000100, overflow: true },
  { bits: 0x220000ff, overflow: false, target: 0xffn << 248n },
  { bits: 0x23000001, overflow: true },
  { bits: 0xff000000, overflow: false, target: 0n }, // zero mantissa never overflows
];

function blockErrorOf(fn: () => unknown): BlockError {
  try {
    fn();
  } catch (e) {
    if (e instanceof BlockError) return e;
    throw e;
  }
  throw new Error("expected a BlockError");
}

function hashOf(value: bigint): Uint8Array {
  const bytes = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) {
    bytes[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return bytes;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

const uint32 = fc.integer({ min: 0, max: 0xffffffff });
const uint256 = fc.oneof(
  fc.bigInt({ min: 0n, max: TWO_256 - 1n }),
  // targets of every magnitude, not just huge ones
  fc
    .tuple(fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }), fc.integer({ min: 0, max: 192 }))
    .map(([m, s]) => m << BigInt(s)),
);

describe("compactToTarget (Core SetCompact)", () => {
  it.each(coreSetCompactCases.map((c) => ({ ...c, hex: hex(c.bits) })))(
    "decodes $hex like Core",
    ({ bits, target, compact, negative }) => {
      const decoded = compactToTarget(bits);
      expect(decoded).toEqual({ target, negative, overflow: false });
      expect(targetToCompact(decoded.target, decoded.negative)).toBe(compact);
    },
  );

  it.each(overflowCases.map((c) => ({ ...c, hex: hex(c.bits) })))(
    "flags overflow of $hex as $overflow",
    ({ bits, overflow, target }) => {
      const decoded = compactToTarget(bits);
      expect(decoded.overflow).toBe(overflow);
      expect(decoded.negative).toBe(false);
      expect(decoded.target < TWO_256).toBe(true);
      if (target !== undefined) expect(decoded.target).toBe(target);
    },
  );

  it("decodes the Bitcoin pow limit 0x1d00ffff", () => {
    expect(compactToTarget(0x1d00ffff)).toEqual({ target: MAINNET_LIMIT, negative: false, overflow: false });
  });

  it.each([-1, 0x100000000, 1.5, Number.NaN])(
    "rejects bits %s that are not a uint32 with RangeError",
    (bits) => {
      expect(() => compactToTarget(bits)).toThrow(RangeError);
    },
  );
});

describe("targetToCompact (Core GetCompact)", () => {
  it.each(
    [
      { target: 0x80n, compact: 0x02008000 }, // Core: never sets the 0x00800000 bit
      { target: 0x7fn, compact: 0x017f0000 },
      { target: 0x800000n, compact: 0x04008000 },
      { target: MAINNET_LIMIT, compact: 0x1d00ffff },
      { target: 0x7fffffn << 232n, compact: 0x207fffff },
      { target: TWO_256 - 1n, compact: 0x2100ffff },
      { target: 1n, compact: 0x01010000 },
    ].map((c) => ({ ...c, hex: hex(c.compact) })),
  )("encodes $target as $hex", ({ target, compact }) => {
    expect(targetToCompact(target)).toBe(compact);
  });

  it("sets the sign bit only for a non-zero mantissa", () => {
    expect(targetToCompact(0n, true)).toBe(0);
    expect(targetToCompact(0x12345600n, true)).toBe(0x04923456);
  });

  it.each([-1n, TWO_256, TWO_256 + 5n])("rejects %s outside [0, 2^256) with RangeError", (target) => {
    expect(() => targetToCompact(target)).toThrow(RangeError);
  });

  it("normalises: re-encoding a decoded valid compact is a fixed point and keeps the target", () => {
    fc.assert(
      fc.property(uint32, (bits) => {
        const decoded = compactToTarget(bits);
        fc.pre(!decoded.overflow);
        const normal = targetToCompact(decoded.target);
        expect(compactToTarget(normal)).toEqual({ target: decoded.target, negative: false, overflow: false });
        expect(targetToCompact(compactToTarget(normal).target)).toBe(normal);
        // a normal compact never carries the sign bit
        expect(normal & 0x00800000).toBe(0);
      }),
      { numRuns: 2000 },
    );
  });

  it("rounds any target down, keeping at least 15 significant bits", () => {
    fc.assert(
      fc.property(uint256, (target) => {
        const decoded = compactToTarget(targetToCompact(target));
        expect(decoded.negative || decoded.overflow).toBe(false);
        expect(decoded.target <= target).toBe(true);
        expect((target - decoded.target) * 0x8000n <= target).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("workFromTarget / workFromBits (Core GetBlockProof)", () => {
  it.each(
    [
      { bits: 0x1d00ffff, work: 0x100010001n },
      { bits: 0x207fffff, work: 2n },
      { bits: 0x01010000, work: 1n << 255n },
      { bits: 0x2100ffff, work: 1n },
    ].map((c) => ({ ...c, hex: hex(c.bits) })),
  )("bits $hex carry work $work", ({ bits, work }) => {
    expect(workFromBits(bits)).toBe(work);
    expect(workFromTarget(compactToTarget(bits).target)).toBe(work);
  });

  it.each([0, 0x01003456, 0x04923456, 0xff123456].map(hex))(
    "bits %s that are zero, negative or overflow carry no work",
    (name) => {
      const bits = Number(name);
      expect(workFromBits(bits)).toBe(0n);
    },
  );

  it("is floor(2^256 / (target + 1)) for every target", () => {
    fc.assert(
      fc.property(
        uint256.filter((t) => t > 0n),
        (target) => {
          const work = workFromTarget(target);
          expect(work * (target + 1n) <= TWO_256).toBe(true);
          expect((work + 1n) * (target + 1n) > TWO_256).toBe(true);
        },
      ),
    );
  });

  it.each([0n, -1n, TWO_256])("rejects target %s with RangeError", (target) => {
    expect(() => workFromTarget(target)).toThrow(RangeError);
  });
});

describe("checkBits", () => {
  it("returns the target for bits at and below the pow limit", () => {
    expect(checkBits(0x1d00ffff, MAINNET_LIMIT)).toBe(MAINNET_LIMIT);
    expect(checkBits(0x1b0404cb, MAINNET_LIMIT)).toBe(0x0404cbn << 192n);
    expect(checkBits(0x01010000, MAINNET_LIMIT)).toBe(1n);
  });

  it.each([
    { why: "negative", bits: 0x04923456 },
    { why: "overflow", bits: 0xff123456 },
    { why: "zero", bits: 0 },
    { why: "zero after shifting the mantissa out", bits: 0x01003456 },
    { why: "above the pow limit", bits: 0x1d010000 },
    { why: "far above the pow limit", bits: 0x207fffff },
  ])("throws BAD_BITS for $why bits", ({ bits }) => {
    const err = blockErrorOf(() => checkBits(bits, MAINNET_LIMIT));
    expect(err.code).toBe(BlockErrorCode.BAD_BITS);
    expect(err.action).toBe("reject");
  });
});

describe("hashToBigInt", () => {
  it("reads the digest big-endian: byte 0 is the most significant", () => {
    const low = new Uint8Array(32);
    low[31] = 1;
    expect(hashToBigInt(low)).toBe(1n);
    const high = new Uint8Array(32);
    high[0] = 0x80;
    expect(hashToBigInt(high)).toBe(1n << 255n);
    expect(hashToBigInt(new Uint8Array(32).fill(0xff))).toBe(TWO_256 - 1n);
  });

  it("round-trips any 256-bit value", () => {
    fc.assert(
      fc.property(uint256, (v) => {
        expect(hashToBigInt(hashOf(v))).toBe(v);
      }),
    );
  });

  it("reads a subarray view from its own offset", () => {
    const buf = new Uint8Array(40).fill(0xaa);
    const view = buf.subarray(3, 35);
    view.fill(0);
    view[31] = 7;
    expect(hashToBigInt(view)).toBe(7n);
  });

  it.each([0, 31, 33, 64])("rejects a %i-byte hash with RangeError", (n) => {
    expect(() => hashToBigInt(new Uint8Array(n))).toThrow(RangeError);
  });

  it("rejects a non-Uint8Array with TypeError", () => {
    expect(() => hashToBigInt(Array.from({ length: 32 }, () => 0) as unknown as Uint8Array)).toThrow(
      TypeError,
    );
  });
});

describe("checkProofOfWork", () => {
  const bits = 0x1d00ffff;

  it("accepts a hash equal to the target", () => {
    expect(() => checkProofOfWork(hashOf(MAINNET_LIMIT), bits, MAINNET_LIMIT)).not.toThrow();
    expect(() => checkProofOfWork(hashOf(0n), bits, MAINNET_LIMIT)).not.toThrow();
  });

  it("throws HIGH_HASH for a hash one above the target", () => {
    const err = blockErrorOf(() => checkProofOfWork(hashOf(MAINNET_LIMIT + 1n), bits, MAINNET_LIMIT));
    expect(err.code).toBe(BlockErrorCode.HIGH_HASH);
    expect(err.action).toBe("reject");
  });

  it("throws HIGH_HASH for a hash whose leading zero bytes sit at the end (little-endian reading would pass)", () => {
    const reversed = hashOf(1n).reverse(); // 0x01 00 .. 00: tiny little-endian, huge big-endian
    const err = blockErrorOf(() => checkProofOfWork(reversed, bits, MAINNET_LIMIT));
    expect(err.code).toBe(BlockErrorCode.HIGH_HASH);
  });

  it("throws BAD_BITS before looking at the hash", () => {
    const err = blockErrorOf(() => checkProofOfWork(hashOf(0n), 0x1d010000, MAINNET_LIMIT));
    expect(err.code).toBe(BlockErrorCode.BAD_BITS);
  });
});
