import {
  EMPTY_TREE_ROOT,
  MemoryTreeNodeStore,
  type NewTreeNodes,
  rootFromLeaves,
  type TreeLeaf,
  type TreeNodeReader,
  type TreeUpdate,
  updateTree,
} from "../src/consensus/state-tree.js";
import { sha256Node } from "../src/consensus/tree-hash.js";
import { sha256 } from "../src/primitives/hash.js";
import { TreeNodeCache } from "../src/store/tree-node-cache.js";
import { type BenchResult, type BenchSuite, opsPerSecond } from "./harness.js";

const TREE_SIZE = 100_000;
const BATCH_SIZE = 100;
const MIN_MS = 3000;
/** The target for batched updates with the nodes cached, as the chain runs them. */
const TARGET_UPDATES_PER_SECOND = 40_000;

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
 * The chain store's tree-node cache without LevelDB: the nodes of each `newNodes` go into the same
 * TreeNodeCache (nodes held verified by hash), so the tree reads them synchronously and does not
 * hash them again. Sized to hold the whole tree, as a warm chain store's cache holds the hot paths.
 */
class VerifiedMemoryReader implements TreeNodeReader {
  reads = 0;
  private readonly cache = new TreeNodeCache(512 * 1024 * 1024);
  async getNode(hash: Uint8Array): Promise<Uint8Array | undefined> {
    return this.cache.get(hash);
  }
  getVerifiedNode(hash: Uint8Array): Uint8Array | undefined {
    this.reads++;
    return this.cache.get(hash);
  }
  putNodes(nodes: NewTreeNodes): void {
    this.cache.setEntries(nodes.entries, nodes.size);
  }
}

interface BatchRun {
  updatesPerSecond: number;
  readsPerBatch: number;
  nodesPerBatch: number;
}

/**
 * Batch updates into a 100k-key tree held in the in-memory store: each batch of 100 keys is half
 * existing accounts getting new values and half new accounts, like a block of transfers; the
 * returned nodes are persisted into the store, as the chain does.
 */
async function measureBatches(cached: boolean): Promise<BatchRun> {
  const disk = new MemoryTreeNodeStore();
  const verified = new VerifiedMemoryReader();
  const counting = new CountingReader(disk);
  const store = cached
    ? { reader: verified as TreeNodeReader, putNodes: (n: NewTreeNodes) => verified.putNodes(n) }
    : { reader: counting as TreeNodeReader, putNodes: (n: NewTreeNodes) => disk.putNodes(n) };
  const initial: TreeUpdate[] = Array.from({ length: TREE_SIZE }, (_, i) => ({
    key: benchKey(i),
    valueHash: benchValue(i, 0),
  }));
  const built = await updateTree(EMPTY_TREE_ROOT, initial, store.reader);
  store.putNodes(built.newNodes);
  let root = built.root;
  let nextNew = TREE_SIZE;
  let batches = 0;
  let nodes = 0;
  // Only updateTree and storing its nodes are timed; making the keys (SHA-256 by node:crypto) is not.
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
    const start = performance.now();
    const result = await updateTree(root, updates, store.reader);
    store.putNodes(result.newNodes);
    elapsed += performance.now() - start;
    root = result.root;
    nodes += result.newNodes.size;
    batches++;
  }
  return {
    updatesPerSecond: (batches * BATCH_SIZE * 1000) / elapsed,
    readsPerBatch: (cached ? verified.reads : counting.reads) / batches,
    nodesPerBatch: nodes / batches,
  };
}

/**
 * The machine limit of the update rows: the tree's SHA-256 of 65-byte nodes, alone, on one core
 * (every new node is hashed once; nothing else in an update is required work). Also node:crypto's
 * one-shot hash of the same input, for comparison.
 */
function measureNodeHashing(): { treeHasher: number; nodeCrypto: number } {
  const inputs = Array.from({ length: 256 }, (_, i) => {
    const node = new Uint8Array(65);
    node.set(benchKey(i), 1);
    node.set(benchValue(i, 0), 33);
    return node;
  });
  const out = new Uint8Array(32);
  const perCall = 1000;
  let n = 0;
  const treeHasher = opsPerSecond(() => {
    for (let i = 0; i < perCall; i++) sha256Node(inputs[n++ & 255]!, 0, out, 0);
  }, 1000);
  const nodeCrypto = opsPerSecond(() => {
    for (let i = 0; i < perCall; i++) sha256(inputs[n++ & 255]!);
  }, 1000);
  return { treeHasher: treeHasher * perCall, nodeCrypto: nodeCrypto * perCall };
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
    const hashing = measureNodeHashing();
    const cached = await measureBatches(true);
    const cold = await measureBatches(false);
    const rebuildSeconds = measureRebuild();
    // If hashing the new nodes were all an update did: node hashes per second / new nodes per update.
    const limitOf = (run: BatchRun) => (hashing.treeHasher * BATCH_SIZE) / run.nodesPerBatch;
    return [
      {
        name: `update batches of ${BATCH_SIZE} keys into a ${TREE_SIZE / 1000}k-key tree (memory, verified-node cache as in ChainStore, 1 core)`,
        value: cached.updatesPerSecond,
        unit: "updates/s",
        target: TARGET_UPDATES_PER_SECOND,
        limit: limitOf(cached),
        note: `${cached.readsPerBatch.toFixed(0)} cached node reads, ${cached.nodesPerBatch.toFixed(0)} new nodes per batch; limit = node hashes/s ÷ new nodes per update`,
      },
      {
        name: `update batches of ${BATCH_SIZE} keys into a ${TREE_SIZE / 1000}k-key tree (memory store, every read verified, 1 core)`,
        value: cold.updatesPerSecond,
        unit: "updates/s",
        limit: (hashing.treeHasher * BATCH_SIZE) / (cold.nodesPerBatch + cold.readsPerBatch),
        note: `${cold.readsPerBatch.toFixed(0)} node reads (each hashed), ${cold.nodesPerBatch.toFixed(0)} new nodes per batch; limit = node hashes/s ÷ (reads + new nodes) per update`,
      },
      {
        name: "SHA-256 of 65-byte tree nodes, tree hasher (1 core)",
        value: hashing.treeHasher,
        unit: "hashes/s",
        note: `node:crypto one-shot hash of the same input: ${Math.round(hashing.nodeCrypto).toLocaleString("en-US")}/s`,
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
