export {
  type AtomicWriteDeps,
  type AtomicWriteOptions,
  defaultAtomicWriteDeps,
  ensureDir,
  writeFileAtomic,
} from "../util/index.js";
export {
  KeystoreError,
  KeystoreErrorCode,
  type KeystoreErrorType,
  WRONG_PASSWORD_MESSAGE,
} from "./errors.js";
export {
  defaultNodeIdentityDeps,
  loadOrCreateNodeIdentity,
  NODE_KEY_FILE,
  type NodeIdentity,
  type NodeIdentityDeps,
} from "./identity.js";
export { deriveKey, type KdfParams, SCRYPT_DEFAULT, SCRYPT_LIGHT } from "./kdf.js";
export {
  assertKeyName,
  type CreateKeyOptions,
  decryptForeignKeyFile,
  defaultKeystoreDeps,
  type KeyInfo,
  type KeyProblem,
  Keystore,
  type KeystoreDeps,
  type KeystoreOptions,
} from "./keystore.js";
export {
  defaultPasswordDeps,
  type PasswordDeps,
  type PasswordRequest,
  readPassword,
  ttyPromptHidden,
} from "./password.js";
export {
  decryptKeyFile,
  type EncryptDeps,
  type EncryptOptions,
  encryptKeyFile,
  parseKeyFile,
  type QuarryMeta,
  serializeKeyFile,
  type V3KeyFile,
} from "./v3.js";
