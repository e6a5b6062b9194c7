import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmdirSync, rmSync, statfsSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A mounted tmpfs of a fixed size; `cleanup` unmounts it (also after a failed test). */
export interface Tmpfs {
  path: string;
  cleanup(): void;
}

/**
 * Mounts a tmpfs of `sizeMiB` (needs root). Throws, never skips, when it cannot: the fault suite
 * must not pass by not running.
 */
export function mountTmpfs(sizeMiB: number): Tmpfs {
  const path = mkdtempSync(join(tmpdir(), "quarry-tmpfs-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeMiB}m`, "tmpfs", path], { stdio: "pipe" });
  } catch (err) {
    rmdirSync(path);
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(
      `the fault suite needs root to mount a tmpfs ('mount -t tmpfs' failed: ${stderr || (err as Error).message}); run it as root (CI does)`,
    );
  }
  return {
    path,
    cleanup() {
      // lazy: a process that still holds a file open must not keep the mount alive
      execFileSync("umount", ["-l", path], { stdio: "pipe" });
      rmdirSync(path);
    },
  };
}

/**
 * Fills the filesystem holding `dir` with one file until the kernel says ENOSPC, leaving
 * `leaveBytes` (rounded down to 4 KiB) free. Returns the file's path (delete it to free the space).
 */
export function fillDisk(dir: string, leaveBytes = 0): string {
  const path = join(dir, "filler");
  const fd = openSync(path, "w");
  try {
    for (const chunk of [1024 * 1024, 4096]) {
      const zeros = Buffer.alloc(chunk);
      for (;;) {
        if (leaveBytes > 0 && freeBytesOf(dir) - chunk < leaveBytes) break;
        try {
          writeSync(fd, zeros);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "ENOSPC") break;
          throw err;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

export function freeDisk(filler: string): void {
  rmSync(filler, { force: true });
}

function freeBytesOf(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}
