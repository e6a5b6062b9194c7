import {
  EMPTY_TREE_ROOT,
  MemoryTreeNodeStore,
  rootFromLeaves,
  type TreeLeaf,
  type TreeNodeReader,
  type TreeUpdate,
  updateTree,
} from "../src/consensus/state-tree.js";
import { sha256 } from "../src/primitives/hash.js";
import type { BenchResult, BenchSuite } from "./harness.js";

const TREE_SIZE = 100_000;
const BATCH_SIZE = 100;
const MIN_MS = 3000;

function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

const benchKey = (i: number): Uint8Array => sha256(new Uint8Array([0x6b]), u32(i));
const benchValue = (i: number, round: number): Uint8Array =>
  sha256(new Uint8Array([0x76]), u32(i), u32(round));

/** A reader that counts calls, to report the reads per batch next to the rate. */
class CountingReader implements TreeNodeReader {
  reads = 0;
  constructor(private readonly inner: TreeNodeReader) {}
  getNode(hash: Uint8Array): Promise<Uint8Array | undefined> {
    this.reads++;
    return this.inner.getNode(hash);
  }
}

/**
 * Batch updates into a 100k-key tree held in the in-memory store: each batch of 100 keys is half
 * existing accounts getting new values and half new accounts, like a block of transfers; the
 * returned nodes are persisted into the store, as the chain does.
 */
async function measureBatches(): Promise<{
  updatesPerSecond: number;
  readsPerBatch: number;
  nodesPerBatch: number;
}> {
  const store = new MemoryTreeNodeStore();
  const initial: TreeUpdate[] = Array.from({ length: TREE_SIZE }, (_, i) => ({
    key: benchKey(i),
    valueHash: benchValue(i, 0),
  }));
  const built = await updateTree(EMPTY_TREE_ROOT, initial, store);
  store.putNodes(built.newNodes);
  let root = built.root;
  let nextNew = TREE_SIZE;
  let batches = 0;
  let nodes = 0;
  const reader = new CountingReader(store);
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < MIN_MS) {
    const updates: TreeUpdate[] = [];
    for (let j = 0; j < BATCH_SIZE / 2; j++) {
      // Spread the existing keys over the whole tree; Knuth's multiplicative step avoids repeats.
      const existing = ((batches * (BATCH_SIZE / 2) + j) * 2654435761) % TREE_SIZE;
      updates.push({ key: benchKey(existing), valueHash: benchValue(existing, batches + 1) });
      const fresh = nextNew++;
      updates.push({ key: benchKey(fresh), valueHash: benchValue(fresh, 0) });
    }
    const result = await updateTree(root, updates, reader);
    store.putNodes(result.newNodes);
    root = result.root;
    nodes += result.newNodes.size;
    batches++;
    elapsed = performance.now() - start;
  }
  return {
    updatesPerSecond: (batches * BATCH_SIZE * 1000) / elapsed,
    readsPerBatch: reader.reads / batches,
    nodesPerBatch: nodes / batches,
  };
}

/** Full in-memory rebuild of a 100k-leaf root, as the startup integrity check does. */
function measureRebuild(): number {
  const leaves: TreeLeaf[] = Array.from({ length: TREE_SIZE }, (_, i) => ({
    key: benchKey(i),
    valueHash: benchValue(i, 0),
  }));
  const start = performance.now();
  rootFromLeaves(leaves);
  return (performance.now() - start) / 1000;
}

/** State tree: batched updates against a large tree, and a full rebuild. */
export const stateTreeSuite: BenchSuite = {
  name: "state-tree",
  async run(): Promise<BenchResult[]> {
    const batches = await measureBatches();
    const rebuildSeconds = measureRebuild();
    return [
      {
        name: `update batches of ${BATCH_SIZE} keys into a ${TREE_SIZE / 1000}k-key tree (memory store, 1 core)`,
        value: batches.updatesPerSecond,
        unit: "updates/s",
        note: `${batches.readsPerBatch.toFixed(0)} node reads, ${batches.nodesPerBatch.toFixed(0)} new nodes per batch`,
      },
      {
        name: `rootFromLeaves over ${TREE_SIZE / 1000}k leaves`,
        value: rebuildSeconds,
        unit: "s",
        lowerIsBetter: true,
      },
    ];
  },
};
