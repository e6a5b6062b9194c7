import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The harness forks dist/test/sim/worker.js (compiled by `npm run build`, which `npm test` runs
// first): import the compiled coordinator too, so both sides are the same build.
const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const scenarios = join(root, "dist/test/sim/scenarios.js");

describe("simulation harness smoke (10 nodes in 2 worker processes)", () => {
  it("partition + heal: both sides mine apart, then every node converges on the most-work tip", async () => {
    const { partitionHeal } = (await import(scenarios)) as typeof import("../sim/scenarios.js");
    // Generous bound: this runs beside other test files on a loaded 2-core machine.
    const s = await partitionHeal({ nodes: 10, workers: 2, convergeTimeoutMs: 15_000 });
    console.log(
      `sim smoke: 10 nodes converged ${s.convergenceMs} ms after the heal; reorgs ${JSON.stringify(s.reorgDepths)}; ` +
        `max RSS per process ${s.maxRssMbPerProcess.join("/")} MB`,
    );
    expect(s.failures).toEqual([]);
    expect(s.nodesPerProcess).toEqual([5, 5]);
    expect(s.convergenceMs).not.toBeNull();
    expect(s.convergenceMs!).toBeLessThan(15_000);
    expect(s.reorgDepths[String(s.extra.minedA)]).toBe(5);
  }, 90_000);
});
