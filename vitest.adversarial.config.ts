import { defineConfig } from "vitest/config";

/**
 * The slow adversarial suite (issue 9): `npx vitest run --config vitest.adversarial.config.ts`.
 * Its files end in `.adversarial.ts`, so the default config (`test/**\/*.test.ts`, npm test)
 * does not pick them up.
 */
export default defineConfig({
  test: {
    include: ["test/adversarial/**/*.adversarial.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
