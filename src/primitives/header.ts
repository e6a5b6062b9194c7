import { assertBytes, isU32, isU64, toHex } from "./bytes.js";
import { ByteReader, ByteWriter } from "./codec.js";
import { sha256d } from "./hash.js";

/**
 * Block header, fixed 116 bytes, big-endian:
 *
 *   offset  size  field
 *        0     4  version
 *        4    32  prevHash     (id of the parent block)
 *       36    32  merkleRoot   (RFC 6962 tree over transaction ids)
 *       68    32  stateRoot    (sparse Merkle root of all accounts after this block)
 *      100     4  time         (unix seconds, u32)
 *      104     4  bits         (compact target)
 *      108     8  nonce
 *
 * 116 ≤ 119 bytes, so SHA-256 needs exactly two 64-byte blocks and the nonce (and time, bits)
 * lie in the second one: a miner hashes bytes 0..63 once per template (the midstate) and only the
 * second block per nonce. Block id = SHA-256d(header).
 */
export interface BlockHeader {
  version: number;
  prevHash: Uint8Array;
  merkleRoot: Uint8Array;
  stateRoot: Uint8Array;
  time: number;
  bits: number;
  nonce: bigint;
}

export const HEADER_SIZE = 116;
export const HEADER_NONCE_OFFSET = 108;
/** where the u32 time sits: external miners may move it (getBlockTemplate's `timeOffset`) */
export const HEADER_TIME_OFFSET = 100;
export const HASH_LENGTH = 32;

export function encodeHeader(h: BlockHeader): Uint8Array {
  if (!isU32(h.version) || !isU32(h.time) || !isU32(h.bits))
    throw new RangeError("version, time, bits must be u32");
  if (!isU64(h.nonce)) throw new RangeError("nonce must be a u64 bigint");
  assertBytes(h.prevHash, HASH_LENGTH, "prevHash");
  assertBytes(h.merkleRoot, HASH_LENGTH, "merkleRoot");
  assertBytes(h.stateRoot, HASH_LENGTH, "stateRoot");
  return new ByteWriter(HEADER_SIZE)
    .u32(h.version)
    .raw(h.prevHash)
    .raw(h.merkleRoot)
    .raw(h.stateRoot)
    .u32(h.time)
    .u32(h.bits)
    .u64(h.nonce)
    .finish();
}

export function readHeader(r: ByteReader): BlockHeader {
  return {
    version: r.u32(),
    prevHash: r.bytesN(HASH_LENGTH),
    merkleRoot: r.bytesN(HASH_LENGTH),
    stateRoot: r.bytesN(HASH_LENGTH),
    time: r.u32(),
    bits: r.u32(),
    nonce: r.u64(),
  };
}

export function decodeHeader(bytes: Uint8Array): BlockHeader {
  const r = new ByteReader(bytes, "header");
  const header = readHeader(r);
  r.end();
  return header;
}

/** Block id: SHA-256d of the encoded header. */
export function headerHash(h: BlockHeader): Uint8Array {
  return sha256d(encodeHeader(h));
}

/** JSON view for APIs and the CLI: hashes as hex, bits as 0x-hex, nonce as a decimal string. */
export function headerToJson(h: BlockHeader): Record<string, string | number> {
  return {
    version: h.version,
    prevHash: toHex(h.prevHash),
    merkleRoot: toHex(h.merkleRoot),
    stateRoot: toHex(h.stateRoot),
    time: h.time,
    bits: `0x${h.bits.toString(16).padStart(8, "0")}`,
    nonce: h.nonce.toString(),
  };
}
