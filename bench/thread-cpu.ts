import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let ticksPerSecond: number | undefined;

/** The kernel's clock ticks per second (`getconf CLK_TCK`), the unit of /proc CPU times. */
function clockTicksPerSecond(): number {
  ticksPerSecond ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
  return ticksPerSecond;
}

/** CPU seconds used so far by this process's threads, summed by thread name (`/proc/self/task`). */
export function threadCpuSeconds(): Map<string, number> {
  const ticks = clockTicksPerSecond();
  const byName = new Map<string, number>();
  for (const task of readdirSync("/proc/self/task")) {
    let stat: string;
    let name: string;
    try {
      stat = readFileSync(`/proc/self/task/${task}/stat`, "utf8");
      name = readFileSync(`/proc/self/task/${task}/comm`, "utf8").trim();
    } catch {
      continue; // the thread ended between the listing and the read
    }
    // fields after "(comm)": state is field 3, utime 14, stime 15 (1-based)
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const seconds = (Number(fields[11]) + Number(fields[12])) / ticks;
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
