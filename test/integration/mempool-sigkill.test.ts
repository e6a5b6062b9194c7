import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { REGTEST } from "../../src/consensus/params.js";
import { LevelMempoolStore, Mempool } from "../../src/mempool/index.js";
import { richState } from "../fixtures/mempool-state.js";
import { tempDir } from "../helpers/temp-dir.js";

const CHILD = join(process.cwd(), "dist", "test", "fixtures", "mempool-add.js");
const RUNS = 6;
const PER_RUN = 300;

/** Runs the adder; kills it with SIGKILL right after the `killAfter`-th "added" line. */
function runAdder(datadir: string, run: number, killAfter: number) {
  const child: ChildProcess = spawn(process.execPath, [CHILD, datadir, String(run), String(PER_RUN)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const added: string[] = [];
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (!line.startsWith("added ")) return;
    added.push(line.slice(6));
    if (added.length === killAfter) child.kill("SIGKILL");
  });
  return new Promise<{ signal: NodeJS.Signals | null; code: number | null; added: string[] }>((resolve) => {
    child.on("exit", (code, signal) => {
      if (code !== 0 && signal === null) process.stderr.write(stderr);
      resolve({ code, signal, added });
    });
  });
}

describe("mempool persistence across SIGKILL of a real process", () => {
  const dirs: ReturnType<typeof tempDir>[] = [];
  afterAll(() => {
    for (const d of dirs) d.cleanup();
  });

  it(`every transaction whose add resolved survives kill -9 (${RUNS} kills at random points)`, async () => {
    const d = tempDir();
    dirs.push(d);
    const acknowledged: string[] = [];
    let kills = 0;
    for (let run = 0; run < RUNS; run++) {
      const killAfter = 1 + Math.floor(Math.random() * (PER_RUN - 1));
      const result = await runAdder(d.path, run, killAfter);
      if (result.signal === "SIGKILL") kills++;
      else expect(result.code).toBe(0);
      acknowledged.push(...result.added);

      const mempool = new Mempool(
        { expirySweepIntervalMs: 0 },
        {
          params: REGTEST,
          state: richState,
          store: new LevelMempoolStore({ location: join(d.path, "mempool") }),
        },
      );
      await mempool.start();
      const missing = acknowledged.filter((id) => !mempool.has(id));
      await mempool.stop();
      expect(missing).toEqual([]);
    }
    expect(kills).toBeGreaterThanOrEqual(RUNS - 1);
  }, 60_000);
});
