/**
 * Simulation coordinator CLI:
 *   node dist/test/sim/run.js [scenario|all] [--nodes N] [--workers W] [--timeout MS] [--out FILE]
 * scenarios: partition-heal (default), churn, offline-mining, tx-load. Prints one JSON summary per
 * scenario; --out writes them all to FILE (input for plot.js). Exit code 1 if any assertion failed.
 */
import { writeFileSync } from "node:fs";
import { SCENARIOS, type Summary } from "./scenarios.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const which = process.argv[2] && !process.argv[2].startsWith("--") ? process.argv[2] : "partition-heal";
const names = which === "all" ? Object.keys(SCENARIOS) : [which];
const nodes = Number(arg("nodes", "50"));
const workers = Number(arg("workers", "2"));
const timeout = arg("timeout", "");
const out = arg("out", "");

const results: (Summary | { scenario: string; error: string })[] = [];
let failed = false;
for (const name of names) {
  const fn = SCENARIOS[name as keyof typeof SCENARIOS];
  if (!fn) {
    console.error(`unknown scenario ${name}; one of ${Object.keys(SCENARIOS).join(", ")}, all`);
    process.exit(2);
  }
  const t0 = Date.now();
  try {
    const s = await fn({ nodes, workers, ...(timeout ? { convergeTimeoutMs: Number(timeout) } : {}) });
    s.extra.wallMs = Date.now() - t0;
    results.push(s);
    console.log(JSON.stringify({ ...s, propagationSamples: undefined }));
  } catch (err) {
    failed = true;
    const summary = (err as { summary?: Summary }).summary;
    if (summary) {
      summary.extra.wallMs = Date.now() - t0;
      results.push(summary);
      console.log(JSON.stringify({ ...summary, propagationSamples: undefined }));
    } else results.push({ scenario: name, error: (err as Error).message });
    console.error(`FAILED ${name}: ${(err as Error).message}`);
  }
}
if (out) writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
process.exit(failed ? 1 : 0);
