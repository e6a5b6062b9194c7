import { createDecipheriv } from "node:crypto";
import { scryptAsync } from "@noble/hashes/scrypt.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decryptKeyFile,
  encryptKeyFile,
  KeystoreErrorCode,
  parseKeyFile,
  SCRYPT_LIGHT,
  serializeKeyFile,
  type V3KeyFile,
} from "../../../src/keystore/index.js";
import { concatBytes, equalBytes, fromHex, toHex } from "../../../src/primitives/index.js";

const utf8 = (s: string) => new TextEncoder().encode(s);
const SEED = fromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
const PASSWORD = utf8("correct horse battery staple");
const TINY = { n: 2, r: 8, p: 1 }; // property tests only: the format, not the cost

async function lightFile(): Promise<V3KeyFile> {
  return encryptKeyFile({ secret: SEED, password: PASSWORD, scrypt: SCRYPT_LIGHT });
}

/** The JSON of a key file, as the tests below edit it. */
interface EditableJson {
  crypto?: { ciphertext: string; mac: string; kdfparams: { salt: string }; cipherparams: { iv: string } };
  Crypto?: unknown;
}

/** Mutates a parsed copy of `file`'s JSON and returns the text. */
function edit(file: V3KeyFile, change: (json: EditableJson) => void): string {
  const json = JSON.parse(serializeKeyFile(file)) as EditableJson;
  change(json);
  return JSON.stringify(json);
}

describe("v3 encrypt/decrypt", () => {
  it("round-trips a seed under scrypt N=2^12 with the v3 field layout", async () => {
    const file = await lightFile();
    expect(file.version).toBe(3);
    expect(file.crypto.cipher).toBe("aes-128-ctr");
    expect(file.crypto.kdf).toBe("scrypt");
    expect(file.crypto.kdfparams).toMatchObject({ n: 4096, r: 8, p: 1, dklen: 32 });
    expect(file.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const parsed = parseKeyFile(serializeKeyFile(file), "k.json");
    expect(toHex(await decryptKeyFile(parsed, PASSWORD, "k.json"))).toBe(toHex(SEED));
  });

  it("writes files an independent implementation decrypts (noble scrypt, keccak MAC, AES-128-CTR)", async () => {
    const file = await lightFile();
    const { n, r, p, dklen, salt } = file.crypto.kdfparams as {
      n: number;
      r: number;
      p: number;
      dklen: number;
      salt: string;
    };
    const dk = await scryptAsync(PASSWORD, fromHex(salt), { N: n, r, p, dkLen: dklen });
    const ciphertext = fromHex(file.crypto.ciphertext);
    expect(toHex(keccak_256(concatBytes(dk.subarray(16, 32), ciphertext)))).toBe(file.crypto.mac);
    const decipher = createDecipheriv(
      "aes-128-ctr",
      dk.subarray(0, 16),
      fromHex(file.crypto.cipherparams.iv),
    );
    expect(toHex(Buffer.concat([decipher.update(ciphertext), decipher.final()]))).toBe(toHex(SEED));
  });

  it("writes no top-level address (ethers checks it against the secp256k1 address)", async () => {
    const json = JSON.parse(serializeKeyFile(await lightFile())) as Record<string, unknown>;
    expect(json).not.toHaveProperty("address");
  });

  it('accepts go-ethereum\'s case-insensitive "Crypto" spelling', async () => {
    const text = edit(await lightFile(), (j) => {
      j.Crypto = j.crypto;
      delete j.crypto;
    });
    expect(toHex(await decryptKeyFile(parseKeyFile(text), PASSWORD))).toBe(toHex(SEED));
  });

  it("round-trips any secret and password (property, N=2)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.string({ maxLength: 40 }),
        async (secret, password) => {
          const pw = utf8(password);
          const file = await encryptKeyFile({ secret, password: pw, scrypt: TINY });
          const back = await decryptKeyFile(parseKeyFile(serializeKeyFile(file)), pw);
          return equalBytes(back, secret);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe("v3 tamper: a MAC mismatch is WRONG_PASSWORD", () => {
  const flip = (hex: string) => (hex[0] === "0" ? "1" : "0") + hex.slice(1);
  it.each([
    [
      "ciphertext",
      (j: EditableJson) => {
        j.crypto!.ciphertext = flip(j.crypto!.ciphertext);
      },
    ],
    [
      "mac",
      (j: EditableJson) => {
        j.crypto!.mac = flip(j.crypto!.mac);
      },
    ],
    [
      "salt",
      (j: EditableJson) => {
        j.crypto!.kdfparams.salt = flip(j.crypto!.kdfparams.salt);
      },
    ],
  ])("flipped %s", async (_field, change) => {
    const text = edit(await lightFile(), change);
    await expect(decryptKeyFile(parseKeyFile(text, "t.json"), PASSWORD, "t.json")).rejects.toMatchObject({
      code: KeystoreErrorCode.WRONG_PASSWORD,
      message: "could not decrypt key with given password",
    });
  });

  it("a flipped iv passes the MAC (it is not covered) but yields a different secret", async () => {
    // v3's MAC covers only the ciphertext; Quarry's own files catch this through quarry.publicKey
    // (METADATA_MISMATCH, tested in keystore.test.ts).
    const text = edit(await lightFile(), (j) => {
      j.crypto!.cipherparams.iv = flip(j.crypto!.cipherparams.iv);
    });
    const back = await decryptKeyFile(parseKeyFile(text), PASSWORD);
    expect(toHex(back)).not.toBe(toHex(SEED));
  });
});

describe("v3 parse errors name the file", () => {
  const cases: [string, (text: string) => string, KeystoreErrorCode][] = [
    ["non-JSON", () => "hello, not json", KeystoreErrorCode.MALFORMED],
    ["truncated", (t) => t.slice(0, Math.floor(t.length / 2)), KeystoreErrorCode.MALFORMED],
    ["empty", () => "", KeystoreErrorCode.MALFORMED],
    ["array", () => "[]", KeystoreErrorCode.MALFORMED],
    ["version 1", (t) => t.replace('"version": 3', '"version": 1'), KeystoreErrorCode.UNSUPPORTED_VERSION],
    [
      'version "3"',
      (t) => t.replace('"version": 3', '"version": "3"'),
      KeystoreErrorCode.UNSUPPORTED_VERSION,
    ],
    [
      "kdf argon2id",
      (t) => t.replace('"kdf": "scrypt"', '"kdf": "argon2id"'),
      KeystoreErrorCode.UNSUPPORTED_KDF,
    ],
    [
      "cipher aes-128-cbc",
      (t) => t.replace('"aes-128-ctr"', '"aes-128-cbc"'),
      KeystoreErrorCode.UNSUPPORTED_CIPHER,
    ],
    ["iv too short", (t) => t.replace(/"iv": "([0-9a-f]+)"/, '"iv": "00"'), KeystoreErrorCode.MALFORMED],
    ["mac not hex", (t) => t.replace(/"mac": "[0-9a-f]+"/, '"mac": "zz"'), KeystoreErrorCode.MALFORMED],
    ["ciphertext missing", (t) => t.replace(/"ciphertext": "[0-9a-f]+",/, ""), KeystoreErrorCode.MALFORMED],
    [
      "n not a power of two",
      (t) => t.replace('"n": 4096', '"n": 4095'),
      KeystoreErrorCode.KDF_PARAMS_OUT_OF_RANGE,
    ],
    [
      "n = 2^30 (memory bomb)",
      (t) => t.replace('"n": 4096', '"n": 1073741824'),
      KeystoreErrorCode.KDF_PARAMS_OUT_OF_RANGE,
    ],
    [
      "p = 1024 (time bomb)",
      (t) => t.replace('"p": 1', '"p": 1024'),
      KeystoreErrorCode.KDF_PARAMS_OUT_OF_RANGE,
    ],
    ["dklen 16", (t) => t.replace('"dklen": 32', '"dklen": 16'), KeystoreErrorCode.KDF_PARAMS_OUT_OF_RANGE],
    ["n as a string", (t) => t.replace('"n": 4096', '"n": "4096"'), KeystoreErrorCode.MALFORMED],
    [
      "quarry.publicKey short",
      (t) => t.replace(/"publicKey": "[0-9a-f]+"/, '"publicKey": "00"'),
      KeystoreErrorCode.MALFORMED,
    ],
  ];

  it.each(cases)("%s", async (_name, mutate, code) => {
    const file = await encryptKeyFile({
      secret: SEED,
      password: PASSWORD,
      scrypt: SCRYPT_LIGHT,
      quarry: { curve: "ed25519", publicKey: "11".repeat(32) },
    });
    const text = mutate(serializeKeyFile(file));
    let error: unknown;
    try {
      parseKeyFile(text, "/keys/broken.json");
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code, file: "/keys/broken.json" });
    expect((error as Error).message).toContain("/keys/broken.json");
    expect((error as Error).message).not.toContain("\n");
  });

  it("pbkdf2 with a prf other than hmac-sha256 is UNSUPPORTED_KDF", () => {
    const text = JSON.stringify({
      version: 3,
      crypto: {
        cipher: "aes-128-ctr",
        cipherparams: { iv: "00".repeat(16) },
        ciphertext: "00".repeat(32),
        kdf: "pbkdf2",
        kdfparams: { c: 1, dklen: 32, prf: "hmac-sha512", salt: "00" },
        mac: "00".repeat(32),
      },
    });
    expect(() => parseKeyFile(text, "p.json")).toThrow(
      expect.objectContaining({ code: KeystoreErrorCode.UNSUPPORTED_KDF }),
    );
  });
});
