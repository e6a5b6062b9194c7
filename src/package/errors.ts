import { QuarryError } from "../util/index.js";

/** Why a block package was refused. Stable codes: tests and scripts match on these, never on text. */
export enum PackageErrorCode {
  /** the bytes are not a well-formed package (bad magic, lengths, trailing bytes) */
  MALFORMED = "PACKAGE_MALFORMED",
  /** the file or one of its parts is over a ceiling */
  TOO_LARGE = "PACKAGE_TOO_LARGE",
  /** made for another network */
  WRONG_NETWORK = "PACKAGE_WRONG_NETWORK",
  /** the signature does not verify against the signer key in the package */
  BAD_SIGNATURE = "PACKAGE_BAD_SIGNATURE",
  /** signed by someone other than the key the importer asked for */
  UNEXPECTED_SIGNER = "PACKAGE_UNEXPECTED_SIGNER",
  /** a block does not decode, or does not hash to its listed id */
  BAD_BLOCK_ENCODING = "PACKAGE_BAD_BLOCK_ENCODING",
  /** a block does not extend the one before it, or the first one's parent sits at another height */
  BROKEN_SEQUENCE = "PACKAGE_BROKEN_SEQUENCE",
  /** the first block's parent is not in the local store */
  UNKNOWN_PARENT = "PACKAGE_UNKNOWN_PARENT",
  /** the chain rejected a block (see `blockCode`); nothing was imported */
  INVALID_BLOCK = "PACKAGE_INVALID_BLOCK",
  /** export: the range is not on the local main chain */
  BAD_RANGE = "PACKAGE_BAD_RANGE",
}

export type PackageErrorType =
  | { code: Exclude<PackageErrorCode, PackageErrorCode.INVALID_BLOCK> }
  | { code: PackageErrorCode.INVALID_BLOCK; index: number; hash: string; blockCode: string };

/** A refused package or export request. */
export class PackageError extends QuarryError<PackageErrorType> {}
