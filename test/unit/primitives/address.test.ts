import { describe, expect, it } from "vitest";
import {
  AddressError,
  AddressErrorCode,
  decodeAddress,
  encodeAddress,
} from "../../../src/primitives/index.js";

const hash = Uint8Array.from({ length: 20 }, (_, i) => i * 7);

function codeOf(fn: () => unknown): AddressErrorCode | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof AddressError) return err.type.code;
    throw err;
  }
  return undefined;
}

describe("bech32m addresses", () => {
  it("round-trips with the network prefix", () => {
    const address = encodeAddress("qrt", hash);
    expect(address.startsWith("qrt1")).toBe(true);
    expect(decodeAddress("qrt", address)).toEqual(hash);
    expect(decodeAddress("qrt", address.toUpperCase())).toEqual(hash);
  });

  it("reports every single-character typo as ADDRESS_BAD_CHECKSUM", () => {
    const address = encodeAddress("qdv", hash);
    const alphabet = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    for (let i = 4; i < address.length; i++) {
      const replacement = alphabet[(alphabet.indexOf(address[i]!) + 1) % alphabet.length]!;
      const typo = address.slice(0, i) + replacement + address.slice(i + 1);
      expect(codeOf(() => decodeAddress("qdv", typo))).toBe(AddressErrorCode.BAD_CHECKSUM);
    }
  });

  it("rejects another network's address with ADDRESS_WRONG_NETWORK", () => {
    expect(codeOf(() => decodeAddress("qdv", encodeAddress("qrt", hash)))).toBe(
      AddressErrorCode.WRONG_NETWORK,
    );
  });

  it.each([
    ["no separator", "qrtqqqq"],
    ["mixed case", `Q${encodeAddress("qrt", hash).slice(1)}`],
    ["empty", ""],
  ])("rejects %s with ADDRESS_MALFORMED", (_, input) => {
    expect(codeOf(() => decodeAddress("qrt", input))).toBe(AddressErrorCode.MALFORMED);
  });
});
