import { defineConfig } from "vitest/config";

/**
 * The docker-compose testnet e2e (`npm run test:testnet`, run by .ci/run after `npm test`). Its
 * files end in `.e2e.ts` so the default config (`test/**\/*.test.ts`) never picks them up. One file,
 * steps in order, generous bounds: image builds on a cold machine take minutes on 2 cores.
 */
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.ts"],
    testTimeout: 480_000,
    hookTimeout: 600_000,
    pool: "forks",
    fileParallelism: false,
    retry: 0,
    bail: 1,
  },
});
