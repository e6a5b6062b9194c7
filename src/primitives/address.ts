import { bech32m } from "@scure/base";
import { QuarryError } from "../util/index.js";
import { ADDRESS_HASH_LENGTH } from "./keys.js";

/**
 * Addresses: bech32m (BIP 350) of the 20-byte account id, with a per-network prefix (hrp).
 * The checksum catches typos before money is sent to them.
 */

export enum AddressErrorCode {
  MALFORMED = "ADDRESS_MALFORMED",
  BAD_CHECKSUM = "ADDRESS_BAD_CHECKSUM",
  WRONG_NETWORK = "ADDRESS_WRONG_NETWORK",
  BAD_LENGTH = "ADDRESS_BAD_LENGTH",
}

export class AddressError extends QuarryError<{ code: AddressErrorCode; address: string }> {}

export function encodeAddress(prefix: string, hash: Uint8Array): string {
  if (hash.length !== ADDRESS_HASH_LENGTH)
    throw new RangeError(`address hash must be ${ADDRESS_HASH_LENGTH} bytes`);
  return bech32m.encode(prefix, bech32m.toWords(hash));
}

/** Decodes an address of the given network; typed errors tell a typo from a wrong network. */
export function decodeAddress(prefix: string, address: string): Uint8Array {
  if (typeof address !== "string" || address.length > 90 || !address.includes("1")) {
    throw new AddressError(
      { code: AddressErrorCode.MALFORMED, address: String(address) },
      "malformed address",
    );
  }
  const lower = address.toLowerCase();
  if (address !== lower && address !== address.toUpperCase()) {
    throw new AddressError(
      { code: AddressErrorCode.MALFORMED, address },
      "address mixes upper and lower case",
    );
  }
  const sep = lower.lastIndexOf("1");
  const hrp = lower.slice(0, sep);
  let decoded: { prefix: string; words: number[] };
  try {
    decoded = bech32m.decode(lower as `${string}1${string}`);
  } catch (err) {
    const message = err instanceof Error ? err.message : "";
    const code = /checksum/i.test(message) ? AddressErrorCode.BAD_CHECKSUM : AddressErrorCode.MALFORMED;
    throw new AddressError(
      { code, address },
      code === AddressErrorCode.BAD_CHECKSUM
        ? "address checksum does not match (typo?)"
        : "malformed address",
    );
  }
  if (hrp !== prefix) {
    throw new AddressError(
      { code: AddressErrorCode.WRONG_NETWORK, address },
      `address is for network prefix '${hrp}', expected '${prefix}'`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = bech32m.fromWords(decoded.words);
  } catch {
    throw new AddressError({ code: AddressErrorCode.MALFORMED, address }, "malformed address payload");
  }
  if (bytes.length !== ADDRESS_HASH_LENGTH) {
    throw new AddressError(
      { code: AddressErrorCode.BAD_LENGTH, address },
      "address payload has the wrong length",
    );
  }
  return bytes;
}
