import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import type { BenchResult, BenchSuite } from "./harness.js";
import { suites } from "./suites.js";

function fmt(n: number | undefined): string {
  if (n === undefined) return "";
  if (n >= 100) return Math.round(n).toLocaleString("en-US");
  return n.toPrecision(3);
}

/** Copies each `limitFor` row's value into the limit column of the rows it is the limit of. */
function applyLimits(results: (BenchResult & { suite: string })[]): void {
  for (const ref of results) {
    if (!ref.limitFor) continue;
    const { suite, rowPrefix } = ref.limitFor;
    const targets = results.filter(
      (r) => r.suite === suite && r.name.startsWith(rowPrefix) && r.unit === ref.unit,
    );
    for (const r of targets) r.limit = ref.value;
    // A renamed row would silently lose its limit: say so.
    if (targets.length === 0 && results.some((r) => r.suite === suite)) {
      process.stderr.write(
        `warning: no '${suite}' row named '${rowPrefix}…' in ${ref.unit} for '${ref.name}'\n`,
      );
    }
  }
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const results: (BenchResult & { suite: string })[] = [];
  const selected = (s: BenchSuite) =>
    only.length === 0 || only.includes(s.name) || (s.limitOf ?? []).some((n) => only.includes(n));
  for (const suite of suites) {
    if (!selected(suite)) continue;
    process.stderr.write(`running ${suite.name}...\n`);
    for (const r of await suite.run()) results.push({ suite: suite.name, ...r });
  }
  applyLimits(results);
  const rows = results.map((r) => {
    const ok =
      r.target === undefined
        ? ""
        : (r.lowerIsBetter ? r.value <= r.target : r.value >= r.target)
          ? "ok"
          : "BELOW";
    return [r.suite, r.name, `${fmt(r.value)} ${r.unit}`, fmt(r.target), fmt(r.limit), ok, r.note ?? ""];
  });
  const header = ["suite", "benchmark", "measured", "target", "machine limit", "", "note"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of rows) console.log(line(row));
  const machine = { cpu: cpus()[0]?.model, cores: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30) };
  const dir = join(process.cwd(), "bench", "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().slice(0, 10)}.json`);
  writeFileSync(file, `${JSON.stringify({ machine, node: process.version, results }, null, 2)}\n`);
  console.log(
    `\nmachine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB; node ${process.version}`,
  );
  console.log(`written ${file}`);
}

await main();
