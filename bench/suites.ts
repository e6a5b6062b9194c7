import { chainSuite, consensusSuite } from "./chain.bench.js";
import type { BenchSuite } from "./harness.js";
import { stateTreeSuite } from "./state-tree.bench.js";

/** Every benchmark suite `npm run bench` runs, in order; `npm run bench -- NAME` runs one. */
export const suites: BenchSuite[] = [consensusSuite, stateTreeSuite, chainSuite];
