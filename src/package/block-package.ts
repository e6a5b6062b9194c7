import {
  ByteReader,
  ByteWriter,
  CodecError,
  CodecErrorCode,
  type DecodedBlock,
  decodeBlockEnvelope,
  equalBytes,
  HASH_LENGTH,
  MAX_BLOCK_BYTES_DECODE,
  PUBLIC_KEY_LENGTH,
  publicKeyFromSeed,
  SIGNATURE_LENGTH,
  sha256,
  signMessage,
  toHex,
  verifySignature,
} from "../primitives/index.js";
import { PackageError, PackageErrorCode } from "./errors.js";

/**
 * Offline block packages (`quarry export-blocks` / `quarry import-blocks`): a run of consecutive
 * main-chain blocks signed with a keystore Ed25519 key, to carry blocks between machines with no
 * network. Layout (integers big-endian):
 *
 * ```
 * "QUARRY-BLOCKPKG-V1\0" (19) | networkId u32 | fromHeight u32 | count u32 |
 * count × blockHash (32) | count × (length u32 | block encoding) | signer (32) | signature (64)
 * ```
 *
 * The signature covers `tag | networkId | fromHeight | count | hashes | SHA-256(for each block:
 * length u32 | encoding) | signer`: every byte of the package except the signature itself, under a
 * domain tag no other Quarry signature uses (transactions and sync batches have their own).
 * The signature says who vouches for the package; whether the blocks are valid is decided by the
 * chain on import, as for blocks from any peer.
 */

/** Magic and domain tag in one: the file starts with it, and every package signature covers it. */
export const PACKAGE_DOMAIN_TAG = new TextEncoder().encode("QUARRY-BLOCKPKG-V1\0");
/** Most blocks in one package. */
export const MAX_PACKAGE_BLOCKS = 4096;
/** Largest package file accepted (read whole into memory). */
export const MAX_PACKAGE_BYTES = 256 * 1024 * 1024;

/** A package as it is on disk, before any verification. */
export interface BlockPackage {
  networkId: number;
  /** height of the first block */
  fromHeight: number;
  blockHashes: Uint8Array[];
  /** block encodings, decoded only after the signature verified */
  blocks: Uint8Array[];
  /** raw Ed25519 public key */
  signer: Uint8Array;
  signature: Uint8Array;
}

/** A verified package: decoded blocks with their hex ids, parent before child. */
export interface OpenedPackage {
  networkId: number;
  fromHeight: number;
  blocks: DecodedBlock[];
  hashes: string[];
  signer: Uint8Array;
}

function assertU32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
    throw new RangeError(`${what} must be a u32`);
}

/** The bytes a package signature covers. */
export function packageSigningMessage(
  networkId: number,
  fromHeight: number,
  blockHashes: readonly Uint8Array[],
  blocks: readonly Uint8Array[],
  signer: Uint8Array,
): Uint8Array {
  assertU32(networkId, "networkId");
  assertU32(fromHeight, "fromHeight");
  if (blocks.length !== blockHashes.length) throw new RangeError("one hash per block");
  const parts: Uint8Array[] = [];
  for (const block of blocks) parts.push(new ByteWriter(4).u32(block.length).finish(), block);
  const bodyDigest = sha256(...parts);
  const w = new ByteWriter(
    PACKAGE_DOMAIN_TAG.length + 12 + blockHashes.length * HASH_LENGTH + HASH_LENGTH + signer.length,
  )
    .raw(PACKAGE_DOMAIN_TAG)
    .u32(networkId)
    .u32(fromHeight)
    .u32(blockHashes.length);
  for (const h of blockHashes) w.raw(h);
  return w.raw(bodyDigest).raw(signer).finish();
}

/**
 * Signs consecutive blocks (encodings, parent first) starting at `fromHeight` with a 32-byte
 * Ed25519 seed. The caller wipes the seed.
 */
export function signPackage(
  seed: Uint8Array,
  networkId: number,
  fromHeight: number,
  blocks: readonly Uint8Array[],
  blockHashes: readonly Uint8Array[],
): BlockPackage {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new RangeError("seed must be 32 bytes");
  if (blocks.length < 1 || blocks.length > MAX_PACKAGE_BLOCKS)
    throw new RangeError(`a package holds 1..${MAX_PACKAGE_BLOCKS} blocks`);
  for (const [i, h] of blockHashes.entries())
    if (!(h instanceof Uint8Array) || h.length !== HASH_LENGTH)
      throw new RangeError(`blockHashes[${i}] must be 32 bytes`);
  const signer = publicKeyFromSeed(seed);
  const message = packageSigningMessage(networkId, fromHeight, blockHashes, blocks, signer);
  return {
    networkId,
    fromHeight,
    blockHashes: [...blockHashes],
    blocks: [...blocks],
    signer,
    signature: signMessage(seed, message),
  };
}

export function encodePackage(p: BlockPackage): Uint8Array {
  assertU32(p.networkId, "networkId");
  assertU32(p.fromHeight, "fromHeight");
  if (p.blocks.length < 1 || p.blocks.length > MAX_PACKAGE_BLOCKS)
    throw new RangeError(`a package holds 1..${MAX_PACKAGE_BLOCKS} blocks`);
  if (p.blocks.length !== p.blockHashes.length) throw new RangeError("one hash per block");
  if (p.signer.length !== PUBLIC_KEY_LENGTH) throw new RangeError("signer must be 32 bytes");
  if (p.signature.length !== SIGNATURE_LENGTH) throw new RangeError("signature must be 64 bytes");
  let size = PACKAGE_DOMAIN_TAG.length + 12 + PUBLIC_KEY_LENGTH + SIGNATURE_LENGTH;
  for (const b of p.blocks) {
    if (b.length > MAX_BLOCK_BYTES_DECODE) throw new RangeError("block encoding too large");
    size += HASH_LENGTH + 4 + b.length;
  }
  if (size > MAX_PACKAGE_BYTES) throw new RangeError(`package would exceed ${MAX_PACKAGE_BYTES} bytes`);
  const w = new ByteWriter(size)
    .raw(PACKAGE_DOMAIN_TAG)
    .u32(p.networkId)
    .u32(p.fromHeight)
    .u32(p.blocks.length);
  for (const h of p.blockHashes) w.raw(h);
  for (const b of p.blocks) w.u32(b.length).raw(b);
  return w.raw(p.signer).raw(p.signature).finish();
}

/**
 * Decodes the container (no signature check, no block decoding). Throws PackageError
 * PACKAGE_TOO_LARGE or PACKAGE_MALFORMED; every length is checked before anything is allocated.
 */
export function decodePackage(bytes: Uint8Array): BlockPackage {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("package must be bytes");
  if (bytes.length > MAX_PACKAGE_BYTES)
    throw new PackageError(
      { code: PackageErrorCode.TOO_LARGE },
      `package is over ${MAX_PACKAGE_BYTES} bytes`,
    );
  try {
    const r = new ByteReader(bytes, "block package");
    if (!equalBytes(r.bytesN(Math.min(PACKAGE_DOMAIN_TAG.length, bytes.length)), PACKAGE_DOMAIN_TAG))
      throw new PackageError({ code: PackageErrorCode.MALFORMED }, "not a Quarry block package (bad magic)");
    const networkId = r.u32();
    const fromHeight = r.u32();
    const count = r.count(MAX_PACKAGE_BLOCKS, "block count");
    if (count === 0) throw new PackageError({ code: PackageErrorCode.MALFORMED }, "package holds no blocks");
    const blockHashes: Uint8Array[] = [];
    for (let i = 0; i < count; i++) blockHashes.push(r.bytesN(HASH_LENGTH));
    const blocks: Uint8Array[] = [];
    for (let i = 0; i < count; i++)
      blocks.push(r.bytesN(r.count(MAX_BLOCK_BYTES_DECODE, `block ${i} length`)));
    const signer = r.bytesN(PUBLIC_KEY_LENGTH);
    const signature = r.bytesN(SIGNATURE_LENGTH);
    r.end();
    return { networkId, fromHeight, blockHashes, blocks, signer, signature };
  } catch (err) {
    if (err instanceof PackageError) throw err;
    if (err instanceof CodecError) {
      const code =
        err.type.code === CodecErrorCode.TOO_LARGE ? PackageErrorCode.TOO_LARGE : PackageErrorCode.MALFORMED;
      throw new PackageError({ code }, err.message);
    }
    throw err;
  }
}

/**
 * Verifies a decoded package, cheapest refusal first: network, signer (when the importer pinned
 * one), signature, then each block decodes and hashes to its listed id, and each block's parent is
 * the block before it. Throws PackageError; returns the decoded blocks.
 */
export function openPackage(p: BlockPackage, networkId: number, expectedSigner?: Uint8Array): OpenedPackage {
  if (p.networkId !== networkId)
    throw new PackageError(
      { code: PackageErrorCode.WRONG_NETWORK },
      `package is for network id 0x${p.networkId.toString(16)}, this is 0x${networkId.toString(16)}`,
    );
  if (expectedSigner && !equalBytes(expectedSigner, p.signer))
    throw new PackageError(
      { code: PackageErrorCode.UNEXPECTED_SIGNER },
      `package is signed by ${toHex(p.signer)}, not by the expected key`,
    );
  const message = packageSigningMessage(p.networkId, p.fromHeight, p.blockHashes, p.blocks, p.signer);
  if (!verifySignature(p.signer, message, p.signature))
    throw new PackageError({ code: PackageErrorCode.BAD_SIGNATURE }, "package signature does not verify");
  const blocks: DecodedBlock[] = [];
  const hashes: string[] = [];
  for (let i = 0; i < p.blocks.length; i++) {
    let block: DecodedBlock;
    try {
      block = decodeBlockEnvelope(p.blocks[i]!);
    } catch (err) {
      throw new PackageError(
        { code: PackageErrorCode.BAD_BLOCK_ENCODING },
        `block ${i} does not decode: ${(err as Error).message}`,
      );
    }
    if (!equalBytes(block.hash, p.blockHashes[i]!))
      throw new PackageError(
        { code: PackageErrorCode.BAD_BLOCK_ENCODING },
        `block ${i} does not hash to its listed id`,
      );
    if (i > 0 && !equalBytes(block.block.header.prevHash, p.blockHashes[i - 1]!))
      throw new PackageError(
        { code: PackageErrorCode.BROKEN_SEQUENCE },
        `block ${i} does not extend block ${i - 1}`,
      );
    blocks.push(block);
    hashes.push(block.hashHex);
  }
  return { networkId: p.networkId, fromHeight: p.fromHeight, blocks, hashes, signer: p.signer };
}
