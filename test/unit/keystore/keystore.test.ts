import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  decryptForeignKeyFile,
  defaultKeystoreDeps,
  encryptKeyFile,
  Keystore,
  KeystoreError,
  KeystoreErrorCode,
  SCRYPT_LIGHT,
  serializeKeyFile,
} from "../../../src/keystore/index.js";
import {
  addressHashOf,
  encodeAddress,
  fromHex,
  publicKeyFromSeed,
  toHex,
} from "../../../src/primitives/index.js";
import { tempDir } from "../../helpers/temp-dir.js";

const utf8 = (s: string) => new TextEncoder().encode(s);
const PW = utf8("pw-1");
const SEED = fromHex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");

describe("Keystore", () => {
  let dir: { path: string; cleanup: () => void };
  let ks: Keystore;
  beforeEach(() => {
    dir = tempDir("quarry-ks-");
    ks = new Keystore({ dir: join(dir.path, "keystore"), network: "regtest", addressPrefix: "qrt" });
  });
  afterEach(() => dir.cleanup());

  it("creates a key: dir 0700, file 0600, metadata with address; unlocks to the same seed", async () => {
    const info = await ks.create({ name: "alice", password: PW, seed: SEED, light: true });
    const publicKey = publicKeyFromSeed(SEED);
    expect(info).toMatchObject({
      name: "alice",
      publicKey: toHex(publicKey),
      address: encodeAddress("qrt", addressHashOf(publicKey)),
    });
    expect(statSync(ks.dir).mode & 0o777).toBe(0o700);
    expect(statSync(info.path).mode & 0o777).toBe(0o600);
    expect(readdirSync(ks.dir)).toEqual(["alice.json"]);
    expect(toHex(await ks.unlock("alice", PW))).toBe(toHex(SEED));
  });

  it("KEYSTORE_DIR_NOT_WRITABLE: a folder the user made read-only (0500) is reported and left 0500", async () => {
    mkdirSync(ks.dir, { mode: 0o700 });
    chmodSync(ks.dir, 0o500);
    const err = await ks.create({ name: "alice", password: PW, seed: SEED, light: true }).catch((e) => e);
    expect(err).toBeInstanceOf(KeystoreError);
    expect(err.code).toBe(KeystoreErrorCode.DIR_NOT_WRITABLE);
    expect(err.message).toContain(ks.dir);
    expect(err.message).toContain("mode 0500");
    expect(err.message.split("\n")).toHaveLength(1);
    expect(statSync(ks.dir).mode & 0o777).toBe(0o500);
    expect(readdirSync(ks.dir)).toEqual([]);
  });

  it("an existing writable folder keeps the mode the user gave it (only a folder we create gets 0700)", async () => {
    mkdirSync(ks.dir);
    chmodSync(ks.dir, 0o750);
    await ks.create({ name: "alice", password: PW, seed: SEED, light: true });
    expect(statSync(ks.dir).mode & 0o777).toBe(0o750);
  });

  it("KEYSTORE_DIR_NOT_WRITABLE: a file where the folder should be", async () => {
    writeFileSync(ks.dir, "not a folder");
    const err = await ks.create({ name: "alice", password: PW, seed: SEED, light: true }).catch((e) => e);
    expect(err.code).toBe(KeystoreErrorCode.DIR_NOT_WRITABLE);
  });

  it("the seed never appears in the file", async () => {
    const info = await ks.create({ name: "alice", password: PW, seed: SEED, light: true });
    expect(readFileSync(info.path, "utf8")).not.toContain(toHex(SEED));
  });

  it("names a key after its address when no name is given, and lists keys sorted", async () => {
    const a = await ks.create({ password: PW, light: true });
    expect(a.name).toMatch(/^key-[0-9a-f]{8}$/);
    await ks.create({ name: "0-first", password: PW, light: true });
    const { keys, problems } = await ks.list();
    expect(keys.map((k) => k.name)).toEqual(["0-first", a.name]);
    expect(problems).toEqual([]);
  });

  it("shows the address of the keystore's network, whatever network wrote the file", async () => {
    await ks.create({ name: "alice", password: PW, seed: SEED, light: true });
    const devnet = new Keystore({ dir: ks.dir, network: "devnet", addressPrefix: "qdv" });
    expect((await devnet.info("alice")).address).toBe(
      encodeAddress("qdv", addressHashOf(publicKeyFromSeed(SEED))),
    );
  });

  it("ALREADY_EXISTS: an existing name is never overwritten", async () => {
    const first = await ks.create({ name: "alice", password: PW, light: true });
    const before = readFileSync(first.path, "utf8");
    await expect(ks.create({ name: "alice", password: PW, light: true })).rejects.toMatchObject({
      code: KeystoreErrorCode.ALREADY_EXISTS,
    });
    expect(readFileSync(first.path, "utf8")).toBe(before);
  });

  it("ALREADY_EXISTS: the same key is not imported twice under another name", async () => {
    await ks.create({ name: "alice", password: PW, seed: SEED, light: true });
    await expect(ks.create({ name: "bob", password: PW, seed: SEED, light: true })).rejects.toMatchObject({
      code: KeystoreErrorCode.ALREADY_EXISTS,
      message: expect.stringContaining("'alice'"),
    });
  });

  it.each(["../evil", "/etc/passwd", ".hidden", "a/b", "", "a".repeat(65), "x\u0000y", "-flag", "a b"])(
    "INVALID_NAME for %j",
    async (name) => {
      await expect(ks.create({ name, password: PW, light: true })).rejects.toMatchObject({
        code: KeystoreErrorCode.INVALID_NAME,
      });
      expect(() => ks.pathOf(name)).toThrow(
        expect.objectContaining({ code: KeystoreErrorCode.INVALID_NAME }),
      );
    },
  );

  it("WRONG_PASSWORD with the exact message", async () => {
    await ks.create({ name: "alice", password: PW, light: true });
    await expect(ks.unlock("alice", utf8("nope"))).rejects.toMatchObject({
      code: KeystoreErrorCode.WRONG_PASSWORD,
      message: "could not decrypt key with given password",
    });
  });

  it("NOT_FOUND names the path", async () => {
    await expect(ks.unlock("ghost", PW)).rejects.toMatchObject({
      code: KeystoreErrorCode.NOT_FOUND,
      message: expect.stringContaining(join(ks.dir, "ghost.json")),
    });
  });

  it("METADATA_MISMATCH when quarry.publicKey was edited", async () => {
    const info = await ks.create({ name: "alice", password: PW, seed: SEED, light: true });
    const json = JSON.parse(readFileSync(info.path, "utf8")) as { quarry: { publicKey: string } };
    json.quarry.publicKey = "22".repeat(32);
    writeFileSync(info.path, JSON.stringify(json));
    await expect(ks.unlock("alice", PW)).rejects.toMatchObject({
      code: KeystoreErrorCode.METADATA_MISMATCH,
      file: info.path,
    });
  });

  it("truncated and non-JSON files: MALFORMED naming the file, and list reports them without failing", async () => {
    const info = await ks.create({ name: "alice", password: PW, light: true });
    const text = readFileSync(info.path, "utf8");
    writeFileSync(join(ks.dir, "cut.json"), text.slice(0, 100));
    writeFileSync(join(ks.dir, "junk.json"), "\u0000\u0001binary");
    writeFileSync(join(ks.dir, ".alice.json.tmp-0123"), "leftover of a crash");
    for (const name of ["cut", "junk"]) {
      await expect(ks.unlock(name, PW)).rejects.toMatchObject({
        code: KeystoreErrorCode.MALFORMED,
        message: expect.stringContaining(join(ks.dir, `${name}.json`)),
      });
    }
    const { keys, problems } = await ks.list();
    expect(keys.map((k) => k.name)).toEqual(["alice"]);
    expect(problems.map((p) => p.path).sort()).toEqual([join(ks.dir, "cut.json"), join(ks.dir, "junk.json")]);
  });

  it("changes the password atomically, keeping the light cost and creation time", async () => {
    const info = await ks.create({ name: "alice", password: PW, seed: SEED, light: true });
    const after = await ks.changePassword("alice", PW, utf8("pw-2"));
    expect(after.created).toBe(info.created);
    await expect(ks.unlock("alice", PW)).rejects.toMatchObject({ code: KeystoreErrorCode.WRONG_PASSWORD });
    expect(toHex(await ks.unlock("alice", utf8("pw-2")))).toBe(toHex(SEED));
    const json = JSON.parse(readFileSync(info.path, "utf8")) as { crypto: { kdfparams: { n: number } } };
    expect(json.crypto.kdfparams.n).toBe(SCRYPT_LIGHT.n);
    expect(statSync(info.path).mode & 0o777).toBe(0o600);
  });

  it("a crash before the rename during a password change leaves the old file working", async () => {
    await ks.create({ name: "alice", password: PW, seed: SEED, light: true });
    const crashing = new Keystore(
      { dir: ks.dir, network: "regtest", addressPrefix: "qrt" },
      {
        ...defaultKeystoreDeps,
        atomic: {
          ...defaultKeystoreDeps.atomic,
          rename: async () => {
            throw new Error("simulated crash before rename");
          },
        },
      },
    );
    await expect(crashing.changePassword("alice", PW, utf8("pw-2"))).rejects.toThrow(/simulated crash/);
    expect(toHex(await ks.unlock("alice", PW))).toBe(toHex(SEED));
    expect(readdirSync(ks.dir)).toEqual(["alice.json"]);
  });

  it("a wrong old password changes nothing", async () => {
    const info = await ks.create({ name: "alice", password: PW, light: true });
    const before = readFileSync(info.path, "utf8");
    await expect(ks.changePassword("alice", utf8("bad"), utf8("pw-2"))).rejects.toMatchObject({
      code: KeystoreErrorCode.WRONG_PASSWORD,
    });
    expect(readFileSync(info.path, "utf8")).toBe(before);
  });
});

describe("decryptForeignKeyFile", () => {
  it("left-pads go-ethereum's 31-byte legacy key to a 32-byte seed (as geth reads it)", async () => {
    const secret = fromHex("fa7b3db73dc7dfdf8c5fbdb796d741e4488628c41fc4febd9160a866ba0f35");
    const file = await encryptKeyFile({ secret, password: PW, scrypt: { n: 2, r: 8, p: 1 } });
    const seed = await decryptForeignKeyFile(serializeKeyFile(file), PW, "legacy.json");
    expect(toHex(seed)).toBe(`00${toHex(secret)}`);
  });

  it("INVALID_SECRET for a secret longer than 32 bytes", async () => {
    const file = await encryptKeyFile({
      secret: new Uint8Array(48).fill(7),
      password: PW,
      scrypt: { n: 2, r: 8, p: 1 },
    });
    await expect(decryptForeignKeyFile(serializeKeyFile(file), PW, "long.json")).rejects.toMatchObject({
      code: KeystoreErrorCode.INVALID_SECRET,
      file: "long.json",
    });
  });
});
