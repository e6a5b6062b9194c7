import { scryptSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { deriveKey } from "../../../src/keystore/index.js";
import { toHex } from "../../../src/primitives/index.js";

/** scrypt runs on the KDF worker thread: right answers, and the main thread stays free meanwhile. */

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("deriveKey (scrypt on the worker thread)", () => {
  it("RFC 7914 §12 vector: P='password', S='NaCl', N=1024, r=8, p=16, dkLen=64", async () => {
    const dk = await deriveKey(
      { kdf: "scrypt", n: 1024, r: 8, p: 16, dklen: 64, salt: utf8("NaCl") },
      utf8("password"),
    );
    expect(toHex(dk)).toBe(
      "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640",
    );
  });

  it("concurrent derivations each get their own key, equal to node:crypto's", async () => {
    const salts = [1, 2, 3, 4].map((i) => new Uint8Array(32).fill(i));
    const keys = await Promise.all(
      salts.map((salt) => deriveKey({ kdf: "scrypt", n: 1 << 10, r: 8, p: 1, dklen: 32, salt }, utf8("pw"))),
    );
    const expected = salts.map((salt) => toHex(scryptSync(utf8("pw"), salt, 32, { N: 1 << 10, r: 8, p: 1 })));
    expect(keys.map(toHex)).toEqual(expected);
  });

  it("leaves the caller's password untouched (the worker wipes only its copy)", async () => {
    const password = utf8("keep me");
    await deriveKey({ kdf: "scrypt", n: 1 << 10, r: 8, p: 1, dklen: 32, salt: new Uint8Array(32) }, password);
    expect(new TextDecoder().decode(password)).toBe("keep me");
  });

  it("the event loop stays idle during a derivation OpenSSL refuses (noble fallback, r=1 N=2^18 p=8)", async () => {
    // These parameters go through @noble/hashes, which on the main thread kept the event loop busy
    // (yielding every few ms) for the whole derivation; on the worker the loop only waits.
    const before = performance.eventLoopUtilization();
    const start = performance.now();
    await deriveKey(
      { kdf: "scrypt", n: 2 ** 18, r: 1, p: 8, dklen: 32, salt: new Uint8Array(32) },
      utf8("testpassword"),
    );
    const elapsed = performance.now() - start;
    const used = performance.eventLoopUtilization(before);
    expect(elapsed).toBeGreaterThan(100);
    // Active time: the message round trip and worker start, a few ms; not the derivation.
    expect(used.active).toBeLessThan(Math.max(50, elapsed * 0.2));
  }, 60_000);
});
