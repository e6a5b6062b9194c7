import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, chmod, mkdir, readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  addressHashOf,
  encodeAddress,
  equalBytes,
  fromHex,
  publicKeyFromSeed,
  SEED_LENGTH,
  toHex,
  wipe,
} from "../primitives/index.js";
import {
  type AtomicWriteDeps,
  type Clock,
  defaultAtomicWriteDeps,
  systemClock,
  TEMP_PREFIX,
  writeFileAtomic,
} from "../util/index.js";
import { KeystoreError, KeystoreErrorCode } from "./errors.js";
import { SCRYPT_DEFAULT, SCRYPT_LIGHT } from "./kdf.js";
import {
  decryptKeyFile,
  type EncryptDeps,
  encryptKeyFile,
  parseKeyFile,
  type QuarryMeta,
  serializeKeyFile,
  type V3KeyFile,
} from "./v3.js";

/**
 * The key store: one v3 JSON file per key, `<dir>/<name>.json`, dir 0700, files 0600. Names are
 * the file names (validated, so no path can escape the directory); an existing name is never
 * overwritten. Every write goes through writeFileAtomic and is read back and decrypted before
 * it becomes visible.
 */

export const KEY_FILE_SUFFIX = ".json";
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Key files are < 1 KiB; anything much larger is not one of ours. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

export interface KeystoreOptions {
  /** the directory, normally `<datadir>/keystore` */
  dir: string;
  /** network name recorded in new files, e.g. "devnet" */
  network: string;
  /** bech32m prefix addresses are shown with, e.g. "qdv" */
  addressPrefix: string;
}

export interface KeystoreDeps {
  /** stamps the creation time recorded in new files */
  clock: Clock;
  randomSeed(): Uint8Array;
  atomic: AtomicWriteDeps;
  encrypt?: EncryptDeps;
}

export const defaultKeystoreDeps: KeystoreDeps = {
  clock: systemClock,
  randomSeed: () => new Uint8Array(randomBytes(SEED_LENGTH)),
  atomic: defaultAtomicWriteDeps,
};

/** What can be known about a key without its password. */
export interface KeyInfo {
  name: string;
  path: string;
  /** bech32m address on this keystore's network; undefined for a foreign file without metadata */
  address?: string;
  publicKey?: string;
  created?: string;
}

/** A file in the directory that could not be read as a key (listed, not fatal). */
export interface KeyProblem {
  path: string;
  message: string;
}

export interface CreateKeyOptions {
  name?: string;
  password: Uint8Array;
  /** an existing seed (import); a fresh random one when omitted. Not wiped here. */
  seed?: Uint8Array;
  /** true: N=2^12 instead of N=2^18 */
  light?: boolean;
}

/** File-backed store of encrypted Ed25519 seeds. */
export class Keystore {
  readonly dir: string;
  private readonly opts: KeystoreOptions;
  private readonly deps: KeystoreDeps;

  constructor(opts: KeystoreOptions, deps: KeystoreDeps = defaultKeystoreDeps) {
    this.opts = opts;
    this.deps = deps;
    this.dir = opts.dir;
  }

  /** The file of `name`; throws INVALID_NAME for anything that is not a plain file name. */
  pathOf(name: string): string {
    assertKeyName(name);
    return join(this.dir, `${name}${KEY_FILE_SUFFIX}`);
  }

  /** Every key (sorted by name), plus the files that could not be read. No password needed. */
  async list(): Promise<{ keys: KeyInfo[]; problems: KeyProblem[] }> {
    let entries: string[];
    try {
      entries = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { keys: [], problems: [] };
      throw err;
    }
    const keys: KeyInfo[] = [];
    const problems: KeyProblem[] = [];
    for (const entry of entries.sort()) {
      if (entry.startsWith(TEMP_PREFIX) || !entry.endsWith(KEY_FILE_SUFFIX)) continue;
      const name = entry.slice(0, -KEY_FILE_SUFFIX.length);
      if (!NAME_RE.test(name)) continue;
      try {
        keys.push(await this.info(name));
      } catch (err) {
        problems.push({
          path: join(this.dir, entry),
          message: err instanceof Error ? err.message : String(err),
        });
      }
    }
    return { keys, problems };
  }

  /** Address, public key and creation time from the file's metadata (unauthenticated until unlock). */
  async info(name: string): Promise<KeyInfo> {
    const { file, path } = await this.read(name);
    return this.infoOf(name, path, file.quarry);
  }

  /** Reads and validates a key file. */
  async read(name: string): Promise<{ file: V3KeyFile; text: string; path: string }> {
    const path = this.pathOf(name);
    const text = await readKeyText(path, name);
    return { file: parseKeyFile(text, path), text, path };
  }

  /**
   * Decrypts a key's 32-byte seed (the caller wipes it). Throws WRONG_PASSWORD on a MAC
   * mismatch and METADATA_MISMATCH when the file's public key does not belong to the seed.
   */
  async unlock(name: string, password: Uint8Array): Promise<Uint8Array> {
    const { file, path } = await this.read(name);
    const secret = await decryptKeyFile(file, password, path);
    const seed = seedFromSecret(secret, path);
    if (secret !== seed) wipe(secret);
    try {
      checkMetadata(file.quarry, seed, path);
    } catch (err) {
      wipe(seed);
      throw err;
    }
    return seed;
  }

  /** Creates a key file for a new random seed (or `opts.seed`); never replaces an existing name. */
  async create(opts: CreateKeyOptions): Promise<KeyInfo> {
    const seed = opts.seed ?? this.deps.randomSeed();
    try {
      if (seed.length !== SEED_LENGTH) {
        throw new KeystoreError(
          { code: KeystoreErrorCode.INVALID_SECRET },
          `seed must be ${SEED_LENGTH} bytes`,
        );
      }
      const publicKey = publicKeyFromSeed(seed);
      const name = opts.name ?? `key-${toHex(addressHashOf(publicKey)).slice(0, 8)}`;
      const path = this.pathOf(name);
      await prepareKeystoreDir(this.dir);
      if (await exists(path)) throw alreadyExists(name, path);
      const duplicate = (await this.list()).keys.find((k) => k.publicKey === toHex(publicKey));
      if (duplicate) {
        throw new KeystoreError(
          { code: KeystoreErrorCode.ALREADY_EXISTS, file: duplicate.path },
          `this key is already in the keystore as '${duplicate.name}'`,
        );
      }
      const meta = this.metaFor(publicKey, name, new Date(this.deps.clock.nowMs()).toISOString());
      await this.write(
        path,
        seed,
        opts.password,
        opts.light ? SCRYPT_LIGHT : SCRYPT_DEFAULT,
        meta,
        false,
        name,
      );
      return this.infoOf(name, path, meta);
    } finally {
      if (!opts.seed) wipe(seed);
    }
  }

  /**
   * Re-encrypts a key under a new password, atomically: the old file stays in place until the
   * new one has been written, synced, read back and decrypted. Keeps the file's scrypt cost
   * unless `light` is given (or the old file was weaker than `--light`, then the default).
   */
  async changePassword(
    name: string,
    oldPassword: Uint8Array,
    newPassword: Uint8Array,
    light?: boolean,
  ): Promise<KeyInfo> {
    const { file, path } = await this.read(name);
    const seed = await this.unlock(name, oldPassword);
    try {
      const old = file.crypto.kdf === "scrypt" ? file.crypto.kdfparams : undefined;
      const cost = light
        ? SCRYPT_LIGHT
        : old && "n" in old && old.n >= SCRYPT_LIGHT.n && old.r >= SCRYPT_LIGHT.r
          ? { n: old.n, r: old.r, p: old.p }
          : SCRYPT_DEFAULT;
      const meta = this.metaFor(
        publicKeyFromSeed(seed),
        name,
        file.quarry?.created ?? new Date(this.deps.clock.nowMs()).toISOString(),
      );
      await this.write(path, seed, newPassword, cost, meta, true, name);
      return this.infoOf(name, path, meta);
    } finally {
      wipe(seed);
    }
  }

  private async write(
    path: string,
    seed: Uint8Array,
    password: Uint8Array,
    cost: { n: number; r: number; p: number },
    meta: QuarryMeta,
    overwrite: boolean,
    name: string,
  ): Promise<void> {
    const file = await encryptKeyFile(
      { secret: seed, password, scrypt: cost, quarry: meta },
      this.deps.encrypt,
    );
    try {
      await writeFileAtomic(
        {
          path,
          data: serializeKeyFile(file),
          mode: 0o600,
          overwrite,
          verify: async (written) => {
            const back = await decryptKeyFile(
              parseKeyFile(Buffer.from(written).toString("utf8"), path),
              password,
              path,
            );
            const same = equalBytes(back, seed);
            wipe(back);
            if (!same) {
              throw new KeystoreError(
                { code: KeystoreErrorCode.WRITE_VERIFY_FAILED, file: path },
                `keystore file ${path} did not decrypt to the same key after writing; nothing was changed`,
              );
            }
          },
        },
        this.deps.atomic,
      );
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") throw alreadyExists(name, path);
      throw err;
    }
  }

  private metaFor(publicKey: Uint8Array, name: string, created: string): QuarryMeta {
    return {
      curve: "ed25519",
      publicKey: toHex(publicKey),
      address: encodeAddress(this.opts.addressPrefix, addressHashOf(publicKey)),
      network: this.opts.network,
      name,
      created,
    };
  }

  private infoOf(name: string, path: string, meta: QuarryMeta | undefined): KeyInfo {
    if (!meta) return { name, path };
    const info: KeyInfo = {
      name,
      path,
      publicKey: meta.publicKey,
      // Computed, not copied: the same key has a different address on each network.
      address: encodeAddress(this.opts.addressPrefix, addressHashOf(fromHex(meta.publicKey))),
    };
    if (meta.created !== undefined) info.created = meta.created;
    return info;
  }
}

/**
 * Decrypts a v3 file written by another tool (go-ethereum, ethers, Quarry) and returns the
 * 32-byte seed (the caller wipes it).
 */
export async function decryptForeignKeyFile(
  text: string,
  password: Uint8Array,
  fileName: string,
): Promise<Uint8Array> {
  const file = parseKeyFile(text, fileName);
  const secret = await decryptKeyFile(file, password, fileName);
  const seed = seedFromSecret(secret, fileName);
  if (seed !== secret) wipe(secret);
  try {
    checkMetadata(file.quarry, seed, fileName);
  } catch (err) {
    wipe(seed);
    throw err;
  }
  return seed;
}

/** Throws INVALID_NAME unless `name` is 1-64 of [A-Za-z0-9_.-], not starting with '.', '_' or '-'. */
export function assertKeyName(name: string): void {
  if (typeof name !== "string" || !NAME_RE.test(name)) {
    throw new KeystoreError(
      { code: KeystoreErrorCode.INVALID_NAME },
      `invalid key name ${JSON.stringify(String(name).slice(0, 80))}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
}

/**
 * go-ethereum once wrote secp256k1 keys with leading zero bytes stripped (its 30- and 31-byte
 * test vectors); it reads them as big-endian numbers, i.e. left-padded. We do the same, so such a
 * file imports as the seed geth would see. Longer secrets are not an Ed25519 seed.
 */
function seedFromSecret(secret: Uint8Array, fileName: string): Uint8Array {
  if (secret.length === SEED_LENGTH) return secret;
  if (secret.length > SEED_LENGTH) {
    throw new KeystoreError(
      { code: KeystoreErrorCode.INVALID_SECRET, file: fileName },
      `keystore file ${fileName} holds a ${secret.length}-byte secret; an Ed25519 seed is ${SEED_LENGTH} bytes`,
    );
  }
  const seed = new Uint8Array(SEED_LENGTH);
  seed.set(secret, SEED_LENGTH - secret.length);
  return seed;
}

function checkMetadata(meta: QuarryMeta | undefined, seed: Uint8Array, fileName: string): void {
  if (!meta) return;
  const publicKey = publicKeyFromSeed(seed);
  if (toHex(publicKey) !== meta.publicKey) {
    throw new KeystoreError(
      { code: KeystoreErrorCode.METADATA_MISMATCH, file: fileName },
      `keystore file ${fileName} decrypts, but its quarry.publicKey does not belong to the key (file edited?)`,
    );
  }
}

async function readKeyText(path: string, name: string): Promise<string> {
  try {
    const info = await stat(path);
    if (!info.isFile() || info.size > MAX_KEY_FILE_BYTES) {
      throw new KeystoreError(
        { code: KeystoreErrorCode.MALFORMED, file: path },
        `keystore file ${path} is not a key file (not a regular file or larger than 64 KiB)`,
      );
    }
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new KeystoreError(
        { code: KeystoreErrorCode.NOT_FOUND, file: path },
        `no key named '${name}' (looked for ${path}); 'quarry keys list' shows the keys`,
      );
    }
    throw err;
  }
}

/**
 * Makes sure keys can be written into `dir`. A folder the node creates gets 0700. A folder that
 * already exists is left exactly as the user set it: if this process may not write it, that is
 * reported (path, mode, owner) as DIR_NOT_WRITABLE instead of being chmod-ed back.
 */
export async function prepareKeystoreDir(dir: string): Promise<void> {
  // mkdir answers the first folder it created, undefined when `dir` already existed.
  let created: string | undefined;
  try {
    created = await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw new KeystoreError(
      { code: KeystoreErrorCode.DIR_NOT_WRITABLE, file: dir },
      `cannot create the keystore folder ${dir} (${code})`,
    );
  }
  if (created !== undefined) {
    await chmod(dir, 0o700); // the umask may have narrowed the mode; 0700 is what we promise
    return;
  }
  const info = await stat(dir);
  const mode = `0${(info.mode & 0o777).toString(8).padStart(3, "0")}`;
  const notWritable = (why: string) =>
    new KeystoreError(
      { code: KeystoreErrorCode.DIR_NOT_WRITABLE, file: dir },
      `keystore folder ${dir} ${why} (mode ${mode}, owner uid ${info.uid}); no key was written. Make it writable (chmod u+w) or use another --datadir`,
    );
  if (!info.isDirectory()) throw notWritable("is not a folder");
  if (!modeAllowsWrite(info)) throw notWritable("is read-only");
  try {
    await access(dir, constants.W_OK | constants.X_OK);
  } catch {
    throw notWritable("is not writable by this user");
  }
}

/**
 * Whether the permission bits grant this process write and search on a folder. access(2) alone is
 * not enough: root passes it whatever the bits say, so a keystore the user made read-only (0500)
 * would still be written when the node runs as root (in a container, or a test). The bits of the
 * class the process falls in (owner, group, other) state the user's intent, and we follow it.
 */
function modeAllowsWrite(info: { mode: number; uid: number; gid: number }): boolean {
  const uid = process.geteuid?.();
  if (uid === undefined) return true; // no POSIX ids (Windows): access() decides
  const groups = [process.getegid?.(), ...(process.getgroups?.() ?? [])];
  const shift = info.uid === uid ? 6 : groups.includes(info.gid) ? 3 : 0;
  return ((info.mode >> shift) & 0o3) === 0o3;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

function alreadyExists(name: string, path: string): KeystoreError {
  return new KeystoreError(
    { code: KeystoreErrorCode.ALREADY_EXISTS, file: path },
    `a key named '${name}' already exists (${path}); choose another --name`,
  );
}
