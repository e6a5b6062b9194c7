import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SHORT_HASH_MAX_LENGTH, sha256Node, sha256Short } from "../../../src/consensus/tree-hash.js";
import { fromHex, toHex } from "../../../src/primitives/bytes.js";
import { sha256 } from "../../../src/primitives/hash.js";

const NODE = 65;

describe("tree node hasher: SHA-256 of 65-byte nodes", () => {
  it("known answer: 65 zero bytes (as computed by OpenSSL)", () => {
    const out = new Uint8Array(32);
    sha256Node(new Uint8Array(NODE), 0, out, 0);
    expect(toHex(out)).toBe("98ce42deef51d40269d542f5314bef2c7468d401ad5d85168bfab4c0108f75f7");
  });

  it("known answer: bytes 0..64 (as computed by OpenSSL)", () => {
    const input = Uint8Array.from({ length: NODE }, (_, i) => i);
    const out = new Uint8Array(32);
    sha256Node(input, 0, out, 0);
    expect(out).toEqual(fromHex("4bfd2c8b6f1eec7a2afeb48b934ee4b2694182027e6d0fc075074f2fabb31781"));
  });

  it("every last byte value selects the right precomputed tail block", () => {
    const input = new Uint8Array(NODE).fill(0xa5);
    const out = new Uint8Array(32);
    for (let last = 0; last < 256; last++) {
      input[NODE - 1] = last;
      sha256Node(input, 0, out, 0);
      expect(toHex(out)).toBe(toHex(sha256(input)));
    }
  });

  it("equals node:crypto SHA-256 for any node at any input and output offsets", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: NODE, maxLength: NODE }),
        fc.nat(40),
        fc.nat(40),
        (node, inAt, outAt) => {
          const input = new Uint8Array(inAt + NODE + 7).fill(0xff);
          input.set(node, inAt);
          const output = new Uint8Array(outAt + 32 + 5).fill(0xee);
          sha256Node(input, inAt, output, outAt);
          expect(toHex(output.subarray(outAt, outAt + 32))).toBe(toHex(sha256(node)));
          // Nothing outside the 32 output bytes is written.
          expect(output.subarray(0, outAt).every((b) => b === 0xee)).toBe(true);
          expect(output.subarray(outAt + 32).every((b) => b === 0xee)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("short-input hasher: SHA-256 of at most 55 bytes in one block", () => {
  it("known answers: the empty input and 'abc' (FIPS 180-2)", () => {
    expect(toHex(sha256Short(new Uint8Array()))).toBe(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    expect(toHex(sha256Short(new TextEncoder().encode("abc")))).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });

  it("equals node:crypto SHA-256 for every length 0..55, and refuses 56 bytes", () => {
    for (let length = 0; length <= SHORT_HASH_MAX_LENGTH; length++) {
      const input = Uint8Array.from({ length }, (_, i) => (i * 37 + length) & 0xff);
      expect(toHex(sha256Short(input))).toBe(toHex(sha256(input)));
    }
    expect(() => sha256Short(new Uint8Array(56))).toThrow(RangeError);
  });

  it("property: equals node:crypto SHA-256 for any input up to 55 bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: SHORT_HASH_MAX_LENGTH }), (input) => {
        expect(toHex(sha256Short(input))).toBe(toHex(sha256(input)));
      }),
      { numRuns: 300 },
    );
  });
});
