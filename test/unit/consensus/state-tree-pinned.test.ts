import { describe, expect, it } from "vitest";
import {
  EMPTY_TREE_ROOT,
  MemoryTreeNodeStore,
  rootFromLeaves,
  type TreeNodeReader,
  type TreeUpdate,
  updateTree,
} from "../../../src/consensus/state-tree.js";
import { toHex } from "../../../src/primitives/bytes.js";
import { sha256 } from "../../../src/primitives/hash.js";
import { TreeNodeCache } from "../../../src/store/tree-node-cache.js";

/**
 * Roots pinned from the code of 2026-12-05 before the tree's performance work (commit b1f6a33):
 * any change to how the tree hashes, lays out or emits nodes must leave every root, every created
 * node and their order bit-identical. The key set is fixed (SHA-256 of a counter), the batches mix
 * value changes, inserts and deletions (including deletions that collapse a subtree into a leaf).
 */

const u32 = (n: number): Uint8Array => Uint8Array.of(n >>> 24, n >>> 16, n >>> 8, n);
const key = (i: number): Uint8Array => sha256(Uint8Array.of(0x6b), u32(i));
const val = (i: number, round: number): Uint8Array => sha256(Uint8Array.of(0x76), u32(i), u32(round));

const TREE = 3000;
const BATCHES = 40;

/** Batch `b`: 40 existing keys re-valued, 30 new keys, 30 deletions (of keys inserted so far). */
function batch(b: number): TreeUpdate[] {
  const out = new Map<number, TreeUpdate>();
  for (let j = 0; j < 40; j++) {
    const i = ((b * 40 + j) * 2654435761) % TREE;
    out.set(i, { key: key(i), valueHash: val(i, b + 1) });
  }
  for (let j = 0; j < 30; j++) {
    const i = TREE + b * 30 + j;
    out.set(i, { key: key(i), valueHash: val(i, 0) });
  }
  for (let j = 0; j < 30; j++) {
    const i = ((b * 30 + j) * 40503 + 7) % (TREE + b * 30);
    out.set(i, { key: key(i), valueHash: null });
  }
  return [...out.values()];
}

/** A reader over the store's verified-node cache, as ChainStore serves the tree. */
class CacheReader implements TreeNodeReader {
  readonly cache = new TreeNodeCache(4 * 1024 * 1024);
  constructor(readonly disk: MemoryTreeNodeStore) {}
  getNode(hash: Uint8Array): Promise<Uint8Array | undefined> {
    return this.disk.getNode(hash);
  }
  getVerifiedNode(hash: Uint8Array): Uint8Array | undefined {
    return this.cache.get(hash);
  }
  nodeVerified(hash: Uint8Array, encoded: Uint8Array): void {
    this.cache.set(hash, encoded);
  }
}

/** SHA-256 over every created node (hash then encoding) in the order `newNodes` lists them. */
function digestOfNodes(nodes: Iterable<[string, Uint8Array]>, into: Uint8Array[]): void {
  for (const [hash, encoding] of nodes) {
    into.push(sha256(new TextEncoder().encode(hash), encoding));
  }
}

const PINNED_INITIAL_ROOT = "4110fd5dac9ae2ce943d8777465467bee60194bfb059939f1aa6d38f230bd028";
const PINNED_FINAL_ROOT = "def044d95b0fcc37da2d777fb269016f49e1a7d1fe44c59ec650d8271681e105";
const PINNED_ROOTS_DIGEST = "5afd3728b91bd85d583e1ecd74ae3eabfa14274d769827c7ee04b53403f13145";
const PINNED_NODES_DIGEST = "0cf20f6176d2b1bb586e6164ad783daf5759bde5836d40ac99b6a63a522f5aab";
const PINNED_NODE_COUNT = 26274;

async function run(reader: TreeNodeReader, disk: MemoryTreeNodeStore, cache?: TreeNodeCache) {
  const initial = Array.from({ length: TREE }, (_, i) => ({ key: key(i), valueHash: val(i, 0) }));
  const built = await updateTree(EMPTY_TREE_ROOT, initial, reader);
  disk.putNodes(built.newNodes);
  if (cache)
    for (let i = 0; i < built.newNodes.size; i++)
      cache.set(built.newNodes.hashAt(i), built.newNodes.encodingAt(i));
  let root = built.root;
  const roots: Uint8Array[] = [root];
  const nodeDigests: Uint8Array[] = [];
  let nodeCount = 0;
  for (let b = 0; b < BATCHES; b++) {
    const result = await updateTree(root, batch(b), reader);
    disk.putNodes(result.newNodes);
    if (cache)
      for (let i = 0; i < result.newNodes.size; i++)
        cache.set(result.newNodes.hashAt(i), result.newNodes.encodingAt(i));
    digestOfNodes(result.newNodes, nodeDigests);
    nodeCount += result.newNodes.size;
    root = result.root;
    roots.push(root);
  }
  return {
    initial: toHex(built.root),
    final: toHex(root),
    roots: toHex(sha256(...roots)),
    nodes: toHex(sha256(...nodeDigests)),
    nodeCount,
  };
}

describe("state tree: roots pinned from the code before the performance work", () => {
  it("a 3000-key tree and 40 mixed batches give the pinned roots and nodes (every read verified)", async () => {
    const disk = new MemoryTreeNodeStore();
    const got = await run(disk, disk);
    expect(got).toEqual({
      initial: PINNED_INITIAL_ROOT,
      final: PINNED_FINAL_ROOT,
      roots: PINNED_ROOTS_DIGEST,
      nodes: PINNED_NODES_DIGEST,
      nodeCount: PINNED_NODE_COUNT,
    });
  });

  it("the same through the chain store's verified-node cache", async () => {
    const disk = new MemoryTreeNodeStore();
    const reader = new CacheReader(disk);
    const got = await run(reader, disk, reader.cache);
    expect(got.final).toBe(PINNED_FINAL_ROOT);
    expect(got.roots).toBe(PINNED_ROOTS_DIGEST);
    expect(got.nodes).toBe(PINNED_NODES_DIGEST);
  });

  it("rootFromLeaves over the final key set gives the pinned final root", async () => {
    const model = new Map<number, Uint8Array>();
    for (let i = 0; i < TREE; i++) model.set(i, val(i, 0));
    for (let b = 0; b < BATCHES; b++) {
      for (const u of batch(b)) {
        const i = indexOf(u.key, b);
        if (u.valueHash === null) model.delete(i);
        else model.set(i, u.valueHash);
      }
    }
    const leaves = [...model].map(([i, valueHash]) => ({ key: key(i), valueHash }));
    expect(toHex(rootFromLeaves(leaves))).toBe(PINNED_FINAL_ROOT);
  });
});

/** The key index of an update of batch `b` (keys are SHA-256 of the index, so search the range). */
const keyIndex = new Map<string, number>();
function indexOf(k: Uint8Array, b: number): number {
  if (keyIndex.size === 0 || !keyIndex.has(toHex(k))) {
    for (let i = 0; i < TREE + (b + 1) * 30; i++) keyIndex.set(toHex(key(i)), i);
  }
  return keyIndex.get(toHex(k))!;
}
