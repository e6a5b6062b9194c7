import { randomBytes } from "node:crypto";
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getNetworkParams } from "../../src/consensus/params.js";
import { addressHashOf, encodeAddress } from "../../src/primitives/index.js";
import { ChainStore } from "../../src/store/chain-store.js";
import { keys } from "../../src/store/layout.js";
import {
  type CliResult,
  mineOffline,
  ProcessNodeScope,
  QUARRY_BIN,
  runQuarry,
} from "../helpers/process-node.js";
import { tempDir } from "../helpers/temp-dir.js";
import { waitFor } from "../helpers/wait.js";

/**
 * `quarry verify` reads every record the node reads: a damaged tx-index entry, undo record, state
 * tree node, block or index entry, bytes flipped in LevelDB's log or a table file, each make it
 * name the problem and exit non-zero; a node that reads a damaged record at runtime halts
 * (STORE_CORRUPT) with the advice to verify and reindex. Real processes, real LevelDB.
 */

const REGTEST = getNetworkParams("regtest");
const RECIPIENT = encodeAddress(REGTEST.addressPrefix, addressHashOf(randomBytes(32)));
const BLOCKS = 60;
const TARGET_HEIGHT = 30;

let base: ReturnType<typeof tempDir>;
let datadir: string;
/** the records of the block at TARGET_HEIGHT (and the tip's state root node) */
let target: { hash: Uint8Array; coinbaseId: Uint8Array; rootNode: Uint8Array };
/**
 * The tx-index entry that sorts last: the last data block of the table holds only tx-index
 * entries (random ids and hashes), which Snappy leaves uncompressed, so its bytes are there as is.
 */
let lastTx: { id: Uint8Array; block: Uint8Array };

beforeAll(async () => {
  if (!existsSync(QUARRY_BIN)) throw new Error(`${QUARRY_BIN} is missing: run 'npm run build' first`);
  base = tempDir("quarry-verify-");
  datadir = join(base.path, "mined");
  await mineOffline(datadir, BLOCKS, RECIPIENT);
  const store = new ChainStore({ location: join(datadir, "chain"), network: "regtest" });
  await store.open();
  try {
    const hash = (await store.getMainChainHash(TARGET_HEIGHT))!;
    const block = (await store.getBlock(hash))!;
    const tip = (await store.getBlock((await store.getTip())!))!;
    target = { hash, coinbaseId: block.txIds[0]!, rootNode: tip.block.header.stateRoot };
    for (let height = 1; height <= BLOCKS; height++) {
      const at = (await store.getMainChainHash(height))!;
      const id = (await store.getBlock(at))!.txIds[0]!;
      if (!lastTx || Buffer.compare(id, lastTx.id) > 0) lastTx = { id, block: at };
    }
  } finally {
    await store.close();
  }
}, 60_000);

afterAll(() => base?.cleanup());

/** A copy of the mined datadir whose record under `key` has one byte flipped (at `at`). */
async function withFlippedRecord(key: Uint8Array, at: number): Promise<string> {
  const copy = join(base.path, `copy-${randomBytes(4).toString("hex")}`);
  cpSync(datadir, copy, { recursive: true });
  const db = new ClassicLevel<Uint8Array, Uint8Array>(join(copy, "chain"), {
    keyEncoding: "view",
    valueEncoding: "view",
    createIfMissing: false,
  });
  await db.open();
  const value = await db.get(key);
  if (value === undefined) throw new Error("the record to damage is missing");
  const damaged = Uint8Array.from(value);
  damaged[at % damaged.length]! ^= 0x01;
  await db.put(key, damaged);
  await db.close();
  return copy;
}

function verify(dir: string, full = false): Promise<CliResult> {
  return runQuarry(["verify", ...(full ? ["--full"] : []), "--datadir", dir], { timeoutMs: 60_000 });
}

function expectCorrupt(r: CliResult, names: RegExp): void {
  expect(r.code, r.stdout).toBe(3);
  const lines = r.stderr.trim().split("\n");
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(names);
  expect(lines[0]).toContain("[STORE_CORRUPT]");
  expect(lines[0]).toContain("quarry verify");
}

describe("quarry verify names the first damaged record and exits 3", () => {
  it("a healthy store: ok, with counts per table", async () => {
    const r = await runQuarry(["verify", "--json", "--datadir", datadir]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { counts: Record<string, number>; height: number };
    expect(report.height).toBe(BLOCKS);
    expect(report.counts).toMatchObject({
      indexEntries: BLOCKS + 1,
      blocks: BLOCKS + 1,
      mainChainBlocks: BLOCKS + 1,
      undoRecords: BLOCKS + 1,
      txIndexEntries: BLOCKS,
    });
    expect(report.counts.treeNodes).toBeGreaterThan(0);
  });

  it("STORE_CORRUPT: a tx-index entry that points at another block", async () => {
    const dir = await withFlippedRecord(keys.txIndex(target.coinbaseId), 3);
    expectCorrupt(await verify(dir), /tx index entry [0-9a-f]{64} points at/);
  });

  it("STORE_CORRUPT: an undo record that lists another account", async () => {
    const dir = await withFlippedRecord(keys.undo(target.hash), 6);
    expectCorrupt(await verify(dir), /undo record of block [0-9a-f]{64} \(height 30\)/);
  });

  it("STORE_CORRUPT: a state tree node that does not hash to its key", async () => {
    const dir = await withFlippedRecord(keys.treeNode(target.rootNode), 10);
    expectCorrupt(await verify(dir), /state tree node [0-9a-f]{64} does not hash to its key/);
  });

  it("STORE_CORRUPT: a block whose bytes are not the block's", async () => {
    const dir = await withFlippedRecord(keys.block(target.hash), 40);
    expectCorrupt(await verify(dir), /block [0-9a-f]{64}/);
  });

  it("STORE_CORRUPT: a block index entry whose header is not its key's", async () => {
    const dir = await withFlippedRecord(keys.index(target.hash), 50);
    expectCorrupt(await verify(dir), /block index entry [0-9a-f]{64}/);
  });

  it("STORE_STATE_MISMATCH under --full: an undo record with a wrong balance (decodes, right accounts)", async () => {
    // byte 4 + 20 + 7: the low byte of the first account's balance
    const dir = await withFlippedRecord(keys.undo(target.hash), 31);
    const quick = await verify(dir);
    expect(quick.code, quick.stderr).toBe(0);
    const full = await verify(dir, true);
    expect(full.code).toBe(3);
    expect(full.stderr).toMatch(/height 30 fails replay: its undo record's account/);
  });
});

/**
 * A copy of the mined datadir with one byte flipped in a table file, inside the value of the
 * tx-index entry of `txId`: that part of a table is stored uncompressed (random ids and hashes do
 * not compress), the entry holds the key's last bytes and then the value.
 */
function withFlippedTxIndexBytes(txId: Uint8Array, blockHash: Uint8Array): string {
  const copy = join(base.path, `flip-${randomBytes(4).toString("hex")}`);
  cpSync(datadir, copy, { recursive: true });
  const chain = join(copy, "chain");
  const keyTail = Buffer.from(txId.subarray(12));
  const valueHead = Buffer.from(blockHash.subarray(0, 4));
  for (const name of readdirSync(chain).filter((n) => n.endsWith(".ldb"))) {
    const bytes = readFileSync(join(chain, name));
    // The id also appears elsewhere (a one-transaction block's merkle root is its coinbase id).
    for (let at = bytes.indexOf(keyTail); at >= 0; at = bytes.indexOf(keyTail, at + 1)) {
      // LevelDB's internal key ends in 8 bytes of sequence number and type; the value follows
      const value = at + keyTail.length + 8;
      if (!bytes.subarray(value, value + 4).equals(valueHead)) continue;
      bytes[value + 2]! ^= 0x01;
      writeFileSync(join(chain, name), bytes);
      return copy;
    }
  }
  throw new Error("the tx-index entry's bytes are not in any table file");
}

describe("bytes flipped in LevelDB's files", () => {
  /** A datadir with many blocks still in LevelDB's log (mined, never reopened). */
  async function minedIntoLog(blocks: number): Promise<string> {
    const dir = join(base.path, `log-${randomBytes(4).toString("hex")}`);
    await mineOffline(dir, blocks, RECIPIENT);
    return dir;
  }

  function flip(file: string, offset: number): void {
    const bytes = readFileSync(file);
    for (let i = 0; i < 8; i++) bytes[offset + i]! ^= 0xff;
    writeFileSync(file, bytes);
  }

  it("STORE_CORRUPT: a byte of a tx-index entry flipped in its table file", async () => {
    const dir = withFlippedTxIndexBytes(lastTx.id, lastTx.block);
    expectCorrupt(await verify(dir), /tx index entry [0-9a-f]{64}/);
  });

  it("the log: a damaged record in the middle is dropped by LevelDB; verify finds the hole", async () => {
    const dir = await minedIntoLog(400);
    const chain = join(dir, "chain");
    const log = readdirSync(chain).find((n) => n.endsWith(".log"))!;
    const size = statSync(join(chain, log)).size;
    expect(size).toBeGreaterThan(128 * 1024);
    flip(join(chain, log), Math.floor(size / 2));
    const r = await verify(dir);
    expect(r.code, r.stdout).not.toBe(0);
    expect(r.stderr).toMatch(/STORE_CORRUPT|STORE_STATE_MISMATCH|DATADIR_STORE_UNREADABLE/);
  });
});

describe("a corrupt record read at runtime halts the node", () => {
  const scope = new ProcessNodeScope();
  afterAll(() => scope.cleanup());

  it("STORE_CORRUPT: getTransaction on a damaged tx-index entry answers a typed error, the node halts with the advice", async () => {
    const dir = await withFlippedRecord(keys.txIndex(target.coinbaseId), 3);
    const node = await scope.start({ datadir: dir });
    const id = Buffer.from(target.coinbaseId).toString("hex");
    await expect(node.rpc("getTransaction", { id })).rejects.toThrow(/\[STORE_CORRUPT\]/);
    const rest = await fetch(`${node.apiUrl}/api/getTransaction?id=${id}`);
    expect(rest.status).toBe(503);
    const status = (await node.status()) as unknown as { halted: { code: string; reason: string } | null };
    expect(status.halted?.code).toBe("STORE_CORRUPT");
    const line = await waitFor(
      () =>
        node
          .logLines()
          .find((l) => l.msg === "chain halted: no blocks are stored or mined until this is fixed"),
      5_000,
      "the halt log line",
    );
    expect(String(line.advice)).toMatch(/quarry verify.*quarry reindex/);
    expect(node.logLines().filter((l) => l.msg?.startsWith("chain halted")).length).toBe(1);
  });
});
