import { defineConfig } from "vitest/config";

/**
 * The fault-injection suite (docs/RELIABILITY.md): real nodes on a small tmpfs that is filled
 * while they mine and sync. It mounts tmpfs, so it needs root, and fails (never skips) without it.
 * `npm run test:faults`; its files end in `.faults.ts`, so `npm test` does not pick them up.
 */
export default defineConfig({
  test: {
    include: ["test/faults/**/*.faults.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: "forks",
    fileParallelism: false,
  },
});
