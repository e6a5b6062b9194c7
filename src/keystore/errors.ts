import { QuarryError } from "../util/index.js";

/** Stable codes for every keystore failure; callers branch on these, never on message text. */
export enum KeystoreErrorCode {
  /** MAC mismatch: wrong password, or ciphertext/MAC altered (indistinguishable by design). */
  WRONG_PASSWORD = "KEYSTORE_WRONG_PASSWORD",
  /** Not JSON, truncated, a field missing or of the wrong type or length. */
  MALFORMED = "KEYSTORE_MALFORMED",
  UNSUPPORTED_VERSION = "KEYSTORE_UNSUPPORTED_VERSION",
  UNSUPPORTED_KDF = "KEYSTORE_UNSUPPORTED_KDF",
  UNSUPPORTED_CIPHER = "KEYSTORE_UNSUPPORTED_CIPHER",
  /** KDF parameters outside what we accept (too weak to be sane, or a memory/time bomb). */
  KDF_PARAMS_OUT_OF_RANGE = "KEYSTORE_KDF_PARAMS_OUT_OF_RANGE",
  /** Decrypted, but the Quarry metadata (public key) does not belong to the secret. */
  METADATA_MISMATCH = "KEYSTORE_METADATA_MISMATCH",
  INVALID_SECRET = "KEYSTORE_INVALID_SECRET",
  INVALID_NAME = "KEYSTORE_INVALID_NAME",
  NOT_FOUND = "KEYSTORE_NOT_FOUND",
  ALREADY_EXISTS = "KEYSTORE_ALREADY_EXISTS",
  /** The keystore folder exists but this process may not write it (or it is not a folder). */
  DIR_NOT_WRITABLE = "KEYSTORE_DIR_NOT_WRITABLE",
  /** The file written to disk did not read back and decrypt to the same secret. */
  WRITE_VERIFY_FAILED = "KEYSTORE_WRITE_VERIFY_FAILED",
  EMPTY_PASSWORD = "KEYSTORE_EMPTY_PASSWORD",
  NO_PASSWORD = "KEYSTORE_NO_PASSWORD",
  PASSWORD_MISMATCH = "KEYSTORE_PASSWORD_MISMATCH",
  PASSWORD_FILE_UNREADABLE = "KEYSTORE_PASSWORD_FILE_UNREADABLE",
  NODE_KEY_MALFORMED = "KEYSTORE_NODE_KEY_MALFORMED",
}

/** The exact line users (and scripts) see for a MAC mismatch, as go-ethereum words it. */
export const WRONG_PASSWORD_MESSAGE = "could not decrypt key with given password";

export interface KeystoreErrorType {
  code: KeystoreErrorCode;
  /** the file the error is about, when there is one */
  file?: string;
}

/** Every keystore failure. Messages are one line and never contain secrets. */
export class KeystoreError extends QuarryError<KeystoreErrorType> {
  /** The file the error is about, when there is one. */
  get file(): string | undefined {
    return this.type.file;
  }
}

/** A MAC mismatch: the same error whether the password is wrong or the file was altered. */
export function wrongPassword(file?: string): KeystoreError {
  return new KeystoreError({ code: KeystoreErrorCode.WRONG_PASSWORD, file }, WRONG_PASSWORD_MESSAGE);
}
