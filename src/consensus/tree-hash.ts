import { SHA256_IV, SHA256_K } from "../primitives/index.js";

/**
 * SHA-256 of one 65-byte tree node, in JavaScript, for the state tree's hot path.
 *
 * Why not node:crypto: `crypto.hash` runs SHA-NI but costs ~1 µs per call in call overhead and a
 * fresh Buffer, which is most of a state-tree update. A node is always 65 bytes, so its SHA-256 is
 * always two 64-byte blocks, and the second block is fixed but for its first byte (the node's
 * last byte, then the 0x80 pad and the bit length 520). Its message schedule, added to the round
 * constants, is therefore one of 256 precomputed tables: the second block costs 64 rounds and no
 * schedule. Results are bit-identical to SHA-256 (checked against node:crypto in the unit tests).
 */

const K = new Int32Array(SHA256_K);

const IV = new Int32Array(SHA256_IV);

/** Byte length of the input this hasher takes. */
export const NODE_HASH_INPUT_LENGTH = 65;

const W = new Int32Array(64);
const STATE = new Int32Array(8);

/** K[i] + W[i] of the second block for each possible last node byte: 256 rows of 64 words. */
const TAIL_KW = buildTailTables();

function buildTailTables(): Int32Array {
  const out = new Int32Array(256 * 64);
  for (let last = 0; last < 256; last++) {
    W.fill(0);
    W[0] = (last << 24) | (0x80 << 16);
    W[15] = NODE_HASH_INPUT_LENGTH * 8;
    expandSchedule();
    for (let i = 0; i < 64; i++) out[last * 64 + i] = (K[i]! + W[i]!) | 0;
  }
  return out;
}

function expandSchedule(): void {
  for (let i = 16; i < 64; i++) {
    const w15 = W[i - 15]!;
    const w2 = W[i - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = (s1 + W[i - 7]! + s0 + W[i - 16]!) | 0;
  }
}

/** 64 rounds over STATE with the round inputs kw[base + i] = K[i] + W[i]. */
function rounds(kw: Int32Array, base: number): void {
  let a = STATE[0]!;
  let b = STATE[1]!;
  let c = STATE[2]!;
  let d = STATE[3]!;
  let e = STATE[4]!;
  let f = STATE[5]!;
  let g = STATE[6]!;
  let h = STATE[7]!;
  // Eight rounds per pass with the working variables renamed instead of shifted.
  for (let i = 0; i < 64; i += 8) {
    h =
      (h +
        (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
        ((e & f) ^ (~e & g)) +
        kw[base + i + 0]!) |
      0;
    d = (d + h) | 0;
    h =
      (h +
        (((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
        ((a & b) ^ (a & c) ^ (b & c))) |
      0;
    g =
      (g +
        (((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7))) +
        ((d & e) ^ (~d & f)) +
        kw[base + i + 1]!) |
      0;
    c = (c + g) | 0;
    g =
      (g +
        (((h >>> 2) | (h << 30)) ^ ((h >>> 13) | (h << 19)) ^ ((h >>> 22) | (h << 10))) +
        ((h & a) ^ (h & b) ^ (a & b))) |
      0;
    f =
      (f +
        (((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7))) +
        ((c & d) ^ (~c & e)) +
        kw[base + i + 2]!) |
      0;
    b = (b + f) | 0;
    f =
      (f +
        (((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10))) +
        ((g & h) ^ (g & a) ^ (h & a))) |
      0;
    e =
      (e +
        (((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7))) +
        ((b & c) ^ (~b & d)) +
        kw[base + i + 3]!) |
      0;
    a = (a + e) | 0;
    e =
      (e +
        (((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10))) +
        ((f & g) ^ (f & h) ^ (g & h))) |
      0;
    d =
      (d +
        (((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7))) +
        ((a & b) ^ (~a & c)) +
        kw[base + i + 4]!) |
      0;
    h = (h + d) | 0;
    d =
      (d +
        (((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10))) +
        ((e & f) ^ (e & g) ^ (f & g))) |
      0;
    c =
      (c +
        (((h >>> 6) | (h << 26)) ^ ((h >>> 11) | (h << 21)) ^ ((h >>> 25) | (h << 7))) +
        ((h & a) ^ (~h & b)) +
        kw[base + i + 5]!) |
      0;
    g = (g + c) | 0;
    c =
      (c +
        (((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10))) +
        ((d & e) ^ (d & f) ^ (e & f))) |
      0;
    b =
      (b +
        (((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7))) +
        ((g & h) ^ (~g & a)) +
        kw[base + i + 6]!) |
      0;
    f = (f + b) | 0;
    b =
      (b +
        (((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10))) +
        ((c & d) ^ (c & e) ^ (d & e))) |
      0;
    a =
      (a +
        (((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7))) +
        ((f & g) ^ (~f & h)) +
        kw[base + i + 7]!) |
      0;
    e = (e + a) | 0;
    a =
      (a +
        (((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10))) +
        ((b & c) ^ (b & d) ^ (c & d))) |
      0;
  }
  STATE[0] = (STATE[0]! + a) | 0;
  STATE[1] = (STATE[1]! + b) | 0;
  STATE[2] = (STATE[2]! + c) | 0;
  STATE[3] = (STATE[3]! + d) | 0;
  STATE[4] = (STATE[4]! + e) | 0;
  STATE[5] = (STATE[5]! + f) | 0;
  STATE[6] = (STATE[6]! + g) | 0;
  STATE[7] = (STATE[7]! + h) | 0;
}

/** Longest input `sha256Short` takes: one 64-byte block with the 0x80 pad and the bit length. */
export const SHORT_HASH_MAX_LENGTH = 55;

const SHORT_BLOCK = new Uint8Array(64);

/**
 * SHA-256 of an input of at most 55 bytes (one block), in JavaScript: account tree keys and value
 * hashes, Merkle leaves. Same reason as `sha256Node`: `crypto.hash` costs ~1 µs per call in call
 * overhead and a fresh Buffer, about four times this. Throws RangeError on a longer input.
 */
export function sha256Short(input: Uint8Array): Uint8Array {
  const length = input.length;
  if (length > SHORT_HASH_MAX_LENGTH)
    throw new RangeError(`sha256Short takes at most 55 bytes, got ${length}`);
  const block = SHORT_BLOCK;
  block.fill(0);
  for (let i = 0; i < length; i++) block[i] = input[i]!;
  block[length] = 0x80;
  const bits = length * 8;
  block[62] = bits >>> 8;
  block[63] = bits;
  for (let i = 0; i < 16; i++) {
    const p = 4 * i;
    W[i] = (block[p]! << 24) | (block[p + 1]! << 16) | (block[p + 2]! << 8) | block[p + 3]!;
  }
  expandSchedule();
  for (let i = 0; i < 64; i++) W[i] = (W[i]! + K[i]!) | 0;
  STATE.set(IV);
  rounds(W, 0);
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const v = STATE[i]!;
    out[4 * i] = v >>> 24;
    out[4 * i + 1] = v >>> 16;
    out[4 * i + 2] = v >>> 8;
    out[4 * i + 3] = v;
  }
  return out;
}

/**
 * Writes SHA-256(input[inOffset .. inOffset + 65)) to out[outOffset .. outOffset + 32).
 * The caller guarantees the bounds (internal hot path; the tree checks sizes at its boundary).
 */
export function sha256Node(input: Uint8Array, inOffset: number, out: Uint8Array, outOffset: number): void {
  for (let i = 0; i < 16; i++) {
    const p = inOffset + 4 * i;
    W[i] = (input[p]! << 24) | (input[p + 1]! << 16) | (input[p + 2]! << 8) | input[p + 3]!;
  }
  expandSchedule();
  for (let i = 0; i < 64; i++) W[i] = (W[i]! + K[i]!) | 0;
  STATE.set(IV);
  rounds(W, 0);
  rounds(TAIL_KW, input[inOffset + 64]! * 64);
  for (let i = 0; i < 8; i++) {
    const s = STATE[i]!;
    const p = outOffset + 4 * i;
    out[p] = s >>> 24;
    out[p + 1] = s >>> 16;
    out[p + 2] = s >>> 8;
    out[p + 3] = s;
  }
}
