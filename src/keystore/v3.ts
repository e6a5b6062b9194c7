import { createDecipheriv, randomBytes as nodeRandomBytes, randomUUID } from "node:crypto";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { concatBytes, equalBytes, fromHex, toHex, wipe } from "../primitives/index.js";
import { KeystoreError, KeystoreErrorCode, wrongPassword } from "./errors.js";
import {
  DKLEN_MAX,
  DKLEN_MIN,
  deriveKey,
  type KdfParams,
  PBKDF2_MAX_ITERATIONS,
  SCRYPT_DEFAULT,
  SCRYPT_MAX_MEMORY_BYTES,
  SCRYPT_MAX_WORK,
  scryptMemoryBytes,
} from "./kdf.js";

/**
 * Web3 Secret Storage v3 (the go-ethereum / ethers keystore format):
 *
 *   dk         = scrypt(password, salt, n, r, p, dklen)  or  pbkdf2-hmac-sha256(password, salt, c, dklen)
 *   ciphertext = aes-128-ctr(key = dk[0..16], iv, secret)
 *   mac        = keccak-256(dk[16..32] || ciphertext)
 *
 * The password is used as its UTF-8 bytes without normalisation (as go-ethereum does). Files we
 * write carry an extra top-level "quarry" object (ignored by v3 readers) and deliberately no
 * top-level "address": ethers checks that field against the secp256k1 address of the secret.
 */

export const SECRET_MAX_LENGTH = 64;
const IV_LENGTH = 16;
const SALT_LENGTH = 32;
const MAC_LENGTH = 32;

export interface ScryptJson {
  dklen: number;
  n: number;
  r: number;
  p: number;
  salt: string;
}

export interface Pbkdf2Json {
  dklen: number;
  c: number;
  prf: "hmac-sha256";
  salt: string;
}

export interface V3Crypto {
  cipher: "aes-128-ctr";
  cipherparams: { iv: string };
  ciphertext: string;
  kdf: "scrypt" | "pbkdf2";
  kdfparams: ScryptJson | Pbkdf2Json;
  mac: string;
}

/** Quarry's own metadata: readable without the password, checked against the secret on unlock. */
export interface QuarryMeta {
  curve: "ed25519";
  /** hex of the 32-byte Ed25519 public key */
  publicKey: string;
  /** bech32m address on `network` when the file was written */
  address?: string;
  network?: string;
  name?: string;
  /** ISO 8601 */
  created?: string;
}

/** A validated v3 key file, with `crypto` lower-cased whatever the source spelled. */
export interface V3KeyFile {
  version: 3;
  id?: string;
  crypto: V3Crypto;
  quarry?: QuarryMeta;
}

export interface EncryptOptions {
  secret: Uint8Array;
  /** UTF-8 password bytes; not wiped here (the caller owns them) */
  password: Uint8Array;
  /** scrypt cost; defaults to SCRYPT_DEFAULT (N=2^18, r=8, p=1) */
  scrypt?: { n: number; r: number; p: number };
  quarry?: QuarryMeta;
}

export interface EncryptDeps {
  randomBytes(length: number): Uint8Array;
  randomUUID(): string;
}

const defaultEncryptDeps: EncryptDeps = {
  randomBytes: (length) => new Uint8Array(nodeRandomBytes(length)),
  randomUUID: () => randomUUID(),
};

/** Encrypts a secret into a v3 key file (scrypt + aes-128-ctr + keccak-256 MAC). */
export async function encryptKeyFile(
  opts: EncryptOptions,
  deps: EncryptDeps = defaultEncryptDeps,
): Promise<V3KeyFile> {
  const { secret, password } = opts;
  if (!(secret instanceof Uint8Array) || !(password instanceof Uint8Array)) {
    throw new TypeError("secret and password must be Uint8Arrays");
  }
  if (secret.length === 0 || secret.length > SECRET_MAX_LENGTH) {
    throw new RangeError(`secret must be 1..${SECRET_MAX_LENGTH} bytes`);
  }
  const cost = opts.scrypt ?? SCRYPT_DEFAULT;
  const kdfJson: ScryptJson = {
    dklen: 32,
    n: cost.n,
    r: cost.r,
    p: cost.p,
    salt: toHex(deps.randomBytes(SALT_LENGTH)),
  };
  const kdf = checkScrypt(kdfJson, undefined);
  const iv = deps.randomBytes(IV_LENGTH);
  const dk = await deriveKey(kdf, password);
  try {
    const ciphertext = aes128ctr(dk.subarray(0, 16), iv, secret);
    const mac = macOf(dk, ciphertext);
    const file: V3KeyFile = {
      version: 3,
      id: deps.randomUUID(),
      crypto: {
        cipher: "aes-128-ctr",
        cipherparams: { iv: toHex(iv) },
        ciphertext: toHex(ciphertext),
        kdf: "scrypt",
        kdfparams: kdfJson,
        mac: toHex(mac),
      },
    };
    if (opts.quarry) file.quarry = { ...opts.quarry };
    return file;
  } finally {
    wipe(dk);
  }
}

/**
 * Decrypts a validated key file; returns the secret (the caller wipes it). A MAC mismatch throws
 * WRONG_PASSWORD: a wrong password and an altered ciphertext or MAC cannot be told apart.
 */
export async function decryptKeyFile(
  file: V3KeyFile,
  password: Uint8Array,
  fileName?: string,
): Promise<Uint8Array> {
  if (!(password instanceof Uint8Array)) throw new TypeError("password must be a Uint8Array");
  const kdf = kdfParamsOf(file.crypto, fileName);
  const iv = fromHex(file.crypto.cipherparams.iv);
  const ciphertext = fromHex(file.crypto.ciphertext);
  const expectedMac = fromHex(file.crypto.mac);
  const dk = await deriveKey(kdf, password);
  try {
    if (!equalBytes(macOf(dk, ciphertext), expectedMac)) throw wrongPassword(fileName);
    return aes128ctr(dk.subarray(0, 16), iv, ciphertext);
  } finally {
    wipe(dk);
  }
}

/** Serialises a key file as written to disk (pretty JSON, trailing newline). */
export function serializeKeyFile(file: V3KeyFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}

/**
 * Parses and validates a key file's text. Every failure is a one-line KeystoreError naming
 * `fileName`: MALFORMED (not JSON, truncated, bad field), UNSUPPORTED_VERSION/KDF/CIPHER,
 * KDF_PARAMS_OUT_OF_RANGE.
 */
export function parseKeyFile(text: string, fileName = "<input>"): V3KeyFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw malformed(fileName, "is not valid JSON (truncated or corrupted?)");
  }
  if (!isObject(json)) throw malformed(fileName, "is not a JSON object");
  if (json.version !== 3) {
    throw new KeystoreError(
      { code: KeystoreErrorCode.UNSUPPORTED_VERSION, file: fileName },
      `keystore file ${fileName} has version ${JSON.stringify(json.version) ?? "(missing)"}; only version 3 is supported`,
    );
  }
  // go-ethereum decodes JSON case-insensitively, and MyEtherWallet wrote "Crypto".
  const crypto = json.crypto ?? json.Crypto;
  if (!isObject(crypto)) throw malformed(fileName, 'has no "crypto" object');
  if (crypto.cipher !== "aes-128-ctr") {
    throw new KeystoreError(
      { code: KeystoreErrorCode.UNSUPPORTED_CIPHER, file: fileName },
      `keystore file ${fileName} uses cipher ${describe(crypto.cipher)}; only aes-128-ctr is supported`,
    );
  }
  if (crypto.kdf !== "scrypt" && crypto.kdf !== "pbkdf2") {
    throw new KeystoreError(
      { code: KeystoreErrorCode.UNSUPPORTED_KDF, file: fileName },
      `keystore file ${fileName} uses kdf ${describe(crypto.kdf)}; only scrypt and pbkdf2 are supported`,
    );
  }
  const cipherparams = crypto.cipherparams;
  if (!isObject(cipherparams)) throw malformed(fileName, "has no crypto.cipherparams");
  const iv = hexField(cipherparams.iv, "crypto.cipherparams.iv", fileName, IV_LENGTH, IV_LENGTH);
  const ciphertext = hexField(crypto.ciphertext, "crypto.ciphertext", fileName, 1, SECRET_MAX_LENGTH);
  const mac = hexField(crypto.mac, "crypto.mac", fileName, MAC_LENGTH, MAC_LENGTH);
  if (!isObject(crypto.kdfparams)) throw malformed(fileName, "has no crypto.kdfparams");
  const kdfparams =
    crypto.kdf === "scrypt" ? scryptJson(crypto.kdfparams, fileName) : pbkdf2Json(crypto.kdfparams, fileName);
  const file: V3KeyFile = {
    version: 3,
    crypto: { cipher: "aes-128-ctr", cipherparams: { iv }, ciphertext, kdf: crypto.kdf, kdfparams, mac },
  };
  if (typeof json.id === "string") file.id = json.id;
  if (json.quarry !== undefined) file.quarry = quarryMeta(json.quarry, fileName);
  kdfParamsOf(file.crypto, fileName); // range checks
  return file;
}

function kdfParamsOf(crypto: V3Crypto, fileName: string | undefined): KdfParams {
  if (crypto.kdf === "scrypt") return checkScrypt(crypto.kdfparams as ScryptJson, fileName);
  const json = crypto.kdfparams as Pbkdf2Json;
  if (!isIntIn(json.c, 1, PBKDF2_MAX_ITERATIONS)) {
    throw outOfRange(fileName, `pbkdf2 iteration count must be 1..${PBKDF2_MAX_ITERATIONS}`);
  }
  if (!isIntIn(json.dklen, DKLEN_MIN, DKLEN_MAX))
    throw outOfRange(fileName, `dklen must be ${DKLEN_MIN}..${DKLEN_MAX}`);
  return { kdf: "pbkdf2", c: json.c, prf: "hmac-sha256", dklen: json.dklen, salt: fromHex(json.salt) };
}

function checkScrypt(json: ScryptJson, fileName: string | undefined): KdfParams {
  const { n, r, p, dklen } = json;
  // RFC 7914: N a power of two > 1; r, p positive. Memory and work are capped so a hostile file
  // cannot make an unlock allocate gigabytes or run for minutes.
  if (!isIntIn(n, 2, 2 ** 30) || (n & (n - 1)) !== 0)
    throw outOfRange(fileName, "scrypt n must be a power of two ≥ 2");
  if (!isIntIn(r, 1, 1024) || !isIntIn(p, 1, 1024))
    throw outOfRange(fileName, "scrypt r and p must be 1..1024");
  if (scryptMemoryBytes(n, r, p) > SCRYPT_MAX_MEMORY_BYTES || n * r * p > SCRYPT_MAX_WORK) {
    throw outOfRange(fileName, "scrypt parameters exceed the 1 GiB memory / 2^24 work limit");
  }
  if (!isIntIn(dklen, DKLEN_MIN, DKLEN_MAX))
    throw outOfRange(fileName, `dklen must be ${DKLEN_MIN}..${DKLEN_MAX}`);
  return { kdf: "scrypt", n, r, p, dklen, salt: fromHex(json.salt) };
}

function scryptJson(raw: Record<string, unknown>, fileName: string): ScryptJson {
  return {
    dklen: intField(raw.dklen, "dklen", fileName),
    n: intField(raw.n, "n", fileName),
    r: intField(raw.r, "r", fileName),
    p: intField(raw.p, "p", fileName),
    salt: hexField(raw.salt, "crypto.kdfparams.salt", fileName, 1, 1024),
  };
}

function pbkdf2Json(raw: Record<string, unknown>, fileName: string): Pbkdf2Json {
  if (raw.prf !== "hmac-sha256") {
    throw new KeystoreError(
      { code: KeystoreErrorCode.UNSUPPORTED_KDF, file: fileName },
      `keystore file ${fileName} uses pbkdf2 prf ${describe(raw.prf)}; only hmac-sha256 is supported`,
    );
  }
  return {
    dklen: intField(raw.dklen, "dklen", fileName),
    c: intField(raw.c, "c", fileName),
    prf: "hmac-sha256",
    salt: hexField(raw.salt, "crypto.kdfparams.salt", fileName, 1, 1024),
  };
}

function quarryMeta(raw: unknown, fileName: string): QuarryMeta {
  if (!isObject(raw)) throw malformed(fileName, 'has a "quarry" field that is not an object');
  if (raw.curve !== "ed25519") throw malformed(fileName, 'has quarry.curve other than "ed25519"');
  const meta: QuarryMeta = {
    curve: "ed25519",
    publicKey: hexField(raw.publicKey, "quarry.publicKey", fileName, 32, 32),
  };
  for (const key of ["address", "network", "name", "created"] as const) {
    const value = raw[key];
    if (value === undefined) continue;
    if (typeof value !== "string" || value.length > 200)
      throw malformed(fileName, `has an invalid quarry.${key}`);
    meta[key] = value;
  }
  return meta;
}

function macOf(dk: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  return keccak_256(concatBytes(dk.subarray(16, 32), ciphertext));
}

function aes128ctr(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  // CTR is its own inverse: createCipheriv and createDecipheriv compute the same thing.
  const cipher = createDecipheriv("aes-128-ctr", key, iv);
  const head = cipher.update(data);
  const tail = cipher.final();
  const out = new Uint8Array(head.length + tail.length);
  out.set(head, 0);
  out.set(tail, head.length);
  head.fill(0);
  return out;
}

function hexField(value: unknown, name: string, fileName: string, min: number, max: number): string {
  if (typeof value !== "string" || !/^(?:[0-9a-fA-F]{2})+$/.test(value)) {
    throw malformed(fileName, `has a missing or non-hex ${name} (truncated or edited?)`);
  }
  const bytes = value.length / 2;
  if (bytes < min || bytes > max) {
    throw malformed(
      fileName,
      `has ${name} of ${bytes} bytes, expected ${min === max ? min : `${min}..${max}`}`,
    );
  }
  return value.toLowerCase();
}

function intField(value: unknown, name: string, fileName: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw malformed(fileName, `has a missing or non-integer crypto.kdfparams.${name}`);
  }
  return value;
}

function isIntIn(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value.slice(0, 40)) : "(missing)";
}

function malformed(fileName: string, what: string): KeystoreError {
  return new KeystoreError(
    { code: KeystoreErrorCode.MALFORMED, file: fileName },
    `keystore file ${fileName} ${what}`,
  );
}

function outOfRange(fileName: string | undefined, what: string): KeystoreError {
  const where = fileName ? `keystore file ${fileName}: ` : "";
  return new KeystoreError(
    { code: KeystoreErrorCode.KDF_PARAMS_OUT_OF_RANGE, file: fileName },
    `${where}${what}`,
  );
}
