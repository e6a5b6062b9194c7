/**
 * Multi-host testbed in Linux network namespaces (root only; docs/TESTBED.md):
 *   npm run testbed -- <a|b|c|d>... [--keep-logs]
 * Each scenario builds its hosts and NAT routers, runs real `quarry start` processes, asserts, and
 * prints one JSON summary line. Exit code 1 if any assertion failed, 2 on bad usage. Namespaces
 * and processes are removed on every exit, Ctrl-C included.
 */
import { SCENARIOS, type Summary, Testbed } from "./scenarios.js";

const names = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const keepLogs = process.argv.includes("--keep-logs");
if (names.length === 0 || names.some((n) => !(n in SCENARIOS))) {
  console.error(`usage: npm run testbed -- <${Object.keys(SCENARIOS).join("|")}>... [--keep-logs]`);
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  console.error("testbed: needs root (network namespaces, iptables)");
  process.exit(2);
}

let current: Testbed | undefined;
// Ctrl-C, SIGTERM, or a crash: kill the nodes and delete the namespaces before leaving
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    current?.killNow();
    process.exit(130);
  });
}
process.once("exit", () => current?.killNow());

let failed = false;
for (const name of names) {
  const scenario = SCENARIOS[name as keyof typeof SCENARIOS];
  const [pub, routers, per] = scenario.topology;
  const t0 = Date.now();
  let summary: Summary;
  try {
    current = new Testbed(pub, routers, per);
    summary = await scenario.run(current);
  } catch (err) {
    summary = { scenario: name, ok: false, failures: [(err as Error).message], timings: {}, details: {} };
  }
  summary.timings.wallMs = Date.now() - t0;
  console.log(JSON.stringify(summary));
  if (!summary.ok) failed = true;
  await current?.cleanup(keepLogs || !summary.ok);
  current = undefined;
}
process.exit(failed ? 1 : 0);
