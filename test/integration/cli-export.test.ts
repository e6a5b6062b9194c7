import { createHash } from "node:crypto";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiExportSource } from "../../src/cli/export-api-source.js";
import { EXPORT_COLUMNS, MaintenanceErrorCode } from "../../src/maintenance/index.js";
import { ChainBuilder, testKey } from "../helpers/chain-builder.js";
import { Cluster, feedBlocks } from "../helpers/multinode-cluster.js";
import { type CliResult, ProcessNodeScope, runQuarry } from "../helpers/process-node.js";
import { buildStoredChain, type StoredChain } from "../helpers/stored-chain.js";

const HEIGHT = 60;

type BlockRow = Record<(typeof EXPORT_COLUMNS.blocks)[number], string | number | null>;

const sha256 = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");
const jsonl = <T>(text: string): T[] =>
  text
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as T);

/** A CLI mistake: one line on stderr, starting "quarry: ", nothing on stdout, the exit code given. */
function expectOneLineError(r: CliResult, code: number, mentions: string): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stdout).toBe("");
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^quarry: /);
  expect(lines[0]).toContain(mentions);
}

/**
 * `quarry export` as an operator runs it: real processes (dist/), a real regtest datadir (LevelDB,
 * transfers, a side branch), a stopped node's store and a running node's API.
 */
describe("quarry export", () => {
  const scope = new ProcessNodeScope();
  let datadir: string;
  let out: string;
  let stored: StoredChain;
  const exportArgs = (...args: string[]) => ["export", "--network", "regtest", "--datadir", datadir, ...args];

  beforeAll(async () => {
    const dir = scope.tempDir("quarry-export-");
    datadir = join(dir.path, "node");
    out = join(dir.path, "out");
    stored = await buildStoredChain(datadir, HEIGHT);
  }, 120_000);

  afterAll(() => scope.cleanup());

  it("blocks as JSONL: one row per main-chain height, linked by prevHash, ending at the stored tip; sidecar verifies", async () => {
    const file = `${out}-blocks.jsonl`;
    const r = await runQuarry(exportArgs("--what", "blocks", "--format", "jsonl", "--out", file));
    expect(r.code, r.stderr).toBe(0);
    const rows = jsonl<BlockRow>(readFileSync(file, "utf8"));
    expect(rows.map((b) => b.height)).toEqual(Array.from({ length: stored.height + 1 }, (_, i) => i));
    for (const row of rows) expect(Object.keys(row)).toEqual(EXPORT_COLUMNS.blocks);
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.prevHash).toBe(rows[i - 1]!.hash);
    expect(rows.at(-1)!.hash).toBe(stored.tip);
    expect(rows.at(-1)!.stateRoot).toBe(stored.stateRoot);
    // the side branch is not exported
    for (const row of rows) expect(stored.sideBranch).not.toContain(row.hash);
    const digest = sha256(readFileSync(file));
    expect(readFileSync(`${file}.sha256`, "utf8")).toBe(`${digest}  out-blocks.jsonl\n`);
    expect(r.stderr).toContain(`sha256 ${digest}`);
    const ok = await runQuarry(["export", "--verify", file]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(`${file}.partial`)).toBe(false);
  });

  it("txs as CSV over a range: a header row, every tx of heights 5-15 in block order, coinbase first", async () => {
    const blocks = jsonl<BlockRow>((await runQuarry(exportArgs("--from", "5", "--to", "15"))).stdout);
    expect(blocks.map((b) => b.height)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    const file = `${out}-txs.csv`;
    const r = await runQuarry(
      exportArgs("--what", "txs", "--format", "csv", "--from", "5", "--to", "15", "--out", file),
    );
    expect(r.code, r.stderr).toBe(0);
    const lines = readFileSync(file, "utf8").trimEnd().split("\n");
    expect(lines[0]).toBe(EXPORT_COLUMNS.txs.join(","));
    const rows = lines
      .slice(1)
      .map((l) => Object.fromEntries(l.split(",").map((v, i) => [EXPORT_COLUMNS.txs[i], v])));
    expect(rows.length).toBe(blocks.reduce((n, b) => n + Number(b.txCount), 0));
    expect(rows.length).toBeGreaterThan(blocks.length); // the blocks carry transfers
    for (const row of rows) {
      expect(Number(row.height)).toBeGreaterThanOrEqual(5);
      expect(Number(row.height)).toBeLessThanOrEqual(15);
      if (row.index === "0") {
        expect(row.type).toBe("coinbase");
        expect(row.sender).toBe("");
      } else {
        expect(row.type).toBe("transfer");
        expect(row.sender).toMatch(/^qrt1/);
        expect(BigInt(row.fee!)).toBeGreaterThan(0n);
      }
    }
    // fees per block in the blocks export equal the sum of its transfers' fees
    const fees = new Map<number, bigint>();
    for (const row of rows)
      if (row.type === "transfer")
        fees.set(Number(row.height), (fees.get(Number(row.height)) ?? 0n) + BigInt(row.fee!));
    for (const b of blocks) expect(BigInt(b.fees!)).toBe(fees.get(Number(b.height)) ?? 0n);
    expect((await runQuarry(["export", "--verify", file])).code).toBe(0);
  });

  it("accounts: the state at the tip; the balances add up to the subsidies (coinbases minus the fees they collected)", async () => {
    const accounts = await runQuarry(exportArgs("--what", "accounts"));
    expect(accounts.code, accounts.stderr).toBe(0);
    const rows = jsonl<Record<string, string | number>>(accounts.stdout);
    expect(rows.length).toBeGreaterThan(10);
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(EXPORT_COLUMNS.accounts);
      expect(row.height).toBe(stored.height);
      expect(row.tipHash).toBe(stored.tip);
    }
    const blocks = jsonl<BlockRow>((await runQuarry(exportArgs())).stdout);
    const minted = blocks.slice(1).reduce((sum, b) => sum + BigInt(b.coinbaseAmount!), 0n);
    const fees = blocks.reduce((sum, b) => sum + BigInt(b.fees!), 0n);
    const held = rows.reduce((sum, a) => sum + BigInt(a.balance!), 0n);
    // coinbases pay subsidy + fees; the fees left the senders: what accounts hold is what was minted
    expect(fees).toBeGreaterThan(0n);
    expect(held).toBe(minted - fees);
  });

  it("stdout and --out carry the same bytes; the checksum of a stdout export is on stderr", async () => {
    const file = `${out}-same.csv`;
    const toFile = await runQuarry(exportArgs("--format", "csv", "--to", "20", "--out", file));
    const toStdout = await runQuarry(exportArgs("--format", "csv", "--to", "20"));
    expect(toFile.code).toBe(0);
    expect(toStdout.code).toBe(0);
    expect(toStdout.stdout).toBe(readFileSync(file, "utf8"));
    expect(toStdout.stderr).toContain(`sha256 ${sha256(toStdout.stdout)}`);
  });

  it("--verify: a flipped byte fails with exit 4 and one line; a missing sidecar is exit 1", async () => {
    const file = `${out}-flip.jsonl`;
    expect((await runQuarry(exportArgs("--to", "10", "--out", file))).code).toBe(0);
    const bytes = readFileSync(file);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = bytes[at]! ^ 0x01;
    writeFileSync(file, bytes);
    expectOneLineError(await runQuarry(["export", "--verify", file]), 4, "does not match");
    const bare = `${out}-bare.jsonl`;
    copyFileSync(file, bare);
    expectOneLineError(await runQuarry(["export", "--verify", bare]), 1, "no checksum file");
    expectOneLineError(await runQuarry(["export", "--verify", `${out}-nothing`]), 1, "no file");
  });

  it("bad arguments: one line saying what to do, a non-zero exit, no output file", async () => {
    const cases: [string[], string][] = [
      [["--from", "10", "--to", "5"], "--from (10) is above --to (5)"],
      [["--format", "xml"], "--format must be one of jsonl, csv"],
      [["--what", "balances"], "--what must be one of blocks, txs, accounts"],
      [["--to", "9999"], `above the tip (height ${HEIGHT}); give --to ${HEIGHT} or less`],
      [["--from", "9999"], "above the tip"],
      [["--from=-1"], "--from must be a block height"],
      [["--to", "1.5"], "--to must be a block height"],
      [["--what", "accounts", "--to", "3"], "drop --from and --to"],
      [["--bogus"], "Unknown option"],
      [["extra"], "unexpected argument 'extra'"],
      [["--verify", "x", "--to", "3"], "--verify takes no other option"],
    ];
    for (const [args, mentions] of cases) {
      const file = `${out}-bad-${args.join("")}`;
      const r = await runQuarry(exportArgs(...args, ...(args[0] === "--verify" ? [] : ["--out", file])));
      expectOneLineError(r, 1, mentions);
      expect(existsSync(file)).toBe(false);
      expect(existsSync(`${file}.partial`)).toBe(false);
    }
    expectOneLineError(
      await runQuarry(exportArgs("--out", join(`${out}-no-such-dir`, "x.jsonl"))),
      1,
      "does not exist; create it first",
    );
    const exists = `${out}-blocks.jsonl`;
    expectOneLineError(
      await runQuarry(exportArgs("--out", exists)),
      1,
      "exists; remove it or choose another --out",
    );
    // another export's (or an interrupted one's) FILE.partial is refused and left as it was
    const owned = `${out}-owned.jsonl`;
    writeFileSync(`${owned}.partial`, "another export's rows\n");
    expectOneLineError(await runQuarry(exportArgs("--out", owned)), 1, ".partial exists (an export to");
    expect(readFileSync(`${owned}.partial`, "utf8")).toBe("another export's rows\n");
    expect(existsSync(owned)).toBe(false);
  });

  it("from a running node: through its API, the same bytes as from the stopped store; accounts refused (exit 3)", async () => {
    const offline = await runQuarry(exportArgs("--what", "txs", "--to", String(HEIGHT)));
    const offlineBlocks = await runQuarry(exportArgs("--format", "csv"));
    expect(offline.code, offline.stderr).toBe(0);
    expect(offlineBlocks.code, offlineBlocks.stderr).toBe(0);
    const node = await scope.start({ datadir });
    try {
      const online = await runQuarry(exportArgs("--what", "txs", "--to", String(HEIGHT)));
      expect(online.code, online.stderr).toBe(0);
      expect(online.stderr).toContain(`from ${node.apiUrl}`);
      expect(online.stdout).toBe(offline.stdout);
      const onlineBlocks = await runQuarry(exportArgs("--format", "csv"));
      expect(onlineBlocks.stdout).toBe(offlineBlocks.stdout);
      expectOneLineError(await runQuarry(exportArgs("--what", "accounts")), 3, "stop the node");
      expectOneLineError(await runQuarry(exportArgs("--to", "9999")), 1, "above the tip");
    } finally {
      await node.stop();
    }
  }, 60_000);
});

describe("export from a running node whose chain reorganises during the export", () => {
  const cluster = new Cluster();
  afterAll(() => cluster.stopAll());

  it("EXPORT_CHAIN_CHANGED instead of rows from two branches", async () => {
    const node = await cluster.add({ startProducer: false });
    const main = ChainBuilder.create();
    for (let i = 0; i < 100; i++) await main.mine();
    const fork = main.fork(30);
    for (let i = 0; i < 75; i++) await fork.mine({ miner: testKey(2).address });
    await feedBlocks(node, main.blocks.slice(1));
    const source = apiExportSource({ url: node.api.url, token: undefined });
    const rows = source.blocks(0, 99)[Symbol.asyncIterator]();
    // the first two batches (heights 0-49) are read from the old chain before the reorg ...
    for (let h = 0; h <= 26; h++) expect((await rows.next()).value?.height).toBe(h);
    await feedBlocks(node, fork.blocks.slice(31));
    expect(node.chain.tip.height).toBe(105);
    // ... the later ones after it: their first block does not follow the last one exported
    let caught: unknown;
    try {
      for (let r = await rows.next(); !r.done; r = await rows.next());
    } catch (err) {
      caught = err;
    }
    expect((caught as { code?: string }).code).toBe(MaintenanceErrorCode.EXPORT_CHAIN_CHANGED);
  }, 120_000);
});
