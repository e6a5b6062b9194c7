import { pbkdf2 as nodePbkdf2, scrypt as nodeScrypt } from "node:crypto";
import { scryptAsync as nobleScryptAsync } from "@noble/hashes/scrypt.js";

/**
 * Key derivation for Web3 Secret Storage. Both KDFs run off the event loop's critical path:
 * node:crypto's async scrypt/pbkdf2 run on the libuv thread pool; when OpenSSL refuses scrypt
 * parameters (it enforces RFC 7914's N < 2^(128·r/8), which go-ethereum's own published vector
 * r=1, N=2^18, p=8 breaks) we fall back to @noble/hashes' scryptAsync, which yields every few ms.
 */

export interface ScryptParams {
  kdf: "scrypt";
  n: number;
  r: number;
  p: number;
  dklen: number;
  salt: Uint8Array;
}

export interface Pbkdf2Params {
  kdf: "pbkdf2";
  c: number;
  prf: "hmac-sha256";
  dklen: number;
  salt: Uint8Array;
}

export type KdfParams = ScryptParams | Pbkdf2Params;

/** The default cost, as go-ethereum's "standard" scrypt: ~1 s and 256 MiB per unlock here. */
export const SCRYPT_DEFAULT = Object.freeze({ n: 1 << 18, r: 8, p: 1 });
/** `--light`: N=2^12 (4 MiB, ~20 ms; go-ethereum's light N, with p=1): tests and small devices. */
export const SCRYPT_LIGHT = Object.freeze({ n: 1 << 12, r: 8, p: 1 });

// Limits on what a file may ask of us: a hostile file must not exhaust memory or CPU.
// 1 GiB covers every standard setting (geth standard 256 MiB; N=2^18,r=1,p=8 is 32 MiB).
export const SCRYPT_MAX_MEMORY_BYTES = 1024 * 1024 * 1024;
export const SCRYPT_MAX_WORK = 2 ** 24; // N·r·p; geth standard is 2^21
export const PBKDF2_MAX_ITERATIONS = 10_000_000;
export const DKLEN_MIN = 32;
export const DKLEN_MAX = 64;

/** Memory OpenSSL's scrypt needs (B plus V, see crypto/evp/pbe_scrypt.c), with slack. */
export function scryptMemoryBytes(n: number, r: number, p: number): number {
  return 128 * r * (n + p + 2) + 4096;
}

/** Derives the key; `password` is the caller's buffer (the caller wipes it). */
export async function deriveKey(params: KdfParams, password: Uint8Array): Promise<Uint8Array> {
  if (params.kdf === "pbkdf2") {
    return new Promise((resolve, reject) => {
      nodePbkdf2(password, params.salt, params.c, params.dklen, "sha256", (err, key) =>
        err ? reject(err) : resolve(new Uint8Array(key.buffer, key.byteOffset, key.byteLength)),
      );
    });
  }
  const { n: N, r, p, dklen, salt } = params;
  const maxmem = scryptMemoryBytes(N, r, p);
  try {
    return await new Promise<Uint8Array>((resolve, reject) => {
      // nodeScrypt throws synchronously on parameters OpenSSL refuses.
      nodeScrypt(password, salt, dklen, { N, r, p, maxmem }, (err, key) =>
        err ? reject(err) : resolve(new Uint8Array(key.buffer, key.byteOffset, key.byteLength)),
      );
    });
  } catch (err) {
    if (!isRefusedParams(err)) throw err;
    return nobleScryptAsync(password, salt, { N, r, p, dkLen: dklen, maxmem: maxmem + 1024 * 1024 });
  }
}

function isRefusedParams(err: unknown): boolean {
  return err instanceof Error && "code" in err && err.code === "ERR_CRYPTO_INVALID_SCRYPT_PARAMS";
}
