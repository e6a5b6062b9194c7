import { ed25519 } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";

/**
 * Pure-JS Ed25519 verification with exactly the rules node:crypto (OpenSSL 3.5) applies, for any
 * place that cannot use node:crypto. @noble/curves' own `verify(…, { zip215: false })` is NOT
 * enough: it uses the cofactored equation and accepts a small-order R, so it accepts three of the
 * ten speccheck edge cases that OpenSSL rejects (see test/unit/primitives/ed25519-strict.test.ts).
 *
 * Rules: canonical encodings of A and R (y < p), S < L, neither A nor R of small order, and the
 * cofactorless equation [S]B = R + [k]A with k = SHA-512(R || A || M) mod L.
 */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function littleEndianToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

export function verifyStrictJs(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    const A = ed25519.Point.fromBytes(publicKey, false);
    const R = ed25519.Point.fromBytes(signature.subarray(0, 32), false);
    const s = littleEndianToBigInt(signature.subarray(32));
    if (s >= L || A.isSmallOrder() || R.isSmallOrder()) return false;
    const k =
      littleEndianToBigInt(sha512(new Uint8Array([...signature.subarray(0, 32), ...publicKey, ...message]))) %
      L;
    // multiplyUnsafe accepts 0 (the identity); these values are public, constant time is not needed.
    return ed25519.Point.BASE.multiplyUnsafe(s).equals(R.add(A.multiplyUnsafe(k)));
  } catch {
    return false;
  }
}
