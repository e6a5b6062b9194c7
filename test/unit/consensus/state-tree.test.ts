import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeTreeNode,
  EMPTY_TREE_ROOT,
  encodeTreeNode,
  getValue,
  hashTreeNode,
  MemoryTreeNodeStore,
  rootFromLeaves,
  StateTreeError,
  StateTreeErrorCode,
  type TreeLeaf,
  type TreeNode,
  type TreeNodeReader,
  type TreeUpdate,
  updateTree,
} from "../../../src/consensus/state-tree.js";
import { concatBytes, fromHex, toHex } from "../../../src/primitives/bytes.js";
import { sha256 } from "../../../src/primitives/hash.js";

const enc = new TextEncoder();
const key = (i: number): Uint8Array => sha256(enc.encode(`key ${i}`));
const val = (i: number): Uint8Array => sha256(enc.encode(`value ${i}`));
const ZERO32 = new Uint8Array(32);

/** A 32-byte key from a hex prefix, zero-padded on the right. */
const keyFromPrefix = (hexPrefix: string): Uint8Array => fromHex(hexPrefix.padEnd(64, "0"));

// The hashes of the module comment, written out from the spec rather than through the module.
const leafHash = (k: Uint8Array, v: Uint8Array): Uint8Array => sha256(concatBytes(new Uint8Array([0]), k, v));
const nodeHash = (l: Uint8Array, r: Uint8Array): Uint8Array => sha256(concatBytes(new Uint8Array([1]), l, r));

/** A reader that counts calls and remembers which hashes it was asked for. */
class CountingReader implements TreeNodeReader {
  reads = 0;
  readonly asked: string[] = [];
  constructor(private readonly inner: TreeNodeReader) {}
  async getNode(hash: Uint8Array): Promise<Uint8Array | undefined> {
    this.reads++;
    this.asked.push(toHex(hash));
    return this.inner.getNode(hash);
  }
}

/** Applies a batch and persists its nodes, as the chain does. */
async function apply(
  store: MemoryTreeNodeStore,
  root: Uint8Array,
  updates: readonly TreeUpdate[],
): Promise<Uint8Array> {
  const result = await updateTree(root, updates, store);
  store.putNodes(result.newNodes);
  return result.root;
}

const inserts = (indices: readonly number[]): TreeUpdate[] =>
  indices.map((i) => ({ key: key(i), valueHash: val(i) }));
const leavesOf = (indices: readonly number[]): TreeLeaf[] =>
  indices.map((i) => ({ key: key(i), valueHash: val(i) }));
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

async function expectTreeError(promise: Promise<unknown>, code: StateTreeErrorCode): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StateTreeError);
  expect((err as StateTreeError).code).toBe(code);
}

describe("state tree: shape and hashes", () => {
  it("the empty tree's root is 32 zero bytes, from every constructor", async () => {
    expect(EMPTY_TREE_ROOT).toEqual(ZERO32);
    expect(rootFromLeaves([])).toEqual(ZERO32);
    const result = await updateTree(EMPTY_TREE_ROOT, [], new MemoryTreeNodeStore());
    expect(result.root).toEqual(ZERO32);
    expect(result.newNodes.size).toBe(0);
  });

  it("a single insert's root is the leaf hash SHA-256(0x00 || key || valueHash)", async () => {
    const result = await updateTree(EMPTY_TREE_ROOT, inserts([1]), new MemoryTreeNodeStore());
    expect(result.root).toEqual(leafHash(key(1), val(1)));
    expect([...result.newNodes]).toEqual([
      [toHex(result.root), concatBytes(new Uint8Array([0]), key(1), val(1))],
    ]);
  });

  const a = val(1);
  const b = val(2);
  const c = val(3);
  it.each([
    {
      name: "keys that differ in bit 0 are the two children of the root",
      leaves: [
        { key: keyFromPrefix("00"), valueHash: a },
        { key: keyFromPrefix("80"), valueHash: b },
      ],
      root: nodeHash(leafHash(keyFromPrefix("00"), a), leafHash(keyFromPrefix("80"), b)),
    },
    {
      name: "keys sharing bit 0 sit under an internal node with an empty sibling",
      leaves: [
        { key: keyFromPrefix("00"), valueHash: a },
        { key: keyFromPrefix("40"), valueHash: b },
      ],
      root: nodeHash(nodeHash(leafHash(keyFromPrefix("00"), a), leafHash(keyFromPrefix("40"), b)), ZERO32),
    },
    {
      name: "a lone leaf beside an internal node stays at the highest level",
      leaves: [
        { key: keyFromPrefix("00"), valueHash: a },
        { key: keyFromPrefix("40"), valueHash: b },
        { key: keyFromPrefix("c0"), valueHash: c },
      ],
      root: nodeHash(
        nodeHash(leafHash(keyFromPrefix("00"), a), leafHash(keyFromPrefix("40"), b)),
        leafHash(keyFromPrefix("c0"), c),
      ),
    },
  ])("known shape: $name", async ({ leaves, root }) => {
    expect(toHex(rootFromLeaves(leaves))).toBe(toHex(root));
    const incremental = await apply(new MemoryTreeNodeStore(), EMPTY_TREE_ROOT, leaves);
    expect(toHex(incremental)).toBe(toHex(root));
  });

  it("keys that differ only in the last bit: a 255-deep path that collapses back on delete", async () => {
    const k0 = new Uint8Array(32);
    const k1 = new Uint8Array(32);
    k1[31] = 1;
    const store = new MemoryTreeNodeStore();
    const one = await apply(store, EMPTY_TREE_ROOT, [{ key: k0, valueHash: val(0) }]);
    const two = await apply(store, one, [{ key: k1, valueHash: val(1) }]);
    let expected = nodeHash(leafHash(k0, val(0)), leafHash(k1, val(1)));
    for (let depth = 254; depth >= 0; depth--) expected = nodeHash(expected, ZERO32);
    expect(toHex(two)).toBe(toHex(expected));
    expect(await getValue(two, k1, store)).toEqual(val(1));
    expect(await getValue(two, k0, store)).toEqual(val(0));
    expect(toHex(await apply(store, two, [{ key: k1, valueHash: null }]))).toBe(toHex(one));
  });
});

describe("state tree: updates", () => {
  it.each([
    { name: "one batch", batches: [range(50)] },
    { name: "one key at a time, ascending", batches: range(50).map((i) => [i]) },
    { name: "one key at a time, descending", batches: range(50).map((i) => [49 - i]) },
    {
      name: "uneven batches",
      batches: [range(7), range(30).map((i) => i + 7), range(13).map((i) => i + 37)],
    },
  ])("order independence: $name gives the rootFromLeaves root", async ({ batches }) => {
    const store = new MemoryTreeNodeStore();
    let root = EMPTY_TREE_ROOT;
    for (const batch of batches) root = await apply(store, root, inserts(batch));
    expect(toHex(root)).toBe(toHex(rootFromLeaves(leavesOf(range(50)))));
  });

  it("deleting a key restores exactly the root from before its insertion", async () => {
    const store = new MemoryTreeNodeStore();
    let root = EMPTY_TREE_ROOT;
    for (let i = 0; i < 40; i++) {
      const before = root;
      const withKey = await apply(store, before, inserts([i]));
      expect(toHex(await apply(store, withKey, [{ key: key(i), valueHash: null }]))).toBe(toHex(before));
      root = withKey;
    }
    // and deleting everything in one batch gives the empty tree back
    const deletes = range(40).map((i) => ({ key: key(i), valueHash: null }));
    expect(await apply(store, root, deletes)).toEqual(EMPTY_TREE_ROOT);
  });

  it("updating an existing key changes the root, and updating it back restores it", async () => {
    const store = new MemoryTreeNodeStore();
    const root = await apply(store, EMPTY_TREE_ROOT, inserts(range(20)));
    const changed = await apply(store, root, [{ key: key(5), valueHash: val(999) }]);
    expect(toHex(changed)).not.toBe(toHex(root));
    expect(await getValue(changed, key(5), store)).toEqual(val(999));
    expect(toHex(await apply(store, changed, [{ key: key(5), valueHash: val(5) }]))).toBe(toHex(root));
  });

  it("deleting an absent key or rewriting the same value changes nothing and creates no node", async () => {
    const store = new MemoryTreeNodeStore();
    const root = await apply(store, EMPTY_TREE_ROOT, inserts(range(20)));
    const result = await updateTree(
      root,
      [
        { key: key(1000), valueHash: null },
        { key: key(3), valueHash: val(3) },
      ],
      store,
    );
    expect(toHex(result.root)).toBe(toHex(root));
    expect(result.newNodes.size).toBe(0);
  });

  it("every new node is returned under its hash, and nothing of the old tree is deleted", async () => {
    const store = new MemoryTreeNodeStore();
    const old = await apply(store, EMPTY_TREE_ROOT, inserts(range(30)));
    const result = await updateTree(old, [...inserts([100]), { key: key(4), valueHash: null }], store);
    for (const [hash, encoded] of result.newNodes) expect(toHex(sha256(encoded))).toBe(hash);
    store.putNodes(result.newNodes);
    // the old root is still fully readable: undoing a block only restores the old root
    for (const i of range(30)) expect(await getValue(old, key(i), store)).toEqual(val(i));
    expect(await getValue(result.root, key(4), store)).toBeNull();
  });
});

describe("state tree: getValue", () => {
  it("returns the value hash of present keys and null for absent ones", async () => {
    const store = new MemoryTreeNodeStore();
    const root = await apply(store, EMPTY_TREE_ROOT, inserts(range(64)));
    for (const i of range(64)) expect(await getValue(root, key(i), store)).toEqual(val(i));
    for (const i of range(64)) expect(await getValue(root, key(1000 + i), store)).toBeNull();
    expect(await getValue(EMPTY_TREE_ROOT, key(1), store)).toBeNull();
  });
});

describe("state tree: damaged store", () => {
  it("STATE_TREE_MISSING_NODE: a node the root points to is absent from the store", async () => {
    const built = await updateTree(EMPTY_TREE_ROOT, inserts(range(10)), new MemoryTreeNodeStore());
    const empty = new MemoryTreeNodeStore();
    await expectTreeError(updateTree(built.root, inserts([99]), empty), StateTreeErrorCode.MISSING_NODE);
    await expectTreeError(getValue(built.root, key(1), empty), StateTreeErrorCode.MISSING_NODE);

    // one interior node lost, the rest present
    const partial = new MemoryTreeNodeStore();
    const lost = [...built.newNodes].find(([hash, bytes]) => bytes[0] === 1 && hash !== toHex(built.root))!;
    partial.putNodes([...built.newNodes].filter(([hash]) => hash !== lost[0]));
    const all = range(10).map((i) =>
      getValue(built.root, key(i), partial).then(
        () => "ok",
        (e: unknown) => e,
      ),
    );
    const outcomes = await Promise.all(all);
    const missing = outcomes.filter(
      (o) => o instanceof StateTreeError && o.code === StateTreeErrorCode.MISSING_NODE,
    );
    expect(missing.length).toBeGreaterThan(0);
    expect((missing[0] as StateTreeError).type.nodeHash).toBe(lost[0]);
  });

  it("STATE_TREE_CORRUPT_NODE: the store returns bytes that do not hash to the requested hash", async () => {
    const store = new MemoryTreeNodeStore();
    const root = await apply(store, EMPTY_TREE_ROOT, inserts(range(10)));
    const flipping: TreeNodeReader = {
      async getNode(hash) {
        const bytes = await store.getNode(hash);
        if (!bytes) return bytes;
        const copy = bytes.slice();
        copy[40]! ^= 1;
        return copy;
      },
    };
    await expectTreeError(updateTree(root, inserts([99]), flipping), StateTreeErrorCode.CORRUPT_NODE);
    await expectTreeError(getValue(root, key(1), flipping), StateTreeErrorCode.CORRUPT_NODE);
  });
});

describe("state tree: node codec", () => {
  const leaf: TreeNode = { kind: "leaf", key: key(1), valueHash: val(1) };
  const internal: TreeNode = { kind: "internal", left: key(2), right: ZERO32 };
  it.each([
    { name: "leaf", node: leaf, hex: `00${toHex(key(1))}${toHex(val(1))}` },
    {
      name: "internal with an empty right side",
      node: internal,
      hex: `01${toHex(key(2))}${"00".repeat(32)}`,
    },
  ])("encodes, decodes and hashes a $name", ({ node, hex }) => {
    const encoded = encodeTreeNode(node);
    expect(toHex(encoded)).toBe(hex);
    expect(decodeTreeNode(encoded)).toEqual(node);
    expect(hashTreeNode(node)).toEqual(sha256(fromHex(hex)));
  });

  it.each([
    { name: "empty input", hex: "" },
    { name: "truncated leaf", hex: `00${toHex(key(1))}` },
    { name: "trailing byte", hex: `00${toHex(key(1))}${toHex(val(1))}00` },
    { name: "unknown tag", hex: `02${toHex(key(1))}${toHex(val(1))}` },
    { name: "internal node with two empty sides", hex: `01${"00".repeat(64)}` },
  ])("STATE_TREE_MALFORMED_NODE: $name", ({ hex }) => {
    let err: unknown;
    try {
      decodeTreeNode(fromHex(hex));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StateTreeError);
    expect((err as StateTreeError).code).toBe(StateTreeErrorCode.MALFORMED_NODE);
  });

  it("property: decode(encode(node)) = node for any leaf or non-empty internal node", () => {
    const hash = fc.uint8Array({ minLength: 32, maxLength: 32 });
    const node: fc.Arbitrary<TreeNode> = fc.oneof(
      fc.record({ kind: fc.constant("leaf" as const), key: hash, valueHash: hash }),
      fc
        .record({ kind: fc.constant("internal" as const), left: hash, right: hash })
        .filter((n) => n.left.some((x) => x !== 0) || n.right.some((x) => x !== 0)),
    );
    fc.assert(
      fc.property(node, (n) => {
        expect(decodeTreeNode(encodeTreeNode(n))).toEqual(n);
      }),
    );
  });
});

describe("state tree: boundary assertions", () => {
  const store = new MemoryTreeNodeStore();
  it.each([
    { name: "31-byte key", updates: [{ key: new Uint8Array(31), valueHash: val(1) }] },
    { name: "33-byte value hash", updates: [{ key: key(1), valueHash: new Uint8Array(33) }] },
    {
      name: "a duplicate key in one batch",
      updates: [
        { key: key(1), valueHash: val(1) },
        { key: key(1), valueHash: null },
      ],
    },
  ])("updateTree rejects $name with RangeError", async ({ updates }) => {
    await expect(updateTree(EMPTY_TREE_ROOT, updates, store)).rejects.toThrow(RangeError);
  });

  it("rejects a short root, a bad key type, duplicate leaves and a missing reader", async () => {
    await expect(updateTree(new Uint8Array(31), [], store)).rejects.toThrow(RangeError);
    await expect(getValue(EMPTY_TREE_ROOT, new Uint8Array(16), store)).rejects.toThrow(RangeError);
    const notBytes = [{ key: "ab" as unknown as Uint8Array, valueHash: val(1) }];
    await expect(updateTree(EMPTY_TREE_ROOT, notBytes, store)).rejects.toThrow(TypeError);
    expect(() => rootFromLeaves([...leavesOf([1, 2]), ...leavesOf([1])])).toThrow(RangeError);
    expect(() => rootFromLeaves([{ key: key(1), valueHash: new Uint8Array(1) }])).toThrow(RangeError);
    await expect(updateTree(EMPTY_TREE_ROOT, [], {} as TreeNodeReader)).rejects.toThrow(TypeError);
  });
});

describe("state tree: cost", () => {
  it("updating 1 key in a 10k-key tree reads O(depth) nodes, each once", async () => {
    const store = new MemoryTreeNodeStore();
    const root = await apply(store, EMPTY_TREE_ROOT, inserts(range(10_000)));
    for (const update of [
      ...inserts([20_000]),
      { key: key(17), valueHash: val(1) },
      { key: key(42), valueHash: null },
    ]) {
      const reader = new CountingReader(store);
      await updateTree(root, [update], reader);
      // log2(10k) ≈ 13.3; a deletion may read one sibling more to collapse the tree.
      expect(reader.reads).toBeLessThan(64);
      expect(new Set(reader.asked).size).toBe(reader.reads);
    }
  });

  it("a batch of 100 updates reads each shared-prefix node once", async () => {
    const store = new MemoryTreeNodeStore();
    const root = await apply(store, EMPTY_TREE_ROOT, inserts(range(10_000)));
    const reader = new CountingReader(store);
    await updateTree(root, inserts(range(100).map((i) => i * 97)), reader);
    expect(new Set(reader.asked).size).toBe(reader.reads);
    // 100 separate paths of ~14 nodes would be ~1400 reads; the top levels are shared.
    expect(reader.reads).toBeLessThan(100 * 14);
  });
});

describe("state tree: property-based against rootFromLeaves", () => {
  // Keys drawn from a small pool (4 · 3 · 80 = 960 keys; a plan touches ≤ 8 · 25 = 200), differing only in
  // bytes 0, 1 and 31: paths share long prefixes (internal chains up to ~250 deep with empty
  // siblings), and deletes often hit present keys.
  const poolKey = fc
    .tuple(
      fc.constantFrom(0x00, 0x01, 0x80, 0xff),
      fc.constantFrom(0x00, 0x7f, 0x80),
      fc.integer({ min: 0, max: 79 }),
    )
    .map(([b0, b1, n]) => {
      const k = new Uint8Array(32);
      k[0] = b0;
      k[1] = b1;
      k[31] = n;
      return k;
    });
  const op = fc.record({
    key: poolKey,
    valueHash: fc.option(fc.constantFrom(val(1), val(2), val(3)), { freq: 3 }),
  });
  const batches = fc.array(fc.array(op, { maxLength: 25 }), { minLength: 1, maxLength: 8 });

  it("random insert/delete batches over ≤200 keys give the rootFromLeaves root after every batch", async () => {
    await fc.assert(
      fc.asyncProperty(batches, async (plan) => {
        const store = new MemoryTreeNodeStore();
        const model = new Map<string, TreeLeaf>();
        let root = EMPTY_TREE_ROOT;
        for (const ops of plan) {
          // one update per key per batch (the last one wins), as the chain builds them
          const batch = new Map<string, TreeUpdate>();
          for (const o of ops) batch.set(toHex(o.key), o);
          root = await apply(store, root, [...batch.values()]);
          for (const [hex, u] of batch) {
            if (u.valueHash === null) model.delete(hex);
            else model.set(hex, { key: u.key, valueHash: u.valueHash });
          }
          expect(toHex(root)).toBe(toHex(rootFromLeaves([...model.values()])));
        }
        for (const leaf of model.values())
          expect(await getValue(root, leaf.key, store)).toEqual(leaf.valueHash);
      }),
      { numRuns: 80 },
    );
  });

  it("random sets of ≤200 random keys: incremental in random batches = rootFromLeaves, deleting all = empty", async () => {
    const keys = fc.uniqueArray(fc.uint8Array({ minLength: 32, maxLength: 32 }), {
      maxLength: 200,
      selector: (k) => toHex(k),
    });
    await fc.assert(
      fc.asyncProperty(keys, fc.integer({ min: 1, max: 50 }), async (ks, batchSize) => {
        const leaves = ks.map((k, i) => ({ key: k, valueHash: val(i) }));
        const store = new MemoryTreeNodeStore();
        let root = EMPTY_TREE_ROOT;
        for (let i = 0; i < leaves.length; i += batchSize)
          root = await apply(store, root, leaves.slice(i, i + batchSize));
        expect(toHex(root)).toBe(toHex(rootFromLeaves(leaves)));
        const deletes = ks.map((k) => ({ key: k, valueHash: null }));
        for (let i = 0; i < deletes.length; i += batchSize)
          root = await apply(store, root, deletes.slice(i, i + batchSize));
        expect(root).toEqual(EMPTY_TREE_ROOT);
      }),
      { numRuns: 60 },
    );
  });
});
