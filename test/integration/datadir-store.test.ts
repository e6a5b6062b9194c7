import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { getNetworkParams } from "../../src/consensus/params.js";
import { addressHashOf, encodeAddress } from "../../src/primitives/index.js";
import { genesisHashHex } from "../../src/store/index.js";
import {
  type CliResult,
  mineOffline,
  ProcessNodeScope,
  QUARRY_BIN,
  quarryOk,
  runQuarry,
} from "../helpers/process-node.js";

/**
 * A damaged chain store is never mistaken for a new one: real `quarry` processes on real LevelDB
 * directories, damaged the way a bad restore or a stray `rm` damages them.
 */

const REGTEST = getNetworkParams("regtest");
const RECIPIENT = encodeAddress(REGTEST.addressPrefix, addressHashOf(randomBytes(32)));
const BLOCKS = 40;

/** LevelDB table files (`*.ldb`) of a store, name -> size. */
function tableFiles(chainDir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const name of readdirSync(chainDir)) {
    if (name.endsWith(".ldb")) out.set(name, statSync(join(chainDir, name)).size);
  }
  return out;
}

function marker(datadir: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(datadir, "datadir.json"), "utf8")) as Record<string, unknown>;
}

/** The one stderr line of a refused command. */
function oneLine(r: CliResult): string {
  const lines = r.stderr.trim().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  return lines[0]!;
}

function startArgs(datadir: string): string[] {
  return ["start", "--datadir", datadir, "--p2p-host", "127.0.0.1", "--p2p-port", "0", "--api-port", "0"];
}

describe("a missing or damaged chain store is refused, never recreated", () => {
  const scope = new ProcessNodeScope();

  beforeAll(() => {
    if (!existsSync(QUARRY_BIN)) throw new Error(`${QUARRY_BIN} is missing: run 'npm run build' first`);
  });
  afterEach(() => scope.cleanup());

  /** A regtest datadir with BLOCKS blocks whose data has reached table files. */
  async function minedDatadir(): Promise<string> {
    const datadir = join(scope.tempDir("quarry-datadir-").path, "node");
    await mineOffline(datadir, BLOCKS, RECIPIENT);
    // Opening the store again writes LevelDB's log into a table file (no --network: datadir.json).
    await quarryOk(["chain", "info", "--datadir", datadir]);
    const tables = tableFiles(join(datadir, "chain"));
    expect(
      [...tables.values()].some((size) => size > 10_000),
      JSON.stringify([...tables]),
    ).toBe(true);
    return datadir;
  }

  it("DATADIR_STORE_MISSING: verify --full and start refuse a store whose CURRENT is gone; its table files stay", async () => {
    const datadir = await minedDatadir();
    const chainDir = join(datadir, "chain");
    const current = readFileSync(join(chainDir, "CURRENT"));
    const tablesBefore = tableFiles(chainDir);
    rmSync(join(chainDir, "CURRENT"));

    const verify = await runQuarry(["verify", "--full", "--datadir", datadir]);
    expect(verify.code).not.toBe(0);
    expect(verify.stdout).not.toContain("ok:");
    const line = oneLine(verify);
    expect(line).toContain(`chain store missing at ${chainDir}`);
    expect(line).toMatch(/datadir\.json says one was created at \d{4}-/);
    expect(line).toContain("[DATADIR_STORE_MISSING]");

    const start = await runQuarry(startArgs(datadir));
    expect(start.code).not.toBe(0);
    expect(oneLine(start)).toContain("[DATADIR_STORE_MISSING]");

    expect(tableFiles(chainDir)).toEqual(tablesBefore);
    expect(existsSync(join(chainDir, "CURRENT"))).toBe(false);
    // Nothing was lost: with CURRENT restored the whole chain replays again.
    writeFileSync(join(chainDir, "CURRENT"), current);
    const replay = await quarryOk(["verify", "--full", "--datadir", datadir]);
    expect(replay.stdout).toContain(`verified up to height ${BLOCKS}`);
  });

  it("DATADIR_STORE_UNREADABLE: verify --full and start refuse a store whose MANIFEST is gone", async () => {
    const datadir = await minedDatadir();
    const chainDir = join(datadir, "chain");
    for (const name of readdirSync(chainDir)) if (name.startsWith("MANIFEST-")) rmSync(join(chainDir, name));
    const tablesBefore = tableFiles(chainDir);

    const verify = await runQuarry(["verify", "--full", "--datadir", datadir]);
    expect(verify.code).not.toBe(0);
    expect(verify.stdout).not.toContain("ok:");
    const line = oneLine(verify);
    expect(line).toContain(`chain store at ${chainDir} is unreadable`);
    expect(line).toContain("MANIFEST");
    expect(line).toContain("[DATADIR_STORE_UNREADABLE]");

    const start = await runQuarry(startArgs(datadir));
    expect(start.code).not.toBe(0);
    expect(oneLine(start)).toContain("[DATADIR_STORE_UNREADABLE]");
    expect(tableFiles(chainDir)).toEqual(tablesBefore);
  });

  it("DATADIR_STORE_MISSING without datadir.json: a damaged unmarked store is refused, not adopted", async () => {
    const datadir = await minedDatadir();
    rmSync(join(datadir, "datadir.json"));
    rmSync(join(datadir, "chain", "CURRENT"));
    const start = await runQuarry([...startArgs(datadir), "--network", "regtest"]);
    expect(start.code).not.toBe(0);
    const line = oneLine(start);
    expect(line).toContain("the datadir has no datadir.json");
    expect(line).toContain("[DATADIR_STORE_MISSING]");
    expect(existsSync(join(datadir, "datadir.json"))).toBe(false);
  });

  it("a new datadir: start creates the chain store and datadir.json, and starts again on them", async () => {
    const datadir = scope.tempDir("quarry-datadir-new-").path; // exists, empty
    const first = await scope.start({ datadir });
    expect((await first.status()).height).toBe(0);
    await first.stop();
    expect(marker(datadir)).toMatchObject({
      version: 1,
      network: "regtest",
      genesisHash: genesisHashHex("regtest"),
      adopted: false,
    });
    expect(first.logLines().some((l) => l.msg === "created a new datadir and chain store")).toBe(true);
    const second = await scope.start({ datadir });
    expect((await second.status()).height).toBe(0);
    expect(second.logLines().some((l) => l.msg === "created a new datadir and chain store")).toBe(false);
  });

  it("adopts a healthy chain store without datadir.json (a datadir from before the marker)", async () => {
    const datadir = await minedDatadir();
    rmSync(join(datadir, "datadir.json"));
    const node = await scope.start({ datadir });
    expect((await node.status()).height).toBe(BLOCKS);
    expect(node.logLines().some((l) => l.msg?.startsWith("adopted an existing chain store"))).toBe(true);
    expect(marker(datadir)).toMatchObject({ network: "regtest", adopted: true });
  });

  it("DATADIR_NOT_INITIALISED: verify of a datadir without a chain store creates nothing", async () => {
    const datadir = join(scope.tempDir("quarry-datadir-none-").path, "none");
    const r = await runQuarry(["verify", "--full", "--network", "regtest", "--datadir", datadir]);
    expect(r.code).not.toBe(0);
    expect(oneLine(r)).toContain("[DATADIR_NOT_INITIALISED]");
    expect(existsSync(datadir)).toBe(false);
  });

  it("init creates a datadir for a network once; a second init refuses (DATADIR_EXISTS) and changes nothing", async () => {
    const datadir = join(scope.tempDir("quarry-datadir-init-").path, "node");
    const created = await quarryOk(["init", "--network", "regtest", "--datadir", datadir, "--json"]);
    expect(JSON.parse(created.stdout)).toMatchObject({
      network: "regtest",
      genesisHash: genesisHashHex("regtest"),
    });
    const before = readFileSync(join(datadir, "datadir.json"), "utf8");
    const again = await runQuarry(["init", "--network", "regtest", "--datadir", datadir]);
    expect(again.code).not.toBe(0);
    expect(oneLine(again)).toContain("[DATADIR_EXISTS]");
    expect(readFileSync(join(datadir, "datadir.json"), "utf8")).toBe(before);
    // the new store is a real one: verify (network from datadir.json) replays its genesis
    expect((await quarryOk(["verify", "--full", "--datadir", datadir])).stdout).toContain("height 0");
  });
});
