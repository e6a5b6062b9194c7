import { existsSync } from "node:fs";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ProcessNode, QUARRY_BIN } from "../helpers/process-node.js";
import { tempDir } from "../helpers/temp-dir.js";

/**
 * The young-generation limits that keep a node's RSS under 200 MB (docs/BENCHMARKS.md, "Memory"),
 * read from the running process's own /metrics (prom-client's per-space V8 heap gauges, which
 * cover the main thread): `quarry start` keeps the main thread's new space at its initial size.
 */

const MiB = 2 ** 20;

async function newSpaceBytes(url: string): Promise<number> {
  const res = await fetch(`${url}/metrics`);
  const text = await res.text();
  const line = /^nodejs_heap_space_size_total_bytes\{space="new"[^}]*\} (\d+)$/m.exec(text);
  if (!line) throw new Error("no new-space gauge in /metrics");
  return Number(line[1]);
}

describe("main-thread young generation of 'quarry start'", () => {
  let node: ProcessNode | undefined;
  let dir: { path: string; cleanup: () => void } | undefined;

  beforeAll(() => {
    if (!existsSync(QUARRY_BIN)) throw new Error(`${QUARRY_BIN} is missing: run 'npm run build' first`);
  });

  afterEach(async () => {
    await node?.stop();
    node = undefined;
    dir?.cleanup();
  });

  it("stays at 2 MiB of new space through start-up (bin.ts sets --semi-space-growth-factor=1)", async () => {
    dir = tempDir("quarry-memory-");
    node = await ProcessNode.start({ datadir: dir.path });
    // Start-up (libp2p, three LevelDB stores, the API) allocates far more than 2 MiB: without
    // the limit V8 would have grown new space by now.
    expect(await newSpaceBytes(node.apiUrl)).toBeLessThanOrEqual(2 * MiB);
  });

  it("leaves an operator's own semi-space flag alone (node --max-semi-space-size=8)", async () => {
    dir = tempDir("quarry-memory-");
    node = await ProcessNode.start({ datadir: dir.path, nodeFlags: ["--max-semi-space-size=8"] });
    expect(await newSpaceBytes(node.apiUrl)).toBeGreaterThan(2 * MiB);
  });
});
