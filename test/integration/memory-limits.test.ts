import { existsSync } from "node:fs";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { BIN, type NodeProcess, startNodeProcess } from "../helpers/node-process.js";
import { tempDir } from "../helpers/temp-dir.js";

/**
 * The young-generation limits that keep a node's RSS under 200 MB (docs/BENCHMARKS.md, "Memory"),
 * read from the running process's own /metrics (prom-client's per-space V8 heap gauges, which
 * cover the main thread): `quarry start` keeps the main thread's new space at its initial size.
 */

const NODE_ARGS = ["--network", "regtest", "--p2p-host", "127.0.0.1", "--p2p-port", "0", "--api-port", "0"];
const MiB = 2 ** 20;

async function newSpaceBytes(url: string): Promise<number> {
  const res = await fetch(`${url}/metrics`);
  const text = await res.text();
  const line = /^nodejs_heap_space_size_total_bytes\{space="new"[^}]*\} (\d+)$/m.exec(text);
  if (!line) throw new Error("no new-space gauge in /metrics");
  return Number(line[1]);
}

describe("main-thread young generation of 'quarry start'", () => {
  let node: NodeProcess | undefined;
  let dir: { path: string; cleanup: () => void } | undefined;

  beforeAll(() => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'npm run build' first`);
  });

  afterEach(async () => {
    node?.child.kill("SIGTERM");
    await node?.exited;
    node = undefined;
    dir?.cleanup();
  });

  it("stays at 2 MiB of new space through start-up (bin.ts sets --semi-space-growth-factor=1)", async () => {
    dir = tempDir("quarry-memory-");
    node = await startNodeProcess(dir.path, NODE_ARGS);
    // Start-up (libp2p, three LevelDB stores, the API) allocates far more than 2 MiB: without
    // the limit V8 would have grown new space by now.
    expect(await newSpaceBytes(node.url)).toBeLessThanOrEqual(2 * MiB);
  });

  it("leaves an operator's own semi-space flag alone (node --max-semi-space-size=8)", async () => {
    dir = tempDir("quarry-memory-");
    node = await startNodeProcess(dir.path, NODE_ARGS, {}, 15_000, ["--max-semi-space-size=8"]);
    expect(await newSpaceBytes(node.url)).toBeGreaterThan(2 * MiB);
  });
});
