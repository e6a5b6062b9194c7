import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  createScanJob,
  headerDigestFromMidstate,
  headerMidstate,
  searchNonce,
  sha256,
} from "../../../src/miner/index.js";
import { generateKernelSource } from "../../../src/miner/kernel-codegen.js";
import { HEADER_NONCE_OFFSET, HEADER_SIZE, toHex } from "../../../src/primitives/index.js";

const nodeSha256 = (data: Uint8Array): Uint8Array =>
  new Uint8Array(createHash("sha256").update(data).digest());
const nodeSha256d = (data: Uint8Array): Uint8Array => nodeSha256(nodeSha256(data));
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

function withNonce(header: Uint8Array, nonceHigh: number, nonceLow: number): Uint8Array {
  const copy = Uint8Array.from(header);
  const view = new DataView(copy.buffer);
  view.setUint32(HEADER_NONCE_OFFSET, nonceHigh, false);
  view.setUint32(HEADER_NONCE_OFFSET + 4, nonceLow, false);
  return copy;
}

const headerArb = fc.uint8Array({ minLength: HEADER_SIZE, maxLength: HEADER_SIZE });
const u32Arb = fc.integer({ min: 0, max: 0xffffffff });

// FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA2_Additional.pdf").
const nistVectors: { name: string; message: Uint8Array; digest: string }[] = [
  {
    name: "empty message",
    message: new Uint8Array(0),
    digest: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  },
  {
    name: '"abc" (one block)',
    message: ascii("abc"),
    digest: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  },
  {
    name: "448-bit message (two blocks: padding spills over)",
    message: ascii("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
    digest: "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  },
  {
    name: "896-bit message",
    message: ascii(
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
    ),
    digest: "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
  },
  {
    name: "one million 'a'",
    message: new Uint8Array(1_000_000).fill(0x61),
    digest: "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
  },
];

describe("pure-JS SHA-256 compression", () => {
  it.each(nistVectors)("matches the FIPS 180-4 vector: $name", ({ message, digest }) => {
    expect(toHex(sha256(message))).toBe(digest);
    expect(toHex(nodeSha256(message))).toBe(digest);
  });

  it("matches node:crypto on random messages of every padding case (0..300 bytes)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), (message) => {
        expect(toHex(sha256(message))).toBe(toHex(nodeSha256(message)));
      }),
      { numRuns: 300 },
    );
  });

  it("rejects non-bytes with TypeError", () => {
    expect(() => sha256("abc" as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe("header midstate path", () => {
  it("equals node:crypto SHA-256d of the 116-byte header for random headers and nonces", () => {
    fc.assert(
      fc.property(headerArb, u32Arb, u32Arb, (header, nonceHigh, nonceLow) => {
        const expected = nodeSha256d(withNonce(header, nonceHigh, nonceLow));
        // The header's own nonce bytes must not matter: the midstate covers bytes 0..63 only.
        const digest = headerDigestFromMidstate(headerMidstate(header), header, nonceHigh, nonceLow);
        expect(toHex(digest)).toBe(toHex(expected));
      }),
      { numRuns: 500 },
    );
  });

  it("midstate rejects a header of the wrong size with RangeError", () => {
    expect(() => headerMidstate(new Uint8Array(HEADER_SIZE - 1))).toThrow(RangeError);
  });
});

describe("scan kernel (specialised loop)", () => {
  // The loop computes only the digest's first big-endian word and compares it with the target's.
  // With a target whose lower 224 bits are all ones, a one-nonce search succeeds exactly when that
  // word is ≤ the target's first word, so 32 searches read the loop's word back by bisection.
  function kernelFirstWord(header: Uint8Array, nonceHigh: number, nonceLow: number): number {
    const ones224 = (1n << 224n) - 1n;
    let lo = 0;
    let hi = 0xffffffff;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const job = createScanJob(header, (BigInt(mid) << 224n) | ones224, nonceHigh);
      if (searchNonce(job, nonceLow, nonceLow + 1).nonce !== undefined) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  it("computes the same first digest word as node:crypto for random headers and nonces", () => {
    fc.assert(
      fc.property(
        headerArb,
        u32Arb,
        fc.integer({ min: 0, max: 0xfffffffe }),
        (header, nonceHigh, nonceLow) => {
          const expected = new DataView(nodeSha256d(withNonce(header, nonceHigh, nonceLow)).buffer).getUint32(
            0,
          );
          expect(kernelFirstWord(header, nonceHigh, nonceLow)).toBe(expected);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("is the committed output of the generator (regenerate sha256-kernel.ts after editing kernel-codegen.ts)", () => {
    const committed = readFileSync(new URL("../../../src/miner/sha256-kernel.ts", import.meta.url), "utf8");
    expect(committed).toBe(generateKernelSource());
  });
});
