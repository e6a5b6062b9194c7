import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Prefix } from "../../src/store/index.js";
import { openChain } from "../helpers/open-chain.js";
import { offlineInfo, QUARRY_BIN, quarryOk, runQuarry } from "../helpers/process-node.js";
import {
  buildStoredChain,
  copyDatadir,
  deleteKeyRanges,
  garbleBlock,
  type StoredChain,
} from "../helpers/stored-chain.js";
import { tempDir } from "../helpers/temp-dir.js";

const BLOCKS = 1200;
const at = (datadir: string) => ["--network", "regtest", "--datadir", datadir];

interface ReindexJson {
  blocksRead: number;
  imported: number;
  unreadable: number;
  unconnected: number;
  rejected: number;
  tip: { hash: string; height: number };
  damagedDir?: string;
  seconds: number;
  blocksPerSecond: number;
}

async function reindex(datadir: string): Promise<ReindexJson> {
  const r = await quarryOk(["reindex", ...at(datadir), "--json"], { timeoutMs: 120_000 });
  return JSON.parse(r.stdout) as ReindexJson;
}

async function expectRepaired(datadir: string, before: StoredChain): Promise<void> {
  const info = await offlineInfo(datadir);
  expect({ tip: info.tip, height: info.height }).toEqual({ tip: before.tip, height: before.height });
  const verify = await quarryOk(["verify", "--full", ...at(datadir), "--json"], { timeoutMs: 120_000 });
  expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, height: before.height, tip: before.tip });
  const opened = await openChain(datadir);
  try {
    expect(Buffer.from(opened.chain.tip.header.stateRoot).toString("hex")).toBe(before.stateRoot);
  } finally {
    await opened.close();
  }
}

describe("quarry reindex (real LevelDB stores, real processes)", () => {
  const tmp = tempDir("quarry-reindex-");
  const fixture = join(tmp.path, "fixture");
  let stored: StoredChain;
  let n = 0;
  const copy = () => {
    const dir = join(tmp.path, `d${n++}`);
    copyDatadir(fixture, dir);
    return dir;
  };

  beforeAll(async () => {
    stored = await buildStoredChain(fixture, BLOCKS);
  }, 120_000);
  afterAll(() => tmp.cleanup());

  it("STORE_STATE_MISMATCH repaired: accounts and state tree deleted, reindex yields the same tip and state root", async () => {
    const dir = copy();
    await deleteKeyRanges(dir, [Prefix.account, Prefix.treeNode]);
    const damaged = await runQuarry(["chain", "info", ...at(dir)]);
    expect(damaged.code).not.toBe(0);

    const report = await reindex(dir);
    expect(report).toMatchObject({
      blocksRead: BLOCKS + 5 + 1,
      imported: BLOCKS + 5,
      unreadable: 0,
      unconnected: 0,
      rejected: 0,
      tip: { hash: stored.tip, height: stored.height },
    });
    expect(report.damagedDir && existsSync(report.damagedDir)).toBe(true);
    await expectRepaired(dir, stored);
    const opened = await openChain(dir);
    try {
      const side = opened.chain.getEntry(stored.sideBranch[4]!);
      expect(side && !opened.chain.isOnMainChain(side)).toBe(true);
    } finally {
      await opened.close();
    }
  }, 180_000);

  it("STORE_CORRUPT repaired: index, height index, tip, undo, tx index and state deleted; blocks found by their key range", async () => {
    const dir = copy();
    await deleteKeyRanges(dir, [
      Prefix.index,
      Prefix.height,
      Prefix.tip,
      Prefix.undo,
      Prefix.txIndex,
      Prefix.account,
      Prefix.treeNode,
    ]);
    const report = await reindex(dir);
    expect(report).toMatchObject({ imported: BLOCKS + 5, unreadable: 0, rejected: 0 });
    await expectRepaired(dir, stored);
  }, 180_000);

  it("an unreadable block body is counted; its descendants are unconnected; the main chain is rebuilt", async () => {
    const dir = copy();
    await garbleBlock(dir, stored.sideBranch[2]!);
    const report = await reindex(dir);
    expect(report).toMatchObject({ unreadable: 1, unconnected: 2, imported: BLOCKS + 2 });
    await expectRepaired(dir, stored);
  }, 180_000);

  it("SIGKILL during the import leaves the old store in place; a re-run completes", async () => {
    const dir = copy();
    const child = spawn(process.execPath, [QUARRY_BIN, "reindex", ...at(dir)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_c, s) => resolve(s)));
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stderr! }).on("line", (line) => {
        if (line.startsWith("reindex: read ")) resolve();
      });
      child.on("exit", () => reject(new Error("reindex exited before it started importing")));
    });
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    // Killed mid-import: the store in place is the old one, untouched; nothing is marked complete.
    expect(existsSync(join(dir, "chain.reindex-done"))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith("chain.damaged-"))).toEqual([]);
    expect(await offlineInfo(dir)).toMatchObject({ tip: stored.tip, height: stored.height });

    const report = await reindex(dir);
    expect(report.imported).toBe(BLOCKS + 5);
    expect(existsSync(join(dir, "chain.reindex"))).toBe(false);
    await expectRepaired(dir, stored);
  }, 180_000);

  it("a completed store killed before its swap (chain moved aside, marker present) is swapped in by a re-run", async () => {
    const dir = copy();
    const first = await reindex(dir);
    // The state right after `rename(chain, chain.damaged-*)`, before `rename(chain.reindex, chain)`.
    renameSync(join(dir, "chain"), join(dir, "chain.reindex"));
    writeFileSync(join(dir, "chain.reindex-done"), JSON.stringify({ ...first, damagedDir: undefined }));
    const again = await reindex(dir);
    expect(again.tip).toEqual(first.tip);
    expect(again.damagedDir).toBeUndefined();
    expect(existsSync(join(dir, "chain.reindex-done"))).toBe(false);
    await expectRepaired(dir, stored);
  }, 180_000);

  it("REINDEX_NO_STORE: a datadir without a chain store gets a one-line error", async () => {
    const dir = join(tmp.path, "empty");
    mkdirSync(dir);
    const r = await runQuarry(["reindex", ...at(dir)]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("REINDEX_NO_STORE");
  });
});
