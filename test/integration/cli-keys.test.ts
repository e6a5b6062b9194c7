import { spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getNetworkParams } from "../../src/consensus/params.js";
import {
  decodeAddress,
  decodeTransaction,
  encodeAddress,
  senderOf,
  type TransferTx,
  TxType,
  toHex,
  transferSigningMessage,
  verifySignature,
} from "../../src/primitives/index.js";
import { tempDir } from "../helpers/temp-dir.js";

/**
 * The real `quarry` binary (dist/, built by `npm run build` / `npm test`) in temp datadirs:
 * key lifecycle, node identity and offline signing, plus the bad-input contract (exit codes,
 * one-line errors, no secrets on any output but `keys export --seed`).
 */

const BIN = join(process.cwd(), "dist", "src", "cli", "bin.js");
const PASSWORD = "integration-pw-1";
const REGTEST = getNetworkParams("regtest");

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Everything any CLI call printed, to check that no secret leaked. */
const transcript: string[] = [];

function quarry(args: string[], env: Record<string, string> = {}, input?: string): Promise<Result> {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("QUARRY_")) base[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...base, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      transcript.push(`${args.join(" ")}\n${stdout}\n${stderr}`);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? "");
  });
}

describe("quarry keys / id / tx sign (real process)", () => {
  let tmp: { path: string; cleanup: () => void };
  let datadir: string;
  let at: string[];
  const pw = { QUARRY_PASSWORD: PASSWORD };
  let alice: { address: string; publicKey: string; path: string };
  let seedHex = "";

  beforeAll(async () => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'npm run build' first`);
    tmp = tempDir("quarry-cli-keys-");
    datadir = join(tmp.path, "a");
    at = ["--network", "regtest", "--datadir", datadir];
    const created = await quarry(["keys", "new", "--light", "--name", "alice", "--json", ...at], pw);
    expect(created.stderr).not.toContain("quarry:");
    expect(created.code).toBe(0);
    alice = JSON.parse(created.stdout) as typeof alice;
  });

  afterAll(() => tmp?.cleanup());

  it("keys new: a regtest address and a 0600 file in <datadir>/keystore", () => {
    expect(alice.address.startsWith(`${REGTEST.addressPrefix}1`)).toBe(true);
    expect(alice.path).toBe(join(datadir, "keystore", "alice.json"));
    const file = JSON.parse(readFileSync(alice.path, "utf8")) as {
      version: number;
      crypto: { kdfparams: { n: number } };
    };
    expect(file.version).toBe(3);
    expect(file.crypto.kdfparams.n).toBe(4096);
  });

  it("keys list and keys show print the name, address and public key", async () => {
    const list = await quarry(["keys", "list", ...at]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`alice\\s+${alice.address}`));
    const show = await quarry(["keys", "show", "alice", "--json", ...at]);
    expect(JSON.parse(show.stdout)).toMatchObject({
      name: "alice",
      address: alice.address,
      publicKey: alice.publicKey,
    });
  });

  it("export (v3) → import in another datadir gives the same address", async () => {
    const exported = await quarry(["keys", "export", "alice", ...at]);
    expect(exported.code).toBe(0);
    const file = join(tmp.path, "alice-export.json");
    writeFileSync(file, exported.stdout);
    const other = ["--network", "regtest", "--datadir", join(tmp.path, "b")];
    const imported = await quarry(
      ["keys", "import", file, "--light", "--name", "copy", "--json", ...other],
      pw,
    );
    expect(imported.stderr).toBe("");
    expect(JSON.parse(imported.stdout)).toMatchObject({ name: "copy", address: alice.address });
  });

  it("export --seed prints the seed with a warning; import --seed-hex - (stdin) restores the key", async () => {
    const exported = await quarry(["keys", "export", "alice", "--seed", ...at], pw);
    expect(exported.code).toBe(0);
    expect(exported.stderr).toContain("warning");
    seedHex = exported.stdout.trim();
    expect(seedHex).toMatch(/^[0-9a-f]{64}$/);
    const other = ["--network", "regtest", "--datadir", join(tmp.path, "c")];
    const imported = await quarry(
      ["keys", "import", "--seed-hex", "-", "--light", "--json", ...other],
      pw,
      `${seedHex}\n`,
    );
    expect(imported.code).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ address: alice.address });
  });

  it("wrong password: exit 2 and exactly 'could not decrypt key with given password'", async () => {
    const r = await quarry(["keys", "export", "alice", "--seed", ...at], { QUARRY_PASSWORD: "wrong" });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("could not decrypt key with given password\n");
  });

  it("keys password re-encrypts: the old password stops working, the new one works", async () => {
    const dir = ["--network", "regtest", "--datadir", join(tmp.path, "pw")];
    expect((await quarry(["keys", "new", "--light", "--name", "k", ...dir], pw)).code).toBe(0);
    const changed = await quarry(["keys", "password", "k", ...dir], {
      ...pw,
      QUARRY_NEW_PASSWORD: "integration-pw-2",
    });
    expect(changed.code).toBe(0);
    const old = await quarry(["keys", "export", "k", "--seed", ...dir], pw);
    expect(old.code).toBe(2);
    const pwFile = join(tmp.path, "new-pw.txt");
    writeFileSync(pwFile, "integration-pw-2\n");
    const fresh = await quarry(["keys", "export", "k", "--seed", "--password-file", pwFile, ...dir]);
    expect(fresh.code).toBe(0);
  });

  it("quarry id: the same peer id on every call; node-key is 0600", async () => {
    const first = await quarry(["id", ...at]);
    const second = await quarry(["id", "--json", ...at]);
    expect(first.code).toBe(0);
    expect(first.stdout.trim()).toMatch(/^12D3KooW[1-9A-HJ-NP-Za-km-z]+$/);
    expect(JSON.parse(second.stdout)).toMatchObject({ peerId: first.stdout.trim(), created: false });
    expect(statSync(join(datadir, "node-key")).mode & 0o777).toBe(0o600);
  });

  it("tx sign: prints a transfer whose hex decodes and whose signature verifies", async () => {
    const to = encodeAddress(REGTEST.addressPrefix, new Uint8Array(20).fill(0xab));
    const args = [
      "tx",
      "sign",
      "--from",
      "alice",
      "--to",
      to,
      "--amount",
      "150000000",
      "--fee",
      "1000",
      "--nonce",
      "7",
    ];
    const r = await quarry([...args, "--json", ...at], pw);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const view = JSON.parse(r.stdout) as Record<string, string | number>;
    const tx = decodeTransaction(Buffer.from(String(view.hex), "hex")) as TransferTx;
    expect(tx.type).toBe(TxType.Transfer);
    expect(tx).toMatchObject({ networkId: REGTEST.networkId, amount: 150000000n, fee: 1000n, nonce: 7n });
    expect(toHex(tx.senderPublicKey)).toBe(alice.publicKey);
    expect(encodeAddress(REGTEST.addressPrefix, senderOf(tx))).toBe(alice.address);
    expect(toHex(tx.recipient)).toBe(toHex(decodeAddress(REGTEST.addressPrefix, to)));
    const { signature, ...unsigned } = tx;
    expect(verifySignature(tx.senderPublicKey, transferSigningMessage(unsigned), signature)).toBe(true);
    expect(view).toMatchObject({ sender: alice.address, recipient: to, amount: "150000000" });
  });

  it.each([
    [["--amount=-1"], "--amount must be a whole number"],
    [["--amount", "1.5"], "--amount must be a whole number"],
    [["--amount", "1e6"], "--amount must be a whole number"],
    [["--amount", "18446744073709551616"], "--amount exceeds 2^64-1"],
    [["--amount", "18446744073709551615", "--fee", "1"], "exceeds 2^64-1"],
    [["--to", "qdv1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"], "--to:"],
  ])("tx sign refuses %j with one line", async (override, message) => {
    const flags: Record<string, string> = {
      "--to": alice.address,
      "--amount": "1",
      "--fee": "0",
      "--nonce": "0",
    };
    const args = ["tx", "sign", "--from", "alice", ...Object.entries(flags).flat(), ...override, ...at];
    const r = await quarry(args, pw);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(message);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("bad files: truncated / non-JSON → exit 1, one line naming the file; tampered ciphertext → exit 2", async () => {
    const dir = join(tmp.path, "bad");
    const flags = ["--network", "regtest", "--datadir", dir];
    expect((await quarry(["keys", "new", "--light", "--name", "good", ...flags], pw)).code).toBe(0);
    const good = readFileSync(join(dir, "keystore", "good.json"), "utf8");
    writeFileSync(join(dir, "keystore", "cut.json"), good.slice(0, 120));
    writeFileSync(join(dir, "keystore", "junk.json"), "not json at all");
    const json = JSON.parse(good) as { crypto: { ciphertext: string } };
    json.crypto.ciphertext = `${json.crypto.ciphertext.startsWith("0") ? "1" : "0"}${json.crypto.ciphertext.slice(1)}`;
    writeFileSync(join(dir, "keystore", "tampered.json"), JSON.stringify(json));
    for (const name of ["cut", "junk"]) {
      const r = await quarry(["keys", "export", name, "--seed", ...flags], pw);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(join(dir, "keystore", `${name}.json`));
      expect(r.stderr).not.toMatch(/\bat \S+:\d+/); // no stack trace
    }
    const tampered = await quarry(["keys", "export", "tampered", "--seed", ...flags], pw);
    expect(tampered.code).toBe(2);
    const list = await quarry(["keys", "list", ...flags]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain("good");
    expect(list.stderr).toContain("cut.json");
  });

  it("refuses: an existing name, an empty password, no password source, a path-like name", async () => {
    const again = await quarry(["keys", "new", "--light", "--name", "alice", ...at], pw);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already exists");
    const empty = await quarry(["keys", "new", "--light", "--name", "e", ...at], { QUARRY_PASSWORD: "" });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain("--allow-empty-password");
    const allowed = await quarry(["keys", "new", "--light", "--name", "e", "--allow-empty-password", ...at], {
      QUARRY_PASSWORD: "",
    });
    expect(allowed.code).toBe(0);
    const none = await quarry(["keys", "new", "--light", "--name", "n", ...at]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("QUARRY_PASSWORD");
    const traversal = await quarry(["keys", "new", "--light", "--name", "../../escape", ...at], pw);
    expect(traversal.code).toBe(1);
    expect(traversal.stderr).toContain("invalid key name");
  });

  it("KEYSTORE_DIR_NOT_WRITABLE: keys new into a read-only (0500) keystore folder: one line, exit 1, folder left 0500", async () => {
    const readOnly = join(tmp.path, "read-only");
    const keystore = join(readOnly, "keystore");
    mkdirSync(keystore, { recursive: true });
    chmodSync(keystore, 0o500);
    const r = await quarry(
      ["keys", "new", "--light", "--name", "k", "--network", "regtest", "--datadir", readOnly],
      pw,
    );
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(keystore);
    expect(lines[0]).toContain("mode 0500");
    expect(statSync(keystore).mode & 0o777).toBe(0o500);
    expect(readdirSync(keystore)).toEqual([]);
  });

  it("no output ever contains the password, and the seed only the export --seed output", () => {
    const all = transcript.join("\n");
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain("integration-pw-2");
    const withSeed = transcript.filter((t) => seedHex !== "" && t.includes(seedHex));
    expect(withSeed.every((t) => t.startsWith("keys export alice --seed"))).toBe(true);
  });
});
