import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  EMPTY_TREE_ROOT,
  MemoryTreeNodeStore,
  rootFromLeaves,
  StateTreeError,
  StateTreeErrorCode,
  type TreeNodeReader,
  type TreeUpdate,
  updateTree,
} from "../../../src/consensus/state-tree.js";
import { toHex } from "../../../src/primitives/bytes.js";
import { sha256 } from "../../../src/primitives/hash.js";

const enc = new TextEncoder();
const key = (i: number): Uint8Array => sha256(enc.encode(`key ${i}`));
const val = (i: number): Uint8Array => sha256(enc.encode(`value ${i}`));
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const inserts = (indices: readonly number[]): TreeUpdate[] =>
  indices.map((i) => ({ key: key(i), valueHash: val(i) }));

/**
 * A reader with the optional verified-node cache, as the chain store has: nodes it was given by
 * `remember` (what updateTree created) or that the tree reported through `nodeVerified`.
 */
class VerifiedCacheReader implements TreeNodeReader {
  readonly verified = new Map<string, Uint8Array>();
  readonly reported: string[] = [];
  diskReads = 0;
  constructor(readonly disk: MemoryTreeNodeStore) {}
  async getNode(hash: Uint8Array): Promise<Uint8Array | undefined> {
    this.diskReads++;
    return this.disk.getNode(hash);
  }
  getVerifiedNode(hash: Uint8Array): Uint8Array | undefined {
    return this.verified.get(toHex(hash));
  }
  nodeVerified(hash: Uint8Array, encoded: Uint8Array): void {
    this.reported.push(toHex(hash));
    this.verified.set(toHex(hash), encoded);
  }
  remember(nodes: Iterable<[string, Uint8Array]>): void {
    this.disk.putNodes(nodes);
    for (const [hash, encoded] of nodes) this.verified.set(hash, encoded);
  }
}

async function build(reader: VerifiedCacheReader, indices: readonly number[]): Promise<Uint8Array> {
  const result = await updateTree(EMPTY_TREE_ROOT, inserts(indices), reader);
  reader.remember(result.newNodes);
  return result.root;
}

describe("state tree: a reader's verified-node cache", () => {
  it("serves an update from cached nodes alone: no disk read", async () => {
    const reader = new VerifiedCacheReader(new MemoryTreeNodeStore());
    const root = await build(reader, range(50));
    const result = await updateTree(root, inserts([3, 60]), reader);
    expect(reader.diskReads).toBe(0);
    expect(result.root).toEqual(
      rootFromLeaves([...range(50), 60].map((i) => ({ key: key(i), valueHash: val(i) }))),
    );
  });

  it("reads uncached nodes from disk, checks them, and reports only those to nodeVerified", async () => {
    const disk = new MemoryTreeNodeStore();
    const root = await build(new VerifiedCacheReader(disk), range(50));
    const cold = new VerifiedCacheReader(disk);
    await updateTree(root, inserts([7]), cold);
    expect(cold.diskReads).toBeGreaterThan(0);
    expect(cold.reported).toHaveLength(cold.diskReads);
    for (const [hash, encoded] of cold.verified) expect(toHex(sha256(encoded))).toBe(hash);
    // The same update again is served from what was verified.
    const reads = cold.diskReads;
    await updateTree(root, inserts([7]), cold);
    expect(cold.diskReads).toBe(reads);
  });

  it("STATE_TREE_CORRUPT_NODE: bytes off disk that do not match are refused and never reported", async () => {
    const disk = new MemoryTreeNodeStore();
    const root = await build(new VerifiedCacheReader(disk), range(20));
    const flipped = new MemoryTreeNodeStore();
    for (const [hash, encoded] of await nodesOf(disk, root)) {
      const copy = encoded.slice();
      copy[40]! ^= 1;
      flipped.putNodes([[hash, copy]]);
    }
    const reader = new VerifiedCacheReader(flipped);
    const err = await updateTree(root, inserts([99]), reader).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateTreeError);
    expect((err as StateTreeError).code).toBe(StateTreeErrorCode.CORRUPT_NODE);
    expect(reader.reported).toEqual([]);
  });

  const op = fc.record({
    index: fc.integer({ min: 0, max: 60 }),
    insert: fc.boolean(),
  });
  it("random insert/delete batches give the same roots with and without the cache", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(op, { maxLength: 20 }), { minLength: 1, maxLength: 6 }),
        async (plan) => {
          const plain = new MemoryTreeNodeStore();
          const cached = new VerifiedCacheReader(new MemoryTreeNodeStore());
          let plainRoot = EMPTY_TREE_ROOT;
          let cachedRoot = EMPTY_TREE_ROOT;
          for (const batch of plan) {
            const byKey = new Map<number, TreeUpdate>();
            for (const { index, insert } of batch)
              byKey.set(index, { key: key(index), valueHash: insert ? val(index) : null });
            const updates = [...byKey.values()];
            const a = await updateTree(plainRoot, updates, plain);
            plain.putNodes(a.newNodes);
            plainRoot = a.root;
            const b = await updateTree(cachedRoot, updates, cached);
            cached.remember(b.newNodes);
            cachedRoot = b.root;
            expect(toHex(cachedRoot)).toBe(toHex(plainRoot));
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

/** Every node reachable from `root` in `store`, by hex hash. */
async function nodesOf(store: MemoryTreeNodeStore, root: Uint8Array): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const pending = [root];
  while (pending.length > 0) {
    const hash = pending.pop()!;
    const encoded = await store.getNode(hash);
    if (!encoded) continue;
    out.set(toHex(hash), encoded);
    if (encoded[0] === 1) {
      for (const child of [encoded.slice(1, 33), encoded.slice(33)])
        if (child.some((b) => b !== 0)) pending.push(child);
    }
  }
  return out;
}
