import type { BenchSuite } from "./harness.js";

/** Every benchmark suite `npm run bench` runs, in order. */
export const suites: BenchSuite[] = [];
