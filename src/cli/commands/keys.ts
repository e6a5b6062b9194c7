import { readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { getNetworkParams, type NetworkName, type NetworkParams } from "../../consensus/index.js";
import {
  decryptForeignKeyFile,
  defaultPasswordDeps,
  type KeyInfo,
  Keystore,
  KeystoreError,
  KeystoreErrorCode,
  readPassword,
  WRONG_PASSWORD_MESSAGE,
  writeFileAtomic,
} from "../../keystore/index.js";
import { AddressError, fromHex, toHex, wipe } from "../../primitives/index.js";
import { CliError, type CliIo, type Command, parseFlags, parseOnlyFlags } from "../command.js";
import { type DatadirChoice, resolveNetworkAndDatadir } from "../datadir.js";

/**
 * `quarry keys …`: the encrypted key store in `<datadir>/keystore`. Passwords come from
 * --password-file, QUARRY_PASSWORD, or a no-echo prompt (see keystore/password.ts). Secrets are
 * printed only by `keys export --seed`, with a warning on stderr.
 */

/** Exit code for a wrong password (MAC mismatch), so scripts can tell it from other failures. */
export const EXIT_WRONG_PASSWORD = 2;

const MAX_IMPORT_FILE_BYTES = 64 * 1024;

/** Flags every command that touches the key store accepts. */
export const keystoreFlags = {
  network: { type: "string" },
  datadir: { type: "string" },
  json: { type: "boolean" },
  "password-file": { type: "string" },
  "allow-empty-password": { type: "boolean" },
} as const;

interface KeystoreFlagValues {
  network?: string | undefined;
  datadir?: string | undefined;
  "password-file"?: string | undefined;
  "allow-empty-password"?: boolean | undefined;
}

/** Opens `<datadir>/keystore` for the network of `choice` (default: from the flags and datadir.json). */
export function openKeystore(
  values: KeystoreFlagValues,
  env: NodeJS.ProcessEnv,
  choice: DatadirChoice = resolveNetworkAndDatadir(values, env),
): { keystore: Keystore; network: NetworkName; params: NetworkParams; datadir: string } {
  const { network, datadir } = choice;
  const params = getNetworkParams(network);
  const keystore = new Keystore({
    dir: join(datadir, "keystore"),
    network,
    addressPrefix: params.addressPrefix,
  });
  return { keystore, network, params, datadir };
}

/** Reads the password that unlocks (or, with `confirm`, protects) a key. */
export function keyPassword(
  values: KeystoreFlagValues,
  env: NodeJS.ProcessEnv,
  prompt: string,
  confirm: boolean,
): Promise<Uint8Array> {
  return readPassword(
    {
      env,
      passwordFile: values["password-file"],
      envVar: "QUARRY_PASSWORD",
      prompt,
      confirm,
      allowEmpty: values["allow-empty-password"] === true,
      fileFlag: "--password-file",
    },
    defaultPasswordDeps(),
  );
}

/**
 * Runs a key command and turns keystore errors into what the user sees: a wrong password prints
 * exactly WRONG_PASSWORD_MESSAGE and exits 2; every other keystore or address error is one line
 * (naming the file where there is one) and exits 1.
 */
export async function withKeyErrors(io: CliIo, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof KeystoreError && err.code === KeystoreErrorCode.WRONG_PASSWORD) {
      io.err(WRONG_PASSWORD_MESSAGE);
      return EXIT_WRONG_PASSWORD;
    }
    if (err instanceof KeystoreError || err instanceof AddressError)
      throw new CliError(err.message, 1, "CLI_FAILED");
    throw err;
  }
}

function printInfo(io: CliIo, info: KeyInfo, json: boolean | undefined): void {
  if (json) {
    io.out(JSON.stringify(info));
    return;
  }
  const rows: [string, string | undefined][] = [
    ["name", info.name],
    ["address", info.address ?? "(unknown: file has no quarry metadata)"],
    ["publicKey", info.publicKey],
    ["created", info.created],
    ["file", info.path],
  ];
  for (const [k, v] of rows) if (v !== undefined) io.out(`${k.padEnd(10)} ${v}`);
}

export const keysNewCommand: Command = {
  path: ["keys", "new"],
  summary: "create a new encrypted key (scrypt N=2^18; --light N=2^12)",
  usage: "keys new [--name N] [--light] [--password-file F] [--allow-empty-password] [--json]",
  run(args, io) {
    return withKeyErrors(io, async () => {
      const { values } = parseOnlyFlags(
        args,
        { ...keystoreFlags, name: { type: "string" }, light: { type: "boolean" } },
        this.usage,
      );
      const { keystore } = openKeystore(values, io.env);
      const password = await keyPassword(values, io.env, "Password for the new key: ", true);
      try {
        const info = await keystore.create({ name: values.name, password, light: values.light === true });
        printInfo(io, info, values.json);
        io.err("Back up the key file and remember its password: without both, the key cannot be recovered.");
        return 0;
      } finally {
        wipe(password);
      }
    });
  },
};

export const keysListCommand: Command = {
  path: ["keys", "list"],
  summary: "list the keys: name, address, created",
  usage: "keys list [--network N] [--datadir DIR] [--json]",
  run(args, io) {
    return withKeyErrors(io, async () => {
      const { values } = parseFlags(args, keystoreFlags, this.usage);
      const { keystore } = openKeystore(values, io.env);
      const { keys, problems } = await keystore.list();
      for (const problem of problems) io.err(`warning: skipped ${problem.message}`);
      if (values.json) {
        io.out(JSON.stringify(keys));
        return 0;
      }
      if (keys.length === 0) {
        io.err(`no keys in ${keystore.dir}; create one with 'quarry keys new'`);
        return 0;
      }
      const width = Math.max(4, ...keys.map((k) => k.name.length));
      io.out(`${"NAME".padEnd(width)}  ${"ADDRESS".padEnd(42)}  CREATED`);
      for (const k of keys)
        io.out(`${k.name.padEnd(width)}  ${(k.address ?? "-").padEnd(42)}  ${k.created ?? "-"}`);
      return 0;
    });
  },
};

export const keysShowCommand: Command = {
  path: ["keys", "show"],
  summary: "show a key's address and public key (no password needed)",
  usage: "keys show NAME [--network N] [--datadir DIR] [--json]",
  run(args, io) {
    return withKeyErrors(io, async () => {
      const { values, positionals } = parseFlags(args, keystoreFlags, this.usage);
      const name = onePositional(positionals, "NAME", this.usage);
      const { keystore } = openKeystore(values, io.env);
      printInfo(io, await keystore.info(name), values.json);
      return 0;
    });
  },
};

export const keysImportCommand: Command = {
  path: ["keys", "import"],
  summary: "import a v3 key file (go-ethereum, ethers, Quarry) or a raw seed",
  usage: "keys import FILE|--seed-hex HEX|- [--name N] [--light] [--password-file F] [--json]",
  run(args, io) {
    return withKeyErrors(io, async () => {
      const { values, positionals } = parseFlags(
        args,
        {
          ...keystoreFlags,
          name: { type: "string" },
          light: { type: "boolean" },
          "seed-hex": { type: "string" },
        },
        this.usage,
      );
      const seedHex = values["seed-hex"];
      if ((seedHex === undefined) === (positionals.length === 0) || positionals.length > 1) {
        throw new CliError(`give exactly one of FILE or --seed-hex (usage: ${this.usage})`);
      }
      const { keystore } = openKeystore(values, io.env);
      if (values.name !== undefined) keystore.pathOf(values.name); // a bad name fails before any prompt
      let seed: Uint8Array;
      let password: Uint8Array;
      if (seedHex !== undefined) {
        if (seedHex !== "-")
          io.err(
            "warning: a seed on the command line can end up in shell history; prefer '--seed-hex -' and stdin",
          );
        seed = parseSeedHex(seedHex === "-" ? await readStdin() : seedHex);
        password = await keyPassword(values, io.env, "Password for the imported key: ", true).catch((err) => {
          wipe(seed);
          throw err;
        });
      } else {
        const file = resolve(positionals[0]!);
        const text = await readImportFile(file);
        // The source file's password decrypts it, and also protects the re-encrypted copy.
        password = await keyPassword(values, io.env, `Password of ${file}: `, false);
        try {
          seed = await decryptForeignKeyFile(text, password, file);
        } catch (err) {
          wipe(password);
          throw err;
        }
      }
      try {
        const info = await keystore.create({
          name: values.name,
          password,
          seed,
          light: values.light === true,
        });
        printInfo(io, info, values.json);
        return 0;
      } finally {
        wipe(seed);
        wipe(password);
      }
    });
  },
};

export const keysExportCommand: Command = {
  path: ["keys", "export"],
  summary: "print a key's v3 file (or write it with --out); --seed prints the raw seed",
  usage: "keys export NAME [--out FILE] [--seed] [--password-file F]",
  run(args, io) {
    return withKeyErrors(io, async () => {
      const { values, positionals } = parseFlags(
        args,
        { ...keystoreFlags, seed: { type: "boolean" }, out: { type: "string" } },
        this.usage,
      );
      const name = onePositional(positionals, "NAME", this.usage);
      const { keystore } = openKeystore(values, io.env);
      if (values.seed) {
        if (values.out !== undefined)
          throw new CliError("--seed prints to stdout; it cannot be combined with --out");
        await keystore.info(name); // a missing key fails before any prompt
        const password = await keyPassword(values, io.env, `Password for key '${name}': `, false);
        let seed: Uint8Array | undefined;
        try {
          seed = await keystore.unlock(name, password);
          io.err("warning: this is the raw private key seed: anyone who sees it controls the key's funds");
          io.out(toHex(seed));
        } finally {
          wipe(password);
          if (seed) wipe(seed);
        }
        return 0;
      }
      const { text, path } = await keystore.read(name);
      if (values.out === undefined) {
        io.out(text.trimEnd());
        return 0;
      }
      const out = resolve(values.out);
      try {
        await writeFileAtomic({ path: out, data: text, mode: 0o600, overwrite: false });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "EEXIST") throw new CliError(`${out} already exists; not overwritten`);
        throw new CliError(`cannot write ${out} (${code ?? "error"})`);
      }
      io.err(`exported ${path} to ${out}`);
      return 0;
    });
  },
};

export const keysPasswordCommand: Command = {
  path: ["keys", "password"],
  summary: "change a key's password (re-encrypts atomically)",
  usage: "keys password NAME [--password-file F] [--new-password-file F] [--light]",
  run(args, io) {
    return withKeyErrors(io, async () => {
      const { values, positionals } = parseFlags(
        args,
        { ...keystoreFlags, "new-password-file": { type: "string" }, light: { type: "boolean" } },
        this.usage,
      );
      const name = onePositional(positionals, "NAME", this.usage);
      const { keystore } = openKeystore(values, io.env);
      await keystore.info(name); // a missing key fails before any prompt
      const oldPassword = await keyPassword(values, io.env, `Current password for key '${name}': `, false);
      let newPassword: Uint8Array | undefined;
      try {
        newPassword = await readPassword(
          {
            env: io.env,
            passwordFile: values["new-password-file"],
            envVar: "QUARRY_NEW_PASSWORD",
            prompt: "New password: ",
            confirm: true,
            allowEmpty: values["allow-empty-password"] === true,
            fileFlag: "--new-password-file",
          },
          defaultPasswordDeps(),
        );
        const info = await keystore.changePassword(name, oldPassword, newPassword, values.light === true);
        if (values.json) io.out(JSON.stringify(info));
        else io.out(`password changed for '${name}' (${info.path})`);
        return 0;
      } finally {
        wipe(oldPassword);
        if (newPassword) wipe(newPassword);
      }
    });
  },
};

/** Every `keys` subcommand, for the command table. */
export const keysCommands: readonly Command[] = [
  keysNewCommand,
  keysListCommand,
  keysShowCommand,
  keysImportCommand,
  keysExportCommand,
  keysPasswordCommand,
];

function onePositional(positionals: readonly string[], what: string, usage: string): string {
  if (positionals.length !== 1) throw new CliError(`expected one ${what} (usage: ${usage})`);
  return positionals[0]!;
}

function parseSeedHex(text: string): Uint8Array {
  const hex = text.trim().replace(/^0x/i, "");
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new CliError("--seed-hex must be 64 hex characters (a 32-byte Ed25519 seed)");
  }
  return fromHex(hex);
}

async function readImportFile(file: string): Promise<string> {
  try {
    const info = await stat(file);
    if (!info.isFile() || info.size > MAX_IMPORT_FILE_BYTES) {
      throw new CliError(`${file} is not a key file (not a regular file or larger than 64 KiB)`);
    }
    return await readFile(file, "utf8");
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new CliError("'--seed-hex -' reads the seed from a pipe, not a terminal");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size > 4096) throw new CliError("--seed-hex -: stdin is longer than a seed");
  }
  const buffer = Buffer.concat(chunks);
  const text = buffer.toString("utf8");
  buffer.fill(0);
  for (const chunk of chunks) chunk.fill(0);
  return text;
}
