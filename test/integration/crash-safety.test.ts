import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyTipState } from "../../src/chain/verify.js";
import { checkStoreRecords } from "../../src/chain/verify-store.js";
import { type Block, blockHash, encodeBlock, toHex } from "../../src/primitives/index.js";
import { ChainBuilder, testKey, transfer } from "../helpers/chain-builder.js";
import { openChain } from "../helpers/open-chain.js";
import { tempDir } from "../helpers/temp-dir.js";

const CHILD = join(process.cwd(), "dist", "test", "fixtures", "import-blocks.js");
const KILLS = 24;

/** Block by block (`processBlock`), or pipelined runs of 16 (`processBlocks`, as sync imports). */
type ImportMode = "blocks" | "runs";

interface ChildRun {
  child: ChildProcess;
  /** resolves when the child exits, with the "done" line if it finished */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; done?: string }>;
}

/** Starts the importer; calls onImported(count) after each imported block. */
function startImporter(
  datadir: string,
  file: string,
  onImported: (count: number) => void,
  mode: ImportMode = "blocks",
): ChildRun {
  const args = [CHILD, datadir, file, ...(mode === "runs" ? ["runs"] : [])];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let count = 0;
  let done: string | undefined;
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (line.startsWith("imported ")) onImported(++count);
    if (line.startsWith("done ")) done = line.slice(5);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; done?: string }>(
    (resolve) => {
      child.on("exit", (code, signal) => {
        if (code !== 0 && signal === null) process.stderr.write(stderr);
        resolve({ code, signal, ...(done ? { done } : {}) });
      });
    },
  );
  return { child, exited };
}

/**
 * Blocks in arrival order: a main chain, a longer competing branch (reorg of depth 40), then the
 * main chain growing past it again (reorg back, depth 60), with transfers so state changes matter.
 */
async function buildScenario(): Promise<{ blocks: Block[]; finalTip: string; finalHeight: number }> {
  const alice = testKey(1);
  const bob = testKey(2);
  const main = ChainBuilder.create();
  const blocks: Block[] = [await main.mine({ miner: alice.address })];
  for (let i = 0n; i < 100n; i++)
    blocks.push(await main.mine({ txs: [transfer(alice, bob.address, 5n, i)] }));
  const side = main.fork(60);
  for (let i = 0; i < 60; i++) blocks.push(await side.mine({ miner: bob.address }));
  for (let i = 100n; i < 170n; i++)
    blocks.push(await main.mine({ txs: [transfer(alice, bob.address, 7n, i)] }));
  return { blocks, finalTip: toHex(blockHash(main.tip)), finalHeight: main.height };
}

describe("crash safety: SIGKILL at random moments during import with reorgs", () => {
  const dirs: ReturnType<typeof tempDir>[] = [];
  let file: string;
  let scenario: Awaited<ReturnType<typeof buildScenario>>;

  beforeAll(async () => {
    scenario = await buildScenario();
    const work = tempDir();
    dirs.push(work);
    file = join(work.path, "blocks.bin");
    const parts: Buffer[] = [];
    for (const block of scenario.blocks) {
      const bytes = encodeBlock(block);
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      parts.push(length, Buffer.from(bytes));
    }
    writeFileSync(file, Buffer.concat(parts));
  });

  afterAll(() => {
    for (const d of dirs) d.cleanup();
  });

  it("a process that is never killed reaches the most-work tip", async () => {
    const d = tempDir();
    dirs.push(d);
    const run = startImporter(d.path, file, () => {});
    const result = await run.exited;
    expect(result.code).toBe(0);
    expect(result.done).toBe(`${scenario.finalTip} ${scenario.finalHeight}`);
  }, 60_000);

  it.each<ImportMode>(["blocks", "runs"])(
    `importing %s: after each of ${KILLS} kills the store opens, passes the integrity check, and import resumes to the same tip`,
    async (mode) => {
      const d = tempDir();
      dirs.push(d);
      const total = scenario.blocks.length;
      let kills = 0;
      const heightsSeen = new Set<number>();
      while (kills < KILLS) {
        // Kill after a random number of newly imported blocks (at least one, so every run makes progress).
        const killAfter = 1 + Math.floor(Math.random() * Math.max(1, total / (2 * KILLS)));
        const run = startImporter(
          d.path,
          file,
          (count) => {
            if (count === killAfter) run.child.kill("SIGKILL");
          },
          mode,
        );
        const result = await run.exited;
        if (result.signal === "SIGKILL") kills++;
        else expect(result.code).toBe(0);
        // The store must open cleanly (Chain.open runs the state-root integrity check).
        const reopened = await openChain(d.path);
        heightsSeen.add(reopened.chain.height);
        await verifyTipState(reopened.store, reopened.chain.tip);
        // every record, the address index included, matches the main chain (what `quarry verify` checks)
        expect(reopened.chain.addressIndexEnabled).toBe(true);
        expect((await checkStoreRecords(reopened.store)).counts.addressIndexEntries).toBeGreaterThan(0);
        await reopened.close();
        if (result.done) break;
      }
      expect(kills).toBeGreaterThanOrEqual(Math.min(KILLS, 20));
      expect(heightsSeen.size).toBeGreaterThan(1);
      const final = startImporter(d.path, file, () => {}, mode);
      const result = await final.exited;
      expect(result.code).toBe(0);
      expect(result.done).toBe(`${scenario.finalTip} ${scenario.finalHeight}`);
    },
    60_000,
  );
});
