/**
 * Pure-JS SHA-256 around the unrolled compression in `sha256-kernel.ts`, and the header midstate.
 *
 * Words are int32 (`Int32Array`) throughout: V8 keeps them in registers as 32-bit integers, where
 * `Uint32Array` values above 2^31 would become doubles.
 */
import { HEADER_NONCE_OFFSET, HEADER_SIZE } from "../primitives/index.js";
import { compress } from "./sha256-kernel.js";

/** The SHA-256 initial hash value (FIPS 180-4 §5.3.3) as int32 words. */
export const SHA256_IV: Int32Array = Int32Array.of(
  0x6a09e667,
  0xbb67ae85 | 0,
  0x3c6ef372,
  0xa54ff53a | 0,
  0x510e527f,
  0x9b05688c | 0,
  0x1f83d9ab,
  0x5be0cd19,
);

/** Read `count` big-endian 32-bit words from `bytes` at `offset` (bytes past the end read as 0). */
export function readWordsBE(bytes: Uint8Array, offset: number, count: number): Int32Array {
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const p = offset + 4 * i;
    out[i] =
      ((bytes[p] ?? 0) << 24) |
      ((bytes[p + 1] ?? 0) << 16) |
      ((bytes[p + 2] ?? 0) << 8) |
      (bytes[p + 3] ?? 0);
  }
  return out;
}

/** Serialise 32-bit words big-endian. */
export function wordsToBytesBE(words: Int32Array): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < words.length; i++) view.setInt32(4 * i, words[i]!, false);
  return out;
}

/**
 * SHA-256 of `data` with the pure-JS compression (FIPS 180-4 padding). Slow next to node:crypto;
 * it exists so the miner's compression is tested against the standard's vectors.
 */
export function sha256(data: Uint8Array): Uint8Array {
  if (!(data instanceof Uint8Array)) throw new TypeError("data must be a Uint8Array");
  // Padding: 0x80, zeros, then the bit length as a 64-bit big-endian integer; a multiple of 64 bytes.
  const padded = new Uint8Array(Math.ceil((data.length + 9) / 64) * 64);
  padded.set(data);
  padded[data.length] = 0x80;
  const view = new DataView(padded.buffer);
  const bits = data.length * 8;
  view.setUint32(padded.length - 8, Math.floor(bits / 2 ** 32), false);
  view.setUint32(padded.length - 4, bits >>> 0, false);
  const state = Int32Array.from(SHA256_IV);
  for (let offset = 0; offset < padded.length; offset += 64) {
    compress(state, readWordsBE(padded, offset, 16), state);
  }
  return wordsToBytesBE(state);
}

/** State after the header's first 64 bytes: the part of SHA-256(header) that no nonce changes. */
export function headerMidstate(header: Uint8Array): Int32Array {
  assertHeaderBytes(header);
  const state = Int32Array.from(SHA256_IV);
  compress(state, readWordsBE(header, 0, 16), state);
  return state;
}

/**
 * SHA-256d of `header` with its nonce replaced by (`nonceHigh`, `nonceLow`), from the midstate:
 * one compression for the second 64-byte block, one for the second SHA-256. The general (not the
 * scanner's specialised) path; used to check candidates and in tests.
 */
export function headerDigestFromMidstate(
  midstate: Int32Array,
  header: Uint8Array,
  nonceHigh: number,
  nonceLow: number,
): Uint8Array {
  assertHeaderBytes(header);
  // Block 2: header bytes 64..115 (13 words; words 11 and 12 are the nonce), 0x80, zeros, and
  // the message length in bits (116 × 8 = 928).
  const block = readWordsBE(header, 64, 16);
  block[(HEADER_NONCE_OFFSET - 64) / 4] = nonceHigh | 0;
  block[(HEADER_NONCE_OFFSET - 64) / 4 + 1] = nonceLow | 0;
  block[13] = 0x80000000 | 0;
  block[14] = 0;
  block[15] = HEADER_SIZE * 8;
  const first = new Int32Array(8);
  compress(midstate, block, first);
  // Second SHA-256 over the 32-byte digest: one block, length 256 bits.
  const block2 = new Int32Array(16);
  block2.set(first);
  block2[8] = 0x80000000 | 0;
  block2[15] = 256;
  const out = new Int32Array(8);
  compress(SHA256_IV, block2, out);
  return wordsToBytesBE(out);
}

function assertHeaderBytes(header: Uint8Array): void {
  if (!(header instanceof Uint8Array)) throw new TypeError("header must be a Uint8Array");
  if (header.length !== HEADER_SIZE)
    throw new RangeError(`header must be ${HEADER_SIZE} bytes, got ${header.length}`);
}
