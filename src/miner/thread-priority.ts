import { readlinkSync } from "node:fs";
import { constants, setPriority } from "node:os";

/**
 * Gives the calling thread the lowest CPU priority (nice 19), so hashing yields to everything else
 * the node does: validation, relaying and the API keep their latency while the miner takes only
 * the CPU nobody else wants (an idle machine still hashes at full speed). Bitcoin Core's old
 * built-in miner did the same (`SetThreadPriority(THREAD_PRIORITY_LOWEST)`).
 *
 * Linux only: a thread's id comes from /proc/thread-self, and setpriority(2) on a thread id
 * changes that thread alone. Elsewhere, or when the kernel refuses, it returns false and the
 * thread keeps its priority.
 */
export function lowerThreadPriority(): boolean {
  try {
    // "<pid>/task/<tid>"
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    setPriority(tid, constants.priority.PRIORITY_LOW);
    return true;
  } catch {
    return false;
  }
}
