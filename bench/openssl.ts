import { execFile } from "node:child_process";
import { promisify } from "node:util";

/** Machine limits measured with the system's `openssl speed` (one core); `undefined` without openssl. */

async function speed(args: string[]): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)("openssl", ["speed", "-seconds", "2", ...args], {
      timeout: 30_000,
    });
    return stdout;
  } catch {
    return undefined;
  }
}

/**
 * The SHA-NI ceiling in header hashes/s for one core: OpenSSL's SHA-256 throughput on 16 KiB
 * buffers ÷ 64 bytes per compression ÷ 2 compressions per nonce (with the midstate, a nonce costs
 * one compression of the header's second block and one for the second SHA-256).
 */
export async function opensslHeaderHashesPerSecond(): Promise<number | undefined> {
  const stdout = await speed(["-evp", "sha256", "-bytes", "16384"]);
  // Last line: "sha256   1765325.43k" — thousands of bytes per second for the 16384-byte size.
  const match = stdout === undefined ? null : /^sha256\s+([\d.]+)k\s*$/m.exec(stdout);
  return match ? (Number(match[1]) * 1000) / 64 / 2 : undefined;
}

/** `openssl speed ed25519`: Ed25519 verifies per second on one core. */
export async function opensslEd25519VerifiesPerSecond(): Promise<number | undefined> {
  const stdout = await speed(["ed25519"]);
  // " 253 bits EdDSA (Ed25519)   0.0000s   0.0001s  26189.7   9430.8" — sign/s, then verify/s.
  const match =
    stdout === undefined ? null : /\(Ed25519\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)\s*$/m.exec(stdout);
  return match ? Number(match[2]) : undefined;
}
