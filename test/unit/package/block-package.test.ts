import { describe, expect, it } from "vitest";
import { REGTEST } from "../../../src/consensus/params.js";
import {
  type BlockPackage,
  decodePackage,
  encodePackage,
  MAX_PACKAGE_BLOCKS,
  openPackage,
  PACKAGE_DOMAIN_TAG,
  PackageError,
  PackageErrorCode,
  signPackage,
} from "../../../src/package/index.js";
import { blockHash, encodeBlock, publicKeyFromSeed, toHex } from "../../../src/primitives/index.js";
import { ChainBuilder, testKey } from "../../helpers/chain-builder.js";

/** The package container: round trip, and each refusal by its stable code. */

const SIGNER = testKey(40);
const OTHER = testKey(41);
const builder = ChainBuilder.create();
await builder.mineMany(6);
const blocks = builder.blocks.slice(1); // heights 1..6
const encoded = blocks.map(encodeBlock);
const hashes = blocks.map(blockHash);

function pkg(overrides: Partial<BlockPackage> = {}): BlockPackage {
  return { ...signPackage(SIGNER.seed, REGTEST.networkId, 1, encoded, hashes), ...overrides };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof PackageError) return err.code;
    throw err;
  }
  return "ok";
}

describe("block package format", () => {
  it("round-trips and opens: blocks, ids, signer", () => {
    const bytes = encodePackage(pkg());
    expect(bytes.subarray(0, PACKAGE_DOMAIN_TAG.length)).toEqual(PACKAGE_DOMAIN_TAG);
    const decoded = decodePackage(bytes);
    expect(decoded).toEqual(pkg());
    const opened = openPackage(decoded, REGTEST.networkId, publicKeyFromSeed(SIGNER.seed));
    expect(opened.fromHeight).toBe(1);
    expect(opened.hashes).toEqual(hashes.map(toHex));
    expect(opened.blocks.map((b) => encodeBlock(b.block))).toEqual(encoded);
    expect(opened.blocks.map((b) => b.bytes)).toEqual(encoded);
    expect(opened.signer).toEqual(SIGNER.publicKey);
  });

  const bytes = encodePackage(pkg());
  const flip = (offset: number) => {
    const copy = new Uint8Array(bytes);
    copy[offset]! ^= 1;
    return copy;
  };
  const decodeCases: [string, Uint8Array, PackageErrorCode][] = [
    ["bad magic", flip(0), PackageErrorCode.MALFORMED],
    ["truncated", bytes.subarray(0, bytes.length - 1), PackageErrorCode.MALFORMED],
    ["trailing byte", new Uint8Array([...bytes, 0]), PackageErrorCode.MALFORMED],
    ["empty", new Uint8Array(0), PackageErrorCode.MALFORMED],
    [
      "block count over the ceiling",
      (() => {
        const copy = new Uint8Array(bytes);
        new DataView(copy.buffer).setUint32(PACKAGE_DOMAIN_TAG.length + 8, MAX_PACKAGE_BLOCKS + 1);
        return copy;
      })(),
      PackageErrorCode.TOO_LARGE,
    ],
  ];
  it.each(decodeCases)("decode refuses %s: %s", (_name, input, code) => {
    expect(codeOf(() => decodePackage(input))).toBe(code);
  });

  const signatureOffset = bytes.length - 64;
  const firstBlockByte = PACKAGE_DOMAIN_TAG.length + 12 + 6 * 32 + 4 + 10;
  const openCases: [string, () => BlockPackage, PackageErrorCode][] = [
    [
      "PACKAGE_WRONG_NETWORK",
      () => pkg({ networkId: REGTEST.networkId + 1 }),
      PackageErrorCode.WRONG_NETWORK,
    ],
    [
      "PACKAGE_BAD_SIGNATURE (signature bit)",
      () => decodePackage(flip(signatureOffset)),
      PackageErrorCode.BAD_SIGNATURE,
    ],
    [
      "PACKAGE_BAD_SIGNATURE (block byte)",
      () => decodePackage(flip(firstBlockByte)),
      PackageErrorCode.BAD_SIGNATURE,
    ],
    ["PACKAGE_BAD_SIGNATURE (height)", () => pkg({ fromHeight: 2 }), PackageErrorCode.BAD_SIGNATURE],
    [
      "PACKAGE_BAD_SIGNATURE (signer swapped)",
      () => pkg({ signer: OTHER.publicKey }),
      PackageErrorCode.BAD_SIGNATURE,
    ],
    [
      "PACKAGE_BAD_BLOCK_ENCODING (signed, wrong id)",
      () => signPackage(SIGNER.seed, REGTEST.networkId, 1, encoded, [hashes[1]!, ...hashes.slice(1)]),
      PackageErrorCode.BAD_BLOCK_ENCODING,
    ],
    [
      "PACKAGE_BAD_BLOCK_ENCODING (signed, undecodable block)",
      () => signPackage(SIGNER.seed, REGTEST.networkId, 1, [new Uint8Array([1, 2, 3])], [hashes[0]!]),
      PackageErrorCode.BAD_BLOCK_ENCODING,
    ],
    [
      "PACKAGE_BROKEN_SEQUENCE (signed, a block left out)",
      () =>
        signPackage(
          SIGNER.seed,
          REGTEST.networkId,
          1,
          [encoded[0]!, ...encoded.slice(2)],
          [hashes[0]!, ...hashes.slice(2)],
        ),
      PackageErrorCode.BROKEN_SEQUENCE,
    ],
  ];
  it.each(openCases)("open refuses %s", (_name, make, code) => {
    expect(codeOf(() => openPackage(make(), REGTEST.networkId))).toBe(code);
  });

  it("PACKAGE_UNEXPECTED_SIGNER when the importer pinned another key", () => {
    expect(codeOf(() => openPackage(pkg(), REGTEST.networkId, OTHER.publicKey))).toBe(
      PackageErrorCode.UNEXPECTED_SIGNER,
    );
  });
});
