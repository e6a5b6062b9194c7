import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  watch,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testAddress } from "../helpers/chain-builder.js";
import { offlineInfo, ProcessNode, QUARRY_BIN, quarryOk, runQuarry } from "../helpers/process-node.js";
import { buildStoredChain, copyDatadir, type StoredChain } from "../helpers/stored-chain.js";
import { tempDir } from "../helpers/temp-dir.js";
import { waitFor } from "../helpers/wait.js";

const at = (datadir: string) => ["--network", "regtest", "--datadir", datadir];

interface BackupJson {
  dir: string;
  network: string;
  tip: { hash: string; height: number };
  files: number;
  bytes: number;
  seconds: number;
  via: string;
}

async function backup(datadir: string, target: string): Promise<BackupJson> {
  const r = await quarryOk(["backup", target, ...at(datadir), "--json"], { timeoutMs: 120_000 });
  return JSON.parse(r.stdout) as BackupJson;
}

/** A restore that must fail: one stderr line with `code`, exit 1, and no store written. */
async function expectRefused(backupDir: string, datadir: string, code: string, network = "regtest") {
  const r = await runQuarry(["restore", backupDir, "--network", network, "--datadir", datadir]);
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).toContain(`[${code}]`);
  if (code !== "BACKUP_TARGET_NOT_EMPTY") expect(existsSync(join(datadir, "chain"))).toBe(false);
  return r;
}

/** The largest file under a backup's chain/ (a table or log file holding blocks). */
function largestChainFile(dir: string): string {
  const files = readdirSync(join(dir, "chain")).map((f) => join(dir, "chain", f));
  return files.sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
}

describe("quarry backup / restore (real processes, real LevelDB)", () => {
  const tmp = tempDir("quarry-backup-");
  const fixture = join(tmp.path, "fixture");
  let stored: StoredChain;
  let n = 0;
  const fresh = (name: string) => join(tmp.path, `${name}-${n++}`);

  beforeAll(async () => {
    stored = await buildStoredChain(fixture, 1200);
  }, 120_000);
  afterAll(() => tmp.cleanup());

  it("a backup taken while the node mines restores to a node that passes verify --full and resumes at the backed-up tip", async () => {
    const datadir = fresh("mining");
    await quarryOk(["keys", "new", "--light", "--name", "miner", "--allow-empty-password", ...at(datadir)], {
      env: { QUARRY_PASSWORD: "" },
    });
    const node = await ProcessNode.start({ datadir, minerAddress: testAddress(1) });
    const target = fresh("backup");
    let report: BackupJson;
    try {
      await waitFor(async () => (await node.status()).height >= 30, 60_000, "the node to mine 30 blocks");
      report = await backup(datadir, target);
      expect(report.via).toBe("running node");
      expect(report.tip.height).toBeGreaterThanOrEqual(30);
      // The node kept mining through the backup: its store moved on while the copy stayed put.
      await waitFor(
        async () => (await node.status()).height > report.tip.height,
        60_000,
        "the node to mine past the backed-up tip",
      );
    } finally {
      await node.stop();
    }

    const restored = fresh("restored");
    await quarryOk(["restore", target, ...at(restored)]);
    const verify = await quarryOk(["verify", "--full", ...at(restored), "--json"], { timeoutMs: 60_000 });
    expect(JSON.parse(verify.stdout)).toMatchObject({
      ok: true,
      height: report.tip.height,
      tip: report.tip.hash,
    });
    expect(existsSync(join(restored, "keystore", "miner.json"))).toBe(true);
    expect(readFileSync(join(restored, "node-key"))).toEqual(readFileSync(join(datadir, "node-key")));
    expect(readFileSync(join(restored, "datadir.json"), "utf8")).toBe(
      readFileSync(join(datadir, "datadir.json"), "utf8"),
    );

    const resumed = await ProcessNode.start({ datadir: restored });
    try {
      const status = await resumed.status();
      expect({ height: status.height, tip: status.tip }).toEqual({
        height: report.tip.height,
        tip: report.tip.hash,
      });
      expect(resumed.peerId).toBe(node.peerId);
    } finally {
      await resumed.stop();
    }
  }, 240_000);

  it("the backup method needs the API token", async () => {
    const datadir = fresh("token");
    copyDatadir(fixture, datadir);
    const node = await ProcessNode.start({ datadir });
    try {
      const res = await fetch(`${node.apiUrl}/rpc`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "backup", params: { dir: fresh("nope") } }),
      });
      const body = (await res.json()) as { error?: { code: number } };
      expect(body.error?.code).toBe(-32001);
    } finally {
      await node.stop();
    }
  }, 60_000);

  it("BACKUP_CHECKSUM_MISMATCH: a backup with a changed, missing or extra file is refused and nothing is restored", async () => {
    const target = fresh("backup");
    const report = await backup(fixture, target);
    expect(report).toMatchObject({
      via: "stopped datadir",
      tip: { hash: stored.tip, height: stored.height },
    });

    const file = largestChainFile(target);
    const original = readFileSync(file);
    const changed = Buffer.from(original);
    changed[Math.floor(changed.length / 2)]! ^= 0x01;
    writeFileSync(file, changed);
    await expectRefused(target, fresh("restored"), "BACKUP_CHECKSUM_MISMATCH");

    writeFileSync(file, original);
    writeFileSync(join(target, "chain", "extra"), "x");
    await expectRefused(target, fresh("restored"), "BACKUP_CHECKSUM_MISMATCH");
    rmSync(join(target, "chain", "extra"));

    rmSync(join(target, "chain", "CURRENT"));
    await expectRefused(target, fresh("restored"), "BACKUP_CHECKSUM_MISMATCH");
  }, 120_000);

  it("BACKUP_NETWORK_MISMATCH and BACKUP_TARGET_NOT_EMPTY: another network's restore and a datadir holding a store are refused", async () => {
    const target = fresh("backup");
    await backup(fixture, target);
    await expectRefused(target, fresh("restored"), "BACKUP_NETWORK_MISMATCH", "devnet");
    const holding = fresh("holding");
    copyDatadir(fixture, holding);
    await expectRefused(target, holding, "BACKUP_TARGET_NOT_EMPTY");
    // The one that verifies restores, to a chain at the backed-up tip; the network comes from the
    // manifest when none is named.
    const restored = fresh("restored");
    await quarryOk(["restore", target, "--datadir", restored]);
    expect(await offlineInfo(restored)).toMatchObject({ tip: stored.tip, height: stored.height });
  }, 120_000);

  it("BACKUP_NO_MANIFEST: the node SIGKILLed in the middle of its backup leaves a copy restore refuses, and restarts at its tip", async () => {
    const datadir = fresh("node");
    copyDatadir(fixture, datadir);
    const node = await ProcessNode.start({ datadir });
    const target = fresh("backup");
    mkdirSync(target);
    // Killed as soon as the node starts writing the copy (the chain database appears in the target).
    const watcher = watch(target, () => process.kill(node.pid, "SIGKILL"));
    let cli: Awaited<ReturnType<typeof runQuarry>>;
    try {
      cli = await runQuarry(["backup", target, ...at(datadir)], { timeoutMs: 60_000 });
    } finally {
      watcher.close();
    }
    expect(await node.stop()).toBe(-1);
    expect(cli.code).not.toBe(0);
    expect(existsSync(join(target, "manifest.json"))).toBe(false);
    await expectRefused(target, fresh("restored"), "BACKUP_NO_MANIFEST");
    const restarted = await ProcessNode.start({ datadir });
    try {
      const status = await restarted.status();
      expect({ tip: status.tip, height: status.height }).toEqual({ tip: stored.tip, height: stored.height });
    } finally {
      await restarted.stop();
    }
  }, 120_000);

  it("BACKUP_NO_MANIFEST: SIGKILL in the middle of a backup leaves a copy that restore refuses; a new backup works", async () => {
    const target = fresh("backup");
    mkdirSync(target);
    const child = spawn(process.execPath, [QUARRY_BIN, "backup", target, ...at(fixture)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_c, s) => resolve(s)));
    // Killed as soon as the copy starts writing into the target (the chain database appears).
    const watcher = watch(target, () => child.kill("SIGKILL"));
    try {
      expect(await exited).toBe("SIGKILL");
    } finally {
      watcher.close();
    }
    expect(existsSync(join(target, "manifest.json"))).toBe(false);
    await expectRefused(target, fresh("restored"), "BACKUP_NO_MANIFEST");
    const again = await runQuarry(["backup", target, ...at(fixture)]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("BACKUP_TARGET_NOT_EMPTY");

    const second = fresh("backup");
    await backup(fixture, second);
    const restored = fresh("restored");
    await quarryOk(["restore", second, ...at(restored)]);
    expect(await offlineInfo(restored)).toMatchObject({ tip: stored.tip, height: stored.height });
  }, 120_000);
});
