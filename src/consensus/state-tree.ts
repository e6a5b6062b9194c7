import { equalBytes, toHex } from "../primitives/bytes.js";
import { sha256 } from "../primitives/hash.js";
import { QuarryError } from "../util/errors.js";

/**
 * The state tree: a compact sparse Merkle tree over 256-bit keys that commits to every account,
 * and whose updates cost O(touched keys · depth), not O(accounts).
 *
 * Shape (binary "compact SMT", the shape of Diem's Jellyfish Merkle tree with binary nodes):
 * - A key is 32 bytes (callers pass a hash, so keys are uniformly spread); bit i of the key, most
 *   significant bit of byte 0 first, chooses the child at depth i: 0 = left, 1 = right.
 * - A value is an opaque 32-byte value hash (the caller hashes the account encoding).
 * - The empty subtree hashes to 32 zero bytes; the empty tree's root is `EMPTY_TREE_ROOT`.
 * - A subtree holding exactly one leaf IS that leaf, placed at the highest level possible; so a
 *   leaf's hash does not depend on its depth, and the tree's depth is ≈ log2(number of leaves).
 * - An internal node has at least two leaves below it. One of its sides may be empty, but only if
 *   the other side is itself internal (all its keys share the next bit).
 * - Both rules make the shape a function of the key set alone: any insertion order, any batching
 *   and any insert-then-delete yields the same root.
 *
 * Node encoding, 65 bytes (the node hash is SHA-256 of the encoding, so storage is
 * content-addressed and every read can be checked against the hash it was asked for):
 *   leaf:      0x00 | key (32) | valueHash (32)     leafHash     = SHA-256(0x00 || key || valueHash)
 *   internal:  0x01 | left (32) | right (32)       internalHash = SHA-256(0x01 || left || right)
 * The one-byte prefixes keep leaves and internal nodes in separate hash domains (no second
 * preimage by reinterpreting an internal node as a leaf). Empty subtrees are never stored.
 *
 * Storage is injected (`TreeNodeReader`); `updateTree` returns the nodes it created and never
 * deletes anything. Nodes of older roots therefore stay readable: undoing a block only restores
 * the previous root. Pruning unreachable nodes, if ever needed, is a separate job.
 *
 * A node the tree points to but the store lacks, or whose bytes do not hash to the requested
 * hash, is a corrupted store and throws `StateTreeError`; it is never read as an empty subtree,
 * because that would silently compute a wrong state root and reject valid blocks.
 */

/** Byte length of keys, value hashes and node hashes. */
export const TREE_HASH_LENGTH = 32;
/** Byte length of every encoded node. */
export const TREE_NODE_SIZE = 1 + 2 * TREE_HASH_LENGTH;
/** Root (and subtree hash) of the empty tree: 32 zero bytes. */
export const EMPTY_TREE_ROOT: Uint8Array = new Uint8Array(TREE_HASH_LENGTH);

const LEAF_TAG = 0x00;
const INTERNAL_TAG = 0x01;
const KEY_BITS = TREE_HASH_LENGTH * 8;

export enum StateTreeErrorCode {
  /** the store has no node for a hash the tree points to */
  MISSING_NODE = "STATE_TREE_MISSING_NODE",
  /** the store returned bytes that do not hash to the requested node hash */
  CORRUPT_NODE = "STATE_TREE_CORRUPT_NODE",
  /** bytes that are not a node encoding (wrong length, unknown tag, internal node with two empty sides) */
  MALFORMED_NODE = "STATE_TREE_MALFORMED_NODE",
}

export type StateTreeErrorType = { code: StateTreeErrorCode; nodeHash?: string };

/** A state tree failure; MISSING_NODE and CORRUPT_NODE mean the store is damaged. */
export class StateTreeError extends QuarryError<StateTreeErrorType> {}

/** A decoded tree node. */
export type TreeNode =
  | { kind: "leaf"; key: Uint8Array; valueHash: Uint8Array }
  | { kind: "internal"; left: Uint8Array; right: Uint8Array };

/**
 * Reads encoded nodes by node hash. What `getNode` returns is untrusted (it may come off a damaged
 * disk): the tree hashes it and compares. A reader that keeps nodes in memory may also offer the
 * two optional methods below, so nodes it already knows to be right are not hashed again.
 */
export interface TreeNodeReader {
  /** The encoded node, or `undefined` for an unknown hash. */
  getNode(hash: Uint8Array): Promise<Uint8Array | undefined>;
  /**
   * The node for `hash` if the reader holds it verified — created by `updateTree` (the caller
   * stored `newNodes`) or passed to `nodeVerified` — else `undefined`. Synchronous, no I/O; the
   * tree uses these bytes without re-hashing.
   */
  getVerifiedNode?(hash: Uint8Array): Uint8Array | undefined;
  /** Called with each node read through `getNode` once it matched its hash. */
  nodeVerified?(hash: Uint8Array, encoded: Uint8Array): void;
}

/** One change of a batch: `valueHash` sets the key, `null` deletes it. */
export interface TreeUpdate {
  key: Uint8Array;
  valueHash: Uint8Array | null;
}

export interface TreeLeaf {
  key: Uint8Array;
  valueHash: Uint8Array;
}

/** The result of a batch: the new root and the nodes to persist (hex node hash -> encoding). */
export interface TreeUpdateResult {
  root: Uint8Array;
  newNodes: Map<string, Uint8Array>;
}

/** An in-memory node store, for tests, replays and benchmarks. */
export class MemoryTreeNodeStore implements TreeNodeReader {
  private readonly nodes = new Map<string, Uint8Array>();

  async getNode(hash: Uint8Array): Promise<Uint8Array | undefined> {
    return this.nodes.get(toHex(hash));
  }

  /** Adds nodes (as returned in `TreeUpdateResult.newNodes`); existing nodes are kept. */
  putNodes(nodes: Iterable<readonly [string, Uint8Array]>): void {
    for (const [hash, encoded] of nodes) this.nodes.set(hash, encoded);
  }

  /** Number of stored nodes. */
  get size(): number {
    return this.nodes.size;
  }
}

// ---------------------------------------------------------------------------------------------
// Node codec

/** Encodes a node into its 65-byte form. Throws RangeError on wrong sizes or two empty sides. */
export function encodeTreeNode(node: TreeNode): Uint8Array {
  const out = new Uint8Array(TREE_NODE_SIZE);
  if (node.kind === "leaf") {
    assertHash(node.key, "key");
    assertHash(node.valueHash, "valueHash");
    out[0] = LEAF_TAG;
    out.set(node.key, 1);
    out.set(node.valueHash, 1 + TREE_HASH_LENGTH);
  } else if (node.kind === "internal") {
    assertHash(node.left, "left");
    assertHash(node.right, "right");
    if (isEmpty(node.left) && isEmpty(node.right)) throw new RangeError("internal node with two empty sides");
    out[0] = INTERNAL_TAG;
    out.set(node.left, 1);
    out.set(node.right, 1 + TREE_HASH_LENGTH);
  } else {
    throw new TypeError("unknown tree node kind");
  }
  return out;
}

/** Decodes a 65-byte node; throws StateTreeError MALFORMED_NODE on anything else (incl. trailing bytes). */
export function decodeTreeNode(bytes: Uint8Array): TreeNode {
  if (!(bytes instanceof Uint8Array)) throw malformed("node is not a byte array");
  if (bytes.length !== TREE_NODE_SIZE) {
    throw malformed(`node must be ${TREE_NODE_SIZE} bytes, got ${bytes.length}`);
  }
  const first = bytes.slice(1, 1 + TREE_HASH_LENGTH);
  const second = bytes.slice(1 + TREE_HASH_LENGTH);
  if (bytes[0] === LEAF_TAG) return { kind: "leaf", key: first, valueHash: second };
  if (bytes[0] === INTERNAL_TAG) {
    if (isEmpty(first) && isEmpty(second)) throw malformed("internal node with two empty sides");
    return { kind: "internal", left: first, right: second };
  }
  throw malformed(`unknown node tag ${bytes[0]}`);
}

/** The node hash: SHA-256 of the encoding (leafHash / internalHash of the module comment). */
export function hashTreeNode(node: TreeNode): Uint8Array {
  return sha256(encodeTreeNode(node));
}

// ---------------------------------------------------------------------------------------------
// Queries and updates

/** The value hash stored under `key` in the tree with root `root`, or null if absent. */
export async function getValue(
  root: Uint8Array,
  key: Uint8Array,
  reader: TreeNodeReader,
): Promise<Uint8Array | null> {
  assertHash(root, "root");
  assertHash(key, "key");
  assertReader(reader);
  let hash = root;
  for (let depth = 0; ; depth++) {
    if (isEmpty(hash)) return null;
    const node = await loadNode(reader, hash);
    if (node.kind === "leaf") return equalBytes(node.key, key) ? node.valueHash : null;
    // Distinct 256-bit keys part at depth < 256, so an internal node deeper than that is corruption.
    if (depth === KEY_BITS) throw pathTooLong();
    hash = bitAt(key, depth) === 0 ? node.left : node.right;
  }
}

/**
 * Applies a batch of updates to the tree with root `root` and returns the new root with the nodes
 * created (the caller persists them). Updates are sorted by key; first every node on a touched path
 * is read (one round of concurrent reads per depth, each node once; untouched subtrees are never
 * read), then the new root is computed synchronously in one pass.
 */
export async function updateTree(
  root: Uint8Array,
  updates: readonly TreeUpdate[],
  reader: TreeNodeReader,
): Promise<TreeUpdateResult> {
  assertHash(root, "root");
  assertReader(reader);
  const sorted = sortedUpdates(updates);
  const top = childSubtree(root);
  if (sorted.length > 0) await readTouchedPaths(reader, top, sorted);
  const newNodes = new Map<string, Uint8Array>();
  const ctx: UpdateContext = { updates: sorted, newNodes };
  const result = updateSubtree(ctx, top, 0, 0, sorted.length);
  return { root: result.hash, newNodes };
}

/** Builds the root of the tree holding exactly `leaves`, in memory; equals `updateTree` from empty. */
export function rootFromLeaves(leaves: readonly TreeLeaf[]): Uint8Array {
  if (!Array.isArray(leaves)) throw new TypeError("leaves must be an array");
  for (const leaf of leaves) {
    assertHash(leaf?.key, "key");
    assertHash(leaf.valueHash, "valueHash");
  }
  const sorted = [...leaves].sort((a, b) => compareKeys(a.key, b.key));
  assertNoDuplicateKeys(sorted);
  return buildSubtree(sorted, 0, sorted.length, 0, undefined).hash;
}

// ---------------------------------------------------------------------------------------------
// Internals

/**
 * A subtree hash and what it is; `unknown` for a child that was not read. `readTouchedPaths`
 * fills in `node` (and so the kind) and the children it descended into.
 */
interface Subtree {
  hash: Uint8Array;
  kind: "empty" | "leaf" | "internal" | "unknown";
  node?: TreeNode;
  left?: Subtree;
  right?: Subtree;
}

interface UpdateContext {
  /** sorted by key, no duplicates */
  updates: readonly TreeUpdate[];
  newNodes: Map<string, Uint8Array>;
}

/** A subtree still to read, with the updates [lo, hi) that fall into it. */
interface PathStep {
  subtree: Subtree;
  lo: number;
  hi: number;
}

const EMPTY_SUBTREE: Subtree = { hash: EMPTY_TREE_ROOT, kind: "empty" };

/**
 * Reads, depth by depth, every node the updates pass through, and links them below `top`.
 * Verified nodes come from the reader's cache synchronously; the others are read concurrently.
 * Also reads the untouched sibling of a side that has deletions: if that side ends up empty,
 * `joinChildren` needs to know whether the sibling is a single leaf (which then moves up).
 */
async function readTouchedPaths(
  reader: TreeNodeReader,
  top: Subtree,
  updates: readonly TreeUpdate[],
): Promise<void> {
  let level: PathStep[] = top.kind === "empty" ? [] : [{ subtree: top, lo: 0, hi: updates.length }];
  for (let depth = 0; level.length > 0; depth++) {
    const misses: Subtree[] = [];
    for (const { subtree } of level) {
      const cached = reader.getVerifiedNode?.(subtree.hash);
      if (cached === undefined) misses.push(subtree);
      else setNode(subtree, decodeTreeNode(cached));
    }
    if (misses.length > 0) {
      const nodes = await Promise.all(misses.map((subtree) => loadNode(reader, subtree.hash)));
      for (let i = 0; i < misses.length; i++) setNode(misses[i]!, nodes[i]!);
    }
    const next: PathStep[] = [];
    for (const { subtree, lo, hi } of level) {
      const node = subtree.node!;
      if (node.kind === "leaf" || lo === hi) continue;
      // Distinct 256-bit keys part at depth < 256, so an internal node deeper than that is corruption.
      if (depth === KEY_BITS) throw pathTooLong();
      const mid = splitByBit(updates, lo, hi, depth);
      const left = childSubtree(node.left);
      const right = childSubtree(node.right);
      subtree.left = left;
      subtree.right = right;
      const leftReads = lo < mid || (mid < hi && hasDeletion(updates, mid, hi));
      const rightReads = mid < hi || (lo < mid && hasDeletion(updates, lo, mid));
      if (leftReads && left.kind !== "empty") next.push({ subtree: left, lo, hi: mid });
      if (rightReads && right.kind !== "empty") next.push({ subtree: right, lo: mid, hi });
    }
    level = next;
  }
}

function setNode(subtree: Subtree, node: TreeNode): void {
  subtree.node = node;
  subtree.kind = node.kind;
}

function hasDeletion(updates: readonly TreeUpdate[], lo: number, hi: number): boolean {
  for (let i = lo; i < hi; i++) if (updates[i]!.valueHash === null) return true;
  return false;
}

/** Applies updates[lo, hi) (all sharing the subtree's `depth`-bit path) to `subtree`, read before. */
function updateSubtree(ctx: UpdateContext, subtree: Subtree, depth: number, lo: number, hi: number): Subtree {
  if (lo === hi) return subtree;
  if (subtree.kind === "empty")
    return buildSubtree(insertsOf(ctx.updates, lo, hi), 0, -1, depth, ctx.newNodes);
  const node = readNode(subtree);
  if (node.kind === "leaf") {
    // The subtree holds one leaf: rebuild it from that leaf merged with the updates.
    const leaves = mergeLeaf(node, ctx.updates, lo, hi);
    if (
      leaves.length === 1 &&
      equalBytes(leaves[0]!.key, node.key) &&
      equalBytes(leaves[0]!.valueHash, node.valueHash)
    ) {
      return subtree;
    }
    return buildSubtree(leaves, 0, -1, depth, ctx.newNodes);
  }
  const mid = splitByBit(ctx.updates, lo, hi, depth);
  const left = updateSubtree(ctx, subtree.left!, depth + 1, lo, mid);
  const right = updateSubtree(ctx, subtree.right!, depth + 1, mid, hi);
  if (left === subtree.left && right === subtree.right) return subtree;
  if (equalBytes(left.hash, node.left) && equalBytes(right.hash, node.right)) return subtree;
  return joinChildren(ctx, left, right);
}

/** The parent of two updated children, collapsing a lone leaf upwards to keep the shape canonical. */
function joinChildren(ctx: UpdateContext, left: Subtree, right: Subtree): Subtree {
  if (left.kind === "empty" && right.kind === "empty") return EMPTY_SUBTREE;
  if (left.kind === "empty" || right.kind === "empty") {
    const only = left.kind === "empty" ? right : left;
    // A deletion emptied one side; if the other side (maybe untouched) is a single leaf, it moves up.
    if (knownKind(only) === "leaf") return { hash: only.hash, kind: "leaf" };
  }
  return internalSubtree(left.hash, right.hash, ctx.newNodes);
}

/** The node of a subtree that readTouchedPaths read. */
function readNode(subtree: Subtree): TreeNode {
  if (subtree.node === undefined) throw unread(subtree);
  return subtree.node;
}

/** The kind of a subtree that was read, built or is empty. */
function knownKind(subtree: Subtree): "empty" | "leaf" | "internal" {
  if (subtree.kind === "unknown") throw unread(subtree);
  return subtree.kind;
}

// readTouchedPaths reads every subtree the update pass looks into; anything else is a bug here.
function unread(subtree: Subtree): Error {
  return new Error(`state tree update reached the unread subtree ${toHex(subtree.hash)}`);
}

/**
 * Builds the canonical subtree at `depth` holding `leaves[lo, hi)` (sorted, distinct keys, sharing
 * the `depth`-bit path); `hi = -1` means the end. Records every created node in `sink` if given.
 */
function buildSubtree(
  leaves: readonly TreeLeaf[],
  lo: number,
  hi: number,
  depth: number,
  sink: Map<string, Uint8Array> | undefined,
): Subtree {
  const end = hi < 0 ? leaves.length : hi;
  const count = end - lo;
  if (count === 0) return EMPTY_SUBTREE;
  if (count === 1) return leafSubtree(leaves[lo]!, sink);
  const mid = splitByBit(leaves, lo, end, depth);
  const left = buildSubtree(leaves, lo, mid, depth + 1, sink);
  const right = buildSubtree(leaves, mid, end, depth + 1, sink);
  return internalSubtree(left.hash, right.hash, sink);
}

function leafSubtree(leaf: TreeLeaf, sink: Map<string, Uint8Array> | undefined): Subtree {
  const encoded = encodingBuffer(sink);
  encoded[0] = LEAF_TAG;
  encoded.set(leaf.key, 1);
  encoded.set(leaf.valueHash, 1 + TREE_HASH_LENGTH);
  return { hash: storeEncoded(encoded, sink), kind: "leaf" };
}

function internalSubtree(
  left: Uint8Array,
  right: Uint8Array,
  sink: Map<string, Uint8Array> | undefined,
): Subtree {
  const encoded = encodingBuffer(sink);
  encoded[0] = INTERNAL_TAG;
  encoded.set(left, 1);
  encoded.set(right, 1 + TREE_HASH_LENGTH);
  return { hash: storeEncoded(encoded, sink), kind: "internal" };
}

// Without a sink the encoding is hashed and dropped at once, so one buffer serves every node:
// a full rebuild (rootFromLeaves over all accounts) is otherwise dominated by GC of 65-byte arrays.
const SCRATCH = new Uint8Array(TREE_NODE_SIZE);

function encodingBuffer(sink: Map<string, Uint8Array> | undefined): Uint8Array {
  return sink === undefined ? SCRATCH : new Uint8Array(TREE_NODE_SIZE);
}

function storeEncoded(encoded: Uint8Array, sink: Map<string, Uint8Array> | undefined): Uint8Array {
  const hash = sha256(encoded);
  sink?.set(toHex(hash), encoded);
  return hash;
}

/** The leaves that remain in a one-leaf subtree after updates[lo, hi): sorted, distinct. */
function mergeLeaf(
  existing: { key: Uint8Array; valueHash: Uint8Array },
  updates: readonly TreeUpdate[],
  lo: number,
  hi: number,
): TreeLeaf[] {
  const out: TreeLeaf[] = [];
  let placed = false;
  for (let i = lo; i < hi; i++) {
    const update = updates[i]!;
    const order = placed ? -1 : compareKeys(update.key, existing.key);
    if (order > 0) {
      out.push(existing);
      placed = true;
    }
    // Same key: the update replaces (or deletes) the existing leaf.
    if (order === 0) placed = true;
    if (update.valueHash !== null) out.push({ key: update.key, valueHash: update.valueHash });
  }
  if (!placed) out.push(existing);
  return out;
}

function insertsOf(updates: readonly TreeUpdate[], lo: number, hi: number): TreeLeaf[] {
  const out: TreeLeaf[] = [];
  for (let i = lo; i < hi; i++) {
    const { key, valueHash } = updates[i]!;
    if (valueHash !== null) out.push({ key, valueHash });
  }
  return out;
}

/** First index in [lo, hi) whose key has bit `depth` set; keys are sorted and share `depth` bits. */
function splitByBit(items: readonly { key: Uint8Array }[], lo: number, hi: number, depth: number): number {
  let a = lo;
  let b = hi;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (bitAt(items[m]!.key, depth) === 0) a = m + 1;
    else b = m;
  }
  return a;
}

function childSubtree(hash: Uint8Array): Subtree {
  return isEmpty(hash) ? EMPTY_SUBTREE : { hash, kind: "unknown" };
}

async function loadNode(reader: TreeNodeReader, hash: Uint8Array): Promise<TreeNode> {
  // Trusted fast path: nodes this process created or verified before are not hashed again.
  const verified = reader.getVerifiedNode?.(hash);
  if (verified !== undefined) return decodeTreeNode(verified);
  const encoded = await reader.getNode(hash);
  if (encoded === undefined) {
    throw new StateTreeError(
      { code: StateTreeErrorCode.MISSING_NODE, nodeHash: toHex(hash) },
      `state tree node ${toHex(hash)} is missing from the store`,
    );
  }
  // Content addressing lets us detect a damaged store here rather than compute a wrong root.
  if (!(encoded instanceof Uint8Array) || !equalBytes(sha256(encoded), hash)) {
    throw new StateTreeError(
      { code: StateTreeErrorCode.CORRUPT_NODE, nodeHash: toHex(hash) },
      `state tree node ${toHex(hash)} does not match its hash`,
    );
  }
  const node = decodeTreeNode(encoded);
  reader.nodeVerified?.(hash, encoded);
  return node;
}

function sortedUpdates(updates: readonly TreeUpdate[]): TreeUpdate[] {
  if (!Array.isArray(updates)) throw new TypeError("updates must be an array");
  for (const update of updates) {
    assertHash(update?.key, "key");
    if (update.valueHash !== null) assertHash(update.valueHash, "valueHash");
  }
  const sorted = [...updates].sort((a, b) => compareKeys(a.key, b.key));
  assertNoDuplicateKeys(sorted);
  return sorted;
}

function assertNoDuplicateKeys(sorted: readonly { key: Uint8Array }[]): void {
  for (let i = 1; i < sorted.length; i++) {
    if (compareKeys(sorted[i - 1]!.key, sorted[i]!.key) === 0) {
      throw new RangeError(`duplicate key ${toHex(sorted[i]!.key)} in one batch`);
    }
  }
}

/** Lexicographic order of two 32-byte keys; exits at the first difference (keys are public). */
function compareKeys(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < TREE_HASH_LENGTH; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

function bitAt(key: Uint8Array, index: number): number {
  return (key[index >>> 3]! >>> (7 - (index & 7))) & 1;
}

function isEmpty(hash: Uint8Array): boolean {
  for (let i = 0; i < hash.length; i++) if (hash[i] !== 0) return false;
  return true;
}

function assertHash(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  if (value.length !== TREE_HASH_LENGTH) {
    throw new RangeError(`${name} must be ${TREE_HASH_LENGTH} bytes, got ${value.length}`);
  }
}

function assertReader(reader: unknown): asserts reader is TreeNodeReader {
  if (typeof (reader as TreeNodeReader | undefined)?.getNode !== "function") {
    throw new TypeError("reader must implement getNode(hash)");
  }
}

function pathTooLong(): StateTreeError {
  return new StateTreeError(
    { code: StateTreeErrorCode.CORRUPT_NODE },
    "state tree path is longer than a key",
  );
}

function malformed(message: string): StateTreeError {
  return new StateTreeError({ code: StateTreeErrorCode.MALFORMED_NODE }, message);
}
