import { readdirSync, readFileSync } from "node:fs";
import { cpuSecondsOf, procStatFields } from "../test/helpers/proc-stat.js";

/** CPU seconds used so far by this process's threads, summed by thread name (`/proc/self/task`). */
export function threadCpuSeconds(): Map<string, number> {
  const byName = new Map<string, number>();
  for (const task of readdirSync("/proc/self/task")) {
    let seconds: number;
    let name: string;
    try {
      seconds = cpuSecondsOf(procStatFields(`/proc/self/task/${task}/stat`));
      name = readFileSync(`/proc/self/task/${task}/comm`, "utf8").trim();
    } catch {
      continue; // the thread ended between the listing and the read
    }
    byName.set(name, (byName.get(name) ?? 0) + seconds);
  }
  return byName;
}

/** CPU seconds per thread name between two `threadCpuSeconds` readings. */
export function threadCpuDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [name, seconds] of after) delta.set(name, seconds - (before.get(name) ?? 0));
  return delta;
}
