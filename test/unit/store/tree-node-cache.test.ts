import { describe, expect, it } from "vitest";
import { sha256 } from "../../../src/primitives/hash.js";
import {
  TREE_NODE_CACHE_ENTRY_BYTES,
  TREE_NODE_CACHE_ENTRY_LENGTH,
  TreeNodeCache,
} from "../../../src/store/tree-node-cache.js";

const enc = new TextEncoder();
const hashOf = (i: number): Uint8Array => sha256(enc.encode(`node ${i}`));
const nodeOf = (i: number): Uint8Array => {
  const node = new Uint8Array(65);
  node[0] = 1;
  node.set(sha256(enc.encode(`left ${i}`)), 1);
  node.set(sha256(enc.encode(`right ${i}`)), 33);
  return node;
};
/** A cache whose generations hold `entries` nodes each. */
const cacheOf = (entries: number): TreeNodeCache =>
  new TreeNodeCache(2 * entries * TREE_NODE_CACHE_ENTRY_BYTES);

describe("TreeNodeCache", () => {
  it("returns the node stored under a hash and undefined for unknown hashes", () => {
    const cache = cacheOf(100);
    for (let i = 0; i < 50; i++) cache.set(hashOf(i), nodeOf(i));
    for (let i = 0; i < 50; i++) expect(cache.get(hashOf(i))).toEqual(nodeOf(i));
    expect(cache.get(hashOf(50))).toBeUndefined();
  });

  it("tells apart hashes that share the first four bytes (same start slot)", () => {
    const cache = cacheOf(16);
    const a = hashOf(1);
    const b = a.slice();
    b[31] = b[31]! ^ 1;
    cache.set(a, nodeOf(1));
    expect(cache.get(b)).toBeUndefined();
    cache.set(b, nodeOf(2));
    expect(cache.get(a)).toEqual(nodeOf(1));
    expect(cache.get(b)).toEqual(nodeOf(2));
  });

  it("tells apart hashes that share the first five bytes (same start slot and tag)", () => {
    const cache = cacheOf(64);
    const base = hashOf(7);
    const variants = Array.from({ length: 20 }, (_, i) => {
      const h = base.slice();
      h[5 + (i % 27)] = h[5 + (i % 27)]! ^ (1 + Math.floor(i / 27));
      return h;
    });
    for (const [i, h] of variants.entries()) cache.set(h, nodeOf(i));
    for (const [i, h] of variants.entries()) expect(cache.get(h)).toEqual(nodeOf(i));
    expect(cache.get(base)).toBeUndefined();
  });

  it("setEntries adds hash|node entries as laid out in the state tree's NewTreeNodes", () => {
    const cache = cacheOf(100);
    const entries = new Uint8Array(10 * TREE_NODE_CACHE_ENTRY_LENGTH + 50);
    for (let i = 0; i < 10; i++) {
      entries.set(hashOf(i), i * TREE_NODE_CACHE_ENTRY_LENGTH);
      entries.set(nodeOf(i), i * TREE_NODE_CACHE_ENTRY_LENGTH + 32);
    }
    cache.set(hashOf(3), nodeOf(3));
    cache.setEntries(entries, 9);
    expect(cache.size).toBe(9);
    for (let i = 0; i < 9; i++) expect(cache.get(hashOf(i))).toEqual(nodeOf(i));
    expect(cache.get(hashOf(9))).toBeUndefined();
    expect(() => cache.setEntries(entries, 11)).toThrow(RangeError);
  });

  it("keeps at most two generations: the weight never passes the capacity", () => {
    const cache = cacheOf(10);
    for (let i = 0; i < 100; i++) {
      cache.set(hashOf(i), nodeOf(i));
      expect(cache.weight).toBeLessThanOrEqual(2 * 10 * TREE_NODE_CACHE_ENTRY_BYTES);
    }
    expect(cache.get(hashOf(0))).toBeUndefined();
    expect(cache.get(hashOf(99))).toEqual(nodeOf(99));
  });

  it("a hit in the old generation survives the next ageing", () => {
    const cache = cacheOf(10);
    for (let i = 0; i < 10; i++) cache.set(hashOf(i), nodeOf(i));
    cache.set(hashOf(10), nodeOf(10)); // ages 0..9 into the old generation
    expect(cache.get(hashOf(3))).toEqual(nodeOf(3)); // copied back to the young one
    for (let i = 11; i < 19; i++) cache.set(hashOf(i), nodeOf(i)); // young is full again
    cache.set(hashOf(19), nodeOf(19)); // drops 0..9 except the copy of 3
    expect(cache.get(hashOf(3))).toEqual(nodeOf(3));
    expect(cache.get(hashOf(4))).toBeUndefined();
  });

  it("a node handed out keeps its bytes after its generation is dropped", () => {
    const cache = cacheOf(4);
    cache.set(hashOf(0), nodeOf(0));
    const held = cache.get(hashOf(0))!;
    for (let i = 1; i < 40; i++) cache.set(hashOf(i), nodeOf(i));
    expect(cache.get(hashOf(0))).toBeUndefined();
    expect(held).toEqual(nodeOf(0));
  });

  it("rejects a wrong hash or node size with RangeError, and a capacity below two entries", () => {
    const cache = cacheOf(4);
    expect(() => cache.set(new Uint8Array(31), nodeOf(0))).toThrow(RangeError);
    expect(() => cache.set(hashOf(0), new Uint8Array(64))).toThrow(RangeError);
    expect(() => new TreeNodeCache(TREE_NODE_CACHE_ENTRY_BYTES)).toThrow(RangeError);
    expect(() => new TreeNodeCache(1000.5)).toThrow(RangeError);
    // A slot numbers at most 2^23 - 1 entries per generation.
    expect(() => new TreeNodeCache(2 * 2 ** 23 * TREE_NODE_CACHE_ENTRY_BYTES)).toThrow(RangeError);
  });
});

describe("TreeNodeCache growth", () => {
  it("keeps every entry and every view handed out while a generation grows past its first size", () => {
    const cache = cacheOf(20_000);
    cache.set(hashOf(0), nodeOf(0));
    const early = cache.get(hashOf(0))!;
    for (let i = 1; i < 10_000; i++) cache.set(hashOf(i), nodeOf(i));
    for (let i = 0; i < 10_000; i += 97) expect(cache.get(hashOf(i))).toEqual(nodeOf(i));
    expect(cache.get(hashOf(9_999))).toEqual(nodeOf(9_999));
    expect(cache.size).toBe(10_000);
    expect(early).toEqual(nodeOf(0));
  });
});
