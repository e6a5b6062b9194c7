import { chainSuite, consensusSuite } from "./chain.bench.js";
import { eventsSuite } from "./events.bench.js";
import { exportSuite } from "./export.bench.js";
import type { BenchSuite } from "./harness.js";
import { joinSuite } from "./join.bench.js";
import { keystoreSuite } from "./keystore.bench.js";
import { leveldbSuite } from "./leveldb.bench.js";
import { maintenanceSuite } from "./maintenance.bench.js";
import { mempoolSuite } from "./mempool.bench.js";
import { minerSuite } from "./miner.bench.js";
import { nodeSuite } from "./node.bench.js";
import { propagationSuite } from "./propagation.bench.js";
import { signatureSuite } from "./signature.bench.js";
import { stateTreeSuite } from "./state-tree.bench.js";
import { syncSuite } from "./sync.bench.js";
import { testbedSuite } from "./testbed.bench.js";

/** Every benchmark suite `npm run bench` runs, in order; `npm run bench -- NAME` runs one. */
export const suites: BenchSuite[] = [
  consensusSuite,
  signatureSuite,
  stateTreeSuite,
  leveldbSuite,
  chainSuite,
  mempoolSuite,
  syncSuite,
  joinSuite,
  propagationSuite,
  minerSuite,
  keystoreSuite,
  // minutes of wall time, root only (skips with a message otherwise)
  testbedSuite,
  nodeSuite,
  eventsSuite,
  maintenanceSuite,
  exportSuite,
];
