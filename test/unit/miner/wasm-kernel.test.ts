import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { assembleSimdKernel, generateSimdKernelWat } from "../../../scripts/miner-wasm-codegen.js";
import { hashToBigInt } from "../../../src/consensus/pow.js";
import {
  createScanJob,
  defaultMinerPoolOptions,
  MinerPool,
  NONCE_LOW_SPACE,
  searchNonce,
  simdKernelSupported,
} from "../../../src/miner/index.js";
import { HEADER_NONCE_OFFSET, HEADER_SIZE, toHex } from "../../../src/primitives/index.js";

/**
 * The WebAssembly SIMD kernel against the JS kernel and node:crypto: the same winners, bit for
 * bit, and the committed module is what the generator writes today.
 */

const sha256d = (data: Uint8Array): Uint8Array => {
  const once = createHash("sha256").update(data).digest();
  return new Uint8Array(createHash("sha256").update(once).digest());
};

function withNonce(header: Uint8Array, nonce: bigint): Uint8Array {
  const copy = Uint8Array.from(header);
  new DataView(copy.buffer).setBigUint64(HEADER_NONCE_OFFSET, nonce, false);
  return copy;
}

/** Deterministic pseudo-random header bytes (xorshift32). */
function headerFromSeed(seed: number): Uint8Array {
  const bytes = new Uint8Array(HEADER_SIZE);
  let x = seed | 1;
  for (let i = 0; i < bytes.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/** Every winning (nonce, hash) in [start, end), by repeated searches from after each winner. */
function allWinners(
  kernel: "js" | "wasm",
  header: Uint8Array,
  target: bigint,
  nonceHigh: number,
  start: number,
  end: number,
): { nonce: string; hash: string }[] {
  const job = createScanJob(header, target, nonceHigh, kernel);
  const out: { nonce: string; hash: string }[] = [];
  let n = start;
  while (n < end) {
    const result = searchNonce(job, n, end);
    if (result.nonce === undefined) break;
    out.push({ nonce: result.nonce.toString(), hash: toHex(result.hash!) });
    n = Number(result.nonce & 0xffffffffn) + 1;
  }
  return out;
}

// About 1 hash in 256 meets it: the digest's first byte is zero.
const LOOSE_TARGET = (1n << 248n) - 1n;
const ALL = (1n << 256n) - 1n;

describe("WebAssembly SIMD kernel", () => {
  it("this runtime supports WebAssembly SIMD (the kernel `auto` picks)", () => {
    expect(simdKernelSupported()).toBe(true);
    expect(createScanJob(new Uint8Array(HEADER_SIZE), 1n, 0).kernel).toBe("wasm");
  });

  // Ranges start and end off the four-lane grid, and one runs to the top of the low nonce space.
  it.each([
    ["seed 1, [0, 20000)", 1, 0, 0, 20_000],
    ["seed 2, [3, 20001), high word 0xdeadbeef", 2, 0xdeadbeef, 3, 20_001],
    ["seed 3, [2^31 − 5, 2^31 + 9998)", 3, 5, 2 ** 31 - 5, 2 ** 31 + 9_998],
    ["seed 4, the top: [2^32 − 10003, 2^32)", 4, 0xffffffff, NONCE_LOW_SPACE - 10_003, NONCE_LOW_SPACE],
  ])(
    "agrees bit for bit with the JS kernel on every hash under a 1-in-256 target (%s)",
    (_name, seed, high, start, end) => {
      const header = headerFromSeed(seed);
      const wasm = allWinners("wasm", header, LOOSE_TARGET, high, start, end);
      const js = allWinners("js", header, LOOSE_TARGET, high, start, end);
      expect(wasm).toEqual(js);
      // ~39 winners expected in 10,000; far fewer would mean a kernel misses winners.
      expect(wasm.length).toBeGreaterThan(10);
      for (const { nonce, hash } of wasm) {
        const digest = sha256d(withNonce(header, BigInt(nonce)));
        expect(toHex(digest)).toBe(hash);
        expect(hashToBigInt(digest)).toBeLessThanOrEqual(LOOSE_TARGET);
      }
    },
  );

  it("known answers: with a target every hash meets, each nonce's hash is node:crypto's SHA-256d", () => {
    const header = headerFromSeed(5);
    const winners = allWinners("wasm", header, ALL, 9, 1, 12);
    expect(winners.map((w) => w.nonce)).toEqual(
      Array.from({ length: 11 }, (_, i) => ((9n << 32n) | BigInt(i + 1)).toString()),
    );
    for (const { nonce, hash } of winners)
      expect(hash).toBe(toHex(sha256d(withNonce(header, BigInt(nonce)))));
  });

  it("known answer: the first nonce under 0x0000ffff… matches a node:crypto brute force", () => {
    const header = headerFromSeed(6);
    const target = (1n << 240n) - 1n;
    const result = searchNonce(createScanJob(header, target, 0, "wasm"), 0, 1 << 20);
    let expected: bigint | undefined;
    for (let n = 0n; n < 1n << 20n; n++) {
      if (hashToBigInt(sha256d(withNonce(header, n))) <= target) {
        expected = n;
        break;
      }
    }
    expect(expected).toBeDefined();
    expect(result.nonce).toBe(expected);
    expect(result.hashes).toBe(Number(expected) + 1);
  });

  it("the committed .wat and .wasm equal a fresh generation (npm run gen:miner-wasm)", async () => {
    const wat = generateSimdKernelWat();
    const committedWat = readFileSync(
      new URL("../../../src/miner/sha256d-simd.wat", import.meta.url),
      "utf8",
    );
    expect(committedWat).toBe(wat);
    const committedWasm = new Uint8Array(
      readFileSync(new URL("../../../src/miner/sha256d-simd.wasm", import.meta.url)),
    );
    expect(Buffer.from(committedWasm).equals(Buffer.from(await assembleSimdKernel(wat)))).toBe(true);
  });

  it("MinerPool refuses an unknown kernel with a RangeError and resolves `auto` to the SIMD kernel", () => {
    expect(() => new MinerPool({ kernel: "gpu" as "js" })).toThrow(RangeError);
    expect(new MinerPool({ kernel: "auto" }).kernel).toBe("wasm");
    expect(new MinerPool({ kernel: "js" }).kernel).toBe("js");
  });

  it("QUARRY_MINER_KERNEL sets the default kernel", () => {
    const saved = process.env.QUARRY_MINER_KERNEL;
    try {
      process.env.QUARRY_MINER_KERNEL = "js";
      expect(defaultMinerPoolOptions().kernel).toBe("js");
      process.env.QUARRY_MINER_KERNEL = "simd";
      expect(() => new MinerPool()).toThrow(RangeError);
      delete process.env.QUARRY_MINER_KERNEL;
      expect(defaultMinerPoolOptions().kernel).toBe("auto");
    } finally {
      if (saved === undefined) delete process.env.QUARRY_MINER_KERNEL;
      else process.env.QUARRY_MINER_KERNEL = saved;
    }
  });
});
