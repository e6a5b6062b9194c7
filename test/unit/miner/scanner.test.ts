import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compactToTarget, hashToBigInt } from "../../../src/consensus/pow.js";
import { createScanJob, type MinerKernel, NONCE_LOW_SPACE, searchNonce } from "../../../src/miner/index.js";
import {
  type BlockHeader,
  encodeHeader,
  HEADER_NONCE_OFFSET,
  HEADER_SIZE,
  headerHash,
  toHex,
} from "../../../src/primitives/index.js";

const REGTEST_BITS = 0x207fffff;
const HARDER_BITS = 0x1f00ffff; // first two digest bytes zero: ~1 in 65,536 hashes wins

const header: BlockHeader = {
  version: 1,
  prevHash: new Uint8Array(32).fill(0xab),
  merkleRoot: new Uint8Array(32).fill(0x01),
  stateRoot: new Uint8Array(32).fill(0x02),
  time: 1_700_000_000,
  bits: REGTEST_BITS,
  nonce: 0n,
};

const sha256d = (data: Uint8Array): Uint8Array => {
  const once = createHash("sha256").update(data).digest();
  return new Uint8Array(createHash("sha256").update(once).digest());
};

/** The first nonce in [start, end) under `nonceHigh` whose node:crypto SHA-256d is ≤ target. */
function bruteForce(bytes: Uint8Array, target: bigint, nonceHigh: number, start: number, end: number) {
  const copy = Uint8Array.from(bytes);
  const view = new DataView(copy.buffer);
  view.setUint32(HEADER_NONCE_OFFSET, nonceHigh, false);
  for (let n = start; n < end; n++) {
    view.setUint32(HEADER_NONCE_OFFSET + 4, n, false);
    if (hashToBigInt(sha256d(copy)) <= target) return (BigInt(nonceHigh) << 32n) | BigInt(n);
  }
  return undefined;
}

describe.each(["js", "wasm"] as const)("searchNonce with the %s kernel", (kernel) => {
  it.each([
    ["regtest 0x207fffff", REGTEST_BITS, 0],
    ["0x1f00ffff", HARDER_BITS, 0],
    ["0x1f00ffff under a non-zero high nonce word", HARDER_BITS, 0xdeadbeef],
  ])("finds a nonce whose real headerHash is ≤ target (%s)", (_name, bits, nonceHigh) => {
    const { target } = compactToTarget(bits);
    const job = createScanJob(encodeHeader({ ...header, bits }), target, nonceHigh, kernel);
    // P(no winner in 2^22 nonces at 1/65536) ≈ e^-64.
    const result = searchNonce(job, 0, 1 << 22);
    expect(result.nonce).toBeDefined();
    const solved = { ...header, bits, nonce: result.nonce! };
    expect(Number(result.nonce! >> 32n)).toBe(nonceHigh);
    expect(hashToBigInt(headerHash(solved))).toBeLessThanOrEqual(target);
    expect(toHex(result.hash!)).toBe(toHex(headerHash(solved)));
    expect(result.hashes).toBe(Number(result.nonce! & 0xffffffffn) + 1);
  });

  it("returns the first winner in the range, like a node:crypto brute force (random headers and targets)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: HEADER_SIZE, maxLength: HEADER_SIZE }),
        fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: NONCE_LOW_SPACE - 64 }),
        (bytes, target, nonceHigh, start) => {
          // Scale the target so that about 1 in 16 hashes wins: most ranges have a winner, not all.
          const scaled = target >> 4n;
          const expected = bruteForce(bytes, scaled, nonceHigh, start, start + 64);
          const result = searchNonce(createScanJob(bytes, scaled, nonceHigh, kernel), start, start + 64);
          expect(result.nonce).toBe(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("reports no nonce and counts every hash in a range that has none (hard target)", () => {
    const bytes = encodeHeader(header);
    const target = compactToTarget(0x1b00ffff).target; // ~2^-48 per hash
    expect(bruteForce(bytes, target, 0, 1000, 3000)).toBeUndefined();
    const result = searchNonce(createScanJob(bytes, target, 0, kernel), 1000, 3000);
    expect(result).toEqual({ nonce: undefined, hash: undefined, hashes: 2000 });
  });

  it("reaches the top of the low nonce space (n = 2^32 − 1)", () => {
    const bytes = encodeHeader(header);
    const all = (1n << 256n) - 1n;
    const result = searchNonce(createScanJob(bytes, all, 7, kernel), NONCE_LOW_SPACE - 1, NONCE_LOW_SPACE);
    expect(result.nonce).toBe((7n << 32n) | 0xffffffffn);
    expect(toHex(result.hash!)).toBe(toHex(headerHash({ ...header, nonce: result.nonce! })));
  });

  it("scans with the kernel it was asked for", () => {
    expect(createScanJob(encodeHeader(header), 1n, 0, kernel).kernel).toBe(kernel);
  });

  it("an empty range hashes nothing", () => {
    const job = createScanJob(encodeHeader(header), 1n << 255n, 0, kernel);
    expect(searchNonce(job, 5, 5)).toEqual({ nonce: undefined, hash: undefined, hashes: 0 });
  });

  it("rejects bad input before work: TypeError for wrong types, RangeError for wrong sizes", () => {
    const bytes = encodeHeader(header);
    expect(() => createScanJob(bytes.subarray(1), 1n, 0, kernel)).toThrow(RangeError);
    expect(() => createScanJob(bytes, 1 as unknown as bigint, 0, kernel)).toThrow(TypeError);
    expect(() => createScanJob(bytes, 1n << 256n, 0, kernel)).toThrow(RangeError);
    expect(() => createScanJob(bytes, 1n, 2 ** 32, kernel)).toThrow(RangeError);
    expect(() => createScanJob(bytes, 1n, 0, "gpu" as MinerKernel)).toThrow(RangeError);
    const job = createScanJob(bytes, 1n, 0, kernel);
    expect(() => searchNonce(job, 0, NONCE_LOW_SPACE + 1)).toThrow(RangeError);
    expect(() => searchNonce(job, 10, 5)).toThrow(RangeError);
    expect(() => searchNonce(job, 0.5, 5)).toThrow(TypeError);
  });
});
