import { readFile, stat } from "node:fs/promises";
import { KeystoreError, KeystoreErrorCode } from "./errors.js";

/**
 * Where a password comes from, first match wins:
 *   1. `--password-file PATH` (docker secrets: /run/secrets/NAME); one trailing newline is dropped
 *   2. the environment variable (QUARRY_PASSWORD, or QUARRY_NEW_PASSWORD for a new password)
 *   3. an interactive prompt on the terminal, with no echo (twice for a new password)
 * Passwords are returned as UTF-8 bytes for the caller to wipe. JS strings cannot be wiped; we
 * keep them as short-lived as we can.
 */

export interface PasswordRequest {
  env: NodeJS.ProcessEnv;
  passwordFile?: string | undefined;
  envVar: string;
  /** prompt text, e.g. "Password for key 'miner': " */
  prompt: string;
  /** ask twice and compare (for a new password) */
  confirm: boolean;
  allowEmpty: boolean;
  /** the flag that names the password file, for messages */
  fileFlag?: string;
}

export interface PasswordDeps {
  readFile(path: string): Promise<Uint8Array>;
  /** Reads a line without echo; null when no terminal is attached. */
  promptHidden: ((question: string) => Promise<string>) | null;
}

const MAX_PASSWORD_FILE_BYTES = 64 * 1024;

export const defaultPasswordDeps = (): PasswordDeps => ({
  readFile: async (path) => {
    const info = await stat(path);
    if (!info.isFile() || info.size > MAX_PASSWORD_FILE_BYTES) {
      throw new Error("not a regular file of at most 64 KiB");
    }
    return new Uint8Array(await readFile(path));
  },
  promptHidden: process.stdin.isTTY && process.stderr.isTTY ? ttyPromptHidden : null,
});

/** Resolves a password from the sources above; refuses an empty one unless allowed. */
export async function readPassword(req: PasswordRequest, deps: PasswordDeps): Promise<Uint8Array> {
  const password = await fromSources(req, deps);
  if (password.length === 0 && !req.allowEmpty) {
    throw new KeystoreError(
      { code: KeystoreErrorCode.EMPTY_PASSWORD },
      "empty password refused; pass --allow-empty-password if you really want no password",
    );
  }
  return password;
}

async function fromSources(req: PasswordRequest, deps: PasswordDeps): Promise<Uint8Array> {
  if (req.passwordFile !== undefined) {
    let bytes: Uint8Array;
    try {
      bytes = await deps.readFile(req.passwordFile);
    } catch (err) {
      const reason =
        (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : "unreadable");
      throw new KeystoreError(
        { code: KeystoreErrorCode.PASSWORD_FILE_UNREADABLE, file: req.passwordFile },
        `cannot read password file ${req.passwordFile} (${reason})`,
      );
    }
    return stripOneNewline(bytes);
  }
  const fromEnv = req.env[req.envVar];
  if (fromEnv !== undefined) return new Uint8Array(Buffer.from(fromEnv, "utf8"));
  if (!deps.promptHidden) {
    throw new KeystoreError(
      { code: KeystoreErrorCode.NO_PASSWORD },
      `no password: use ${req.fileFlag ?? "--password-file"} FILE, set ${req.envVar}, or run in a terminal`,
    );
  }
  const first = await deps.promptHidden(req.prompt);
  if (req.confirm) {
    const second = await deps.promptHidden("Repeat password: ");
    if (first !== second) {
      throw new KeystoreError(
        { code: KeystoreErrorCode.PASSWORD_MISMATCH },
        "the two passwords differ; nothing was changed",
      );
    }
  }
  return new Uint8Array(Buffer.from(first, "utf8"));
}

/** Drops one trailing "\n" or "\r\n" (editors and `echo` add one); the rest is the password. */
function stripOneNewline(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0a) end--;
  if (end > 0 && end < bytes.length && bytes[end - 1] === 0x0d) end--;
  if (end === bytes.length) return bytes;
  const out = bytes.slice(0, end);
  bytes.fill(0);
  return out;
}

/** Reads one line from the terminal in raw mode, echoing nothing; Ctrl-C or Ctrl-D aborts. */
export function ttyPromptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let chars: string[] = [];
    const finish = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") {
          finish();
          const line = chars.join("");
          chars = [];
          resolve(line);
          return;
        }
        if (ch === "\u0003" || (ch === "\u0004" && chars.length === 0)) {
          finish();
          reject(new KeystoreError({ code: KeystoreErrorCode.NO_PASSWORD }, "password prompt aborted"));
          return;
        }
        if (ch === "\u007f" || ch === "\b") chars.pop();
        else if (ch >= " ") chars.push(ch);
      }
    };
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on("data", onData);
  });
}
