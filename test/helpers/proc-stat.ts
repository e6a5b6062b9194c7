import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

let ticksPerSecond: number | undefined;

/** The kernel's clock ticks per second (`getconf CLK_TCK`), the unit of /proc CPU times. */
export function clockTicksPerSecond(): number {
  ticksPerSecond ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
  return ticksPerSecond;
}

/**
 * A process's or thread's /proc `stat` line (`/proc/<pid>/stat`, `/proc/self/task/<tid>/stat`),
 * as the fields after "(comm)": index 0 is the state (field 3 of proc(5)), so field n of proc(5)
 * is index n − 3. Throws when the file is gone (the process or thread ended).
 */
export function procStatFields(path: string): string[] {
  const stat = readFileSync(path, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** CPU seconds (user + system) in `procStatFields` output: proc(5) fields 14 and 15. */
export function cpuSecondsOf(fields: readonly string[]): number {
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond();
}

/** CPU seconds (user + system, all threads) process `pid` has used so far; throws when it is gone. */
export function processCpuSeconds(pid: number): number {
  return cpuSecondsOf(procStatFields(`/proc/${pid}/stat`));
}

/** The nice value in `procStatFields` output: proc(5) field 19. */
export function niceOf(fields: readonly string[]): number {
  return Number(fields[16]);
}

/** Write system calls (`syscw` in /proc/<pid>/io: sockets, files, pipes) process `pid` has made so far; throws when it is gone. */
export function processWriteSyscalls(pid: number): number {
  const line = readFileSync(`/proc/${pid}/io`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("syscw:"));
  if (line === undefined) throw new Error(`/proc/${pid}/io has no syscw line`);
  return Number(line.slice("syscw:".length).trim());
}
