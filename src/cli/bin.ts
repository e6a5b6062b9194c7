#!/usr/bin/env node
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";
import { nodeVersionProblem } from "./node-version.js";

/**
 * Keep the main thread's young generation small. V8 grows each isolate's new space on demand up to
 * 2 × max-semi-space-size (64 MiB with Node 24 on a machine with this much memory) and never gives
 * it back; for a node that was most of its RSS (docs/BENCHMARKS.md, "Memory"). The max can only be
 * set before the heap exists (`node --max-semi-space-size=N`; `v8.setFlagsFromString` of it here
 * is too late for this thread), but the growth factor is read each time new space would grow, so
 * setting it to 1 before anything has grown keeps new space at its initial 2 MiB. Measured in the
 * same place: chain import and sync throughput change by less than the noise (see BENCHMARKS.md).
 * An operator who sets semi-space flags on the command line or in NODE_OPTIONS keeps theirs.
 */
function limitYoungGeneration(): void {
  const chosen = [...process.execArgv, process.env.NODE_OPTIONS ?? ""].some((a) => a.includes("semi-space"));
  if (chosen) return;
  const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
  // Already grown (something allocated a lot before this line): the flag would no longer help.
  if (newSpace !== undefined && newSpace.space_size > 2 * 2 ** 20) return;
  setFlagsFromString("--semi-space-growth-factor=1");
}

/**
 * Let the old generation grow by 60 % of what a full GC left alive, not by V8's default factor
 * (up to 4× for a fast-allocating heap). With a 2 MiB young generation the garbage of importing
 * blocks is promoted, and at the default factor it piled up: syncing 300 blocks of 100 transfers
 * peaked at 515-581 MiB RSS with ~60 MB of it alive; 350 MiB at 60 % in the same time; 30 % gave
 * ~325 MiB but synced 60 % slower (more full GCs competing for 2 cores). docs/BENCHMARKS.md,
 * "Memory". The flag is read at each full GC, so setting it here takes effect; it is
 * process-wide, so the signature and miner workers follow it too. An operator's heap flags win.
 */
function limitOldGenerationGrowth(): void {
  const chosen = [...process.execArgv, process.env.NODE_OPTIONS ?? ""].some((a) =>
    /heap-growing|old-space|max-heap-size/.test(a),
  );
  if (!chosen) setFlagsFromString("--heap-growing-percent=60");
}

const tooOld = nodeVersionProblem(process.versions.node);
if (tooOld !== undefined) {
  process.stderr.write(`quarry: ${tooOld}\n`);
  process.exit(1);
}
limitYoungGeneration();
limitOldGenerationGrowth();
// Loaded after the flag is set: importing the node's modules is the first big allocation.
const { runCli } = await import("./main.js");

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`quarry: fatal: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 70;
  },
);
