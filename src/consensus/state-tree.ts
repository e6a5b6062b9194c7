import { equalBytes, toHex } from "../primitives/index.js";
import { sha256Node } from "./tree-hash.js";
import {
  assertHash,
  checkNodeEncoding,
  FIRST_FIELD,
  INTERNAL_TAG,
  isEmptyAt,
  LEAF_TAG,
  SECOND_FIELD,
  StateTreeError,
  StateTreeErrorCode,
  TREE_HASH_LENGTH,
  TREE_NODE_SIZE,
} from "./tree-node.js";

export {
  decodeTreeNode,
  EMPTY_TREE_ROOT,
  encodeTreeNode,
  hashTreeNode,
  StateTreeError,
  StateTreeErrorCode,
  type StateTreeErrorType,
  TREE_HASH_LENGTH,
  TREE_NODE_SIZE,
  type TreeNode,
} from "./tree-node.js";

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

const KEY_BITS = TREE_HASH_LENGTH * 8;

/** Bytes of one entry of `NewTreeNodes.entries`: hash (32) | encoding (65). */
export const NEW_NODE_ENTRY_LENGTH = TREE_HASH_LENGTH + TREE_NODE_SIZE;

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
   * tree uses these bytes without re-hashing. When every node a batch needs is here, `updateTree`
   * runs without awaiting anything.
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

/** The result of a batch: the new root and the nodes to persist. */
export interface TreeUpdateResult {
  root: Uint8Array;
  newNodes: NewTreeNodes;
}

/**
 * The nodes one update created, children before parents, each once: node `i` is `hashAt(i)` ->
 * `encodingAt(i)`. They live in one buffer of `hash (32) | encoding (65)` entries
 * (`NEW_NODE_ENTRY_LENGTH` bytes each, entry `i` at `i * NEW_NODE_ENTRY_LENGTH` of `entries`), so
 * an update allocates no array per node and a cache can copy an entry in one loop. Iterating
 * yields `[hex hash, encoding]` pairs, for callers that want `Map`-like entries.
 */
export class NewTreeNodes implements Iterable<[string, Uint8Array]> {
  private buffer: Uint8Array;
  private count = 0;

  /** `expected`: how many nodes the update will likely create (the buffer doubles past it). */
  constructor(expected = 64) {
    this.buffer = new Uint8Array(Math.max(1, Math.ceil(expected)) * NEW_NODE_ENTRY_LENGTH);
  }

  /** Number of nodes. */
  get size(): number {
    return this.count;
  }

  /**
   * The entries, `size` of them from offset 0 (the buffer may be longer). A later `reserve` may
   * move them to a new buffer: read this after the update, not during it.
   */
  get entries(): Uint8Array {
    return this.buffer;
  }

  /** The 32-byte hash of node `i` (0 <= i < size), a view into `entries`. */
  hashAt(i: number): Uint8Array {
    const at = i * NEW_NODE_ENTRY_LENGTH;
    return this.buffer.subarray(at, at + TREE_HASH_LENGTH);
  }

  /** The 65-byte encoding of node `i` (0 <= i < size), a view into `entries`. */
  encodingAt(i: number): Uint8Array {
    const at = i * NEW_NODE_ENTRY_LENGTH + TREE_HASH_LENGTH;
    return this.buffer.subarray(at, at + TREE_NODE_SIZE);
  }

  /** Appends an entry and returns its offset in `entries`, which the tree then fills. */
  reserve(): number {
    const at = this.count * NEW_NODE_ENTRY_LENGTH;
    if (at === this.buffer.length) {
      // A new buffer: views handed out earlier keep the bytes they showed.
      const grown = new Uint8Array(2 * this.buffer.length);
      grown.set(this.buffer);
      this.buffer = grown;
    }
    this.count++;
    return at;
  }

  *[Symbol.iterator](): IterableIterator<[string, Uint8Array]> {
    for (let i = 0; i < this.count; i++) yield [toHex(this.hashAt(i)), this.encodingAt(i)];
  }
}

/** An in-memory node store, for tests, replays and benchmarks. Every read is verified by the tree. */
export class MemoryTreeNodeStore implements TreeNodeReader {
  private readonly nodes = new Map<string, Uint8Array>();

  async getNode(hash: Uint8Array): Promise<Uint8Array | undefined> {
    return this.nodes.get(toHex(hash));
  }

  /**
   * Adds nodes (as returned in `TreeUpdateResult.newNodes`); existing nodes are kept. Each is
   * copied: a view would keep its update's whole entry buffer (hashes and spare room) alive.
   */
  putNodes(nodes: Iterable<readonly [string, Uint8Array]>): void {
    for (const [hash, encoded] of nodes) if (!this.nodes.has(hash)) this.nodes.set(hash, encoded.slice());
  }

  /** Number of stored nodes. */
  get size(): number {
    return this.nodes.size;
  }
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
    if (isEmptyAt(hash, 0)) return null;
    const node = verifiedNode(reader, hash) ?? (await loadNode(reader, hash));
    if (node[0] === LEAF_TAG) {
      return equalAt(node, FIRST_FIELD, key, 0) ? node.slice(SECOND_FIELD) : null;
    }
    // Distinct 256-bit keys part at depth < 256, so an internal node deeper than that is corruption.
    if (depth === KEY_BITS) throw pathTooLong();
    hash = bitAt(key, depth) === 0 ? node.slice(FIRST_FIELD, SECOND_FIELD) : node.slice(SECOND_FIELD);
  }
}

/**
 * Applies a batch of updates to the tree with root `root` and returns the new root with the nodes
 * created (the caller persists them). Updates are sorted by key. First every node on a touched path
 * is read: from the reader's verified nodes synchronously, the others concurrently, one round per
 * depth that has any (untouched subtrees are never read). Then one synchronous bottom-up pass
 * computes the new root, hashing each new node once.
 */
export async function updateTree(
  root: Uint8Array,
  updates: readonly TreeUpdate[],
  reader: TreeNodeReader,
): Promise<TreeUpdateResult> {
  assertHash(root, "root");
  assertReader(reader);
  const sorted = sortedUpdates(updates);
  // A batch creates about one node per level of each touched path (~13 per update in a 100k-leaf
  // tree; the buffer doubles past the estimate); a build from empty fewer than two per leaf.
  const newNodes = new NewTreeNodes((isEmptyAt(root, 0) ? 2 : 16) * sorted.length);
  if (sorted.length === 0) return { root, newNodes };
  const top = isEmptyAt(root, 0) ? undefined : readSubtree(root);
  if (top !== undefined) {
    let pending: PendingRead[] = [];
    visit(reader, sorted, top, 0, 0, sorted.length, pending);
    while (pending.length > 0) {
      const nodes = await Promise.all(pending.map((p) => loadNode(reader, p.subtree.hash)));
      const reading = pending;
      pending = [];
      for (let i = 0; i < reading.length; i++) {
        const { subtree, depth, lo, hi } = reading[i]!;
        subtree.node = nodes[i]!;
        descend(reader, sorted, subtree, depth, lo, hi, pending);
      }
    }
  }
  // The pass below is synchronous: nothing else can use the shared scratch buffer meanwhile.
  SCRATCH.set(root, ROOT_OUT);
  const kind = updateSide({ updates: sorted, sink: newNodes }, top, 0, 0, sorted.length, ROOT_OUT);
  if ((kind & CHANGED) === 0) return { root, newNodes };
  return { root: SCRATCH.slice(ROOT_OUT, ROOT_OUT + TREE_HASH_LENGTH), newNodes };
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
  buildSubtree({ updates: sorted, sink: undefined }, sorted, 0, sorted.length, 0, ROOT_OUT);
  return SCRATCH.slice(ROOT_OUT, ROOT_OUT + TREE_HASH_LENGTH);
}

// ---------------------------------------------------------------------------------------------
// Reading the touched paths

/**
 * A non-empty subtree on a touched path: its hash (a view into the parent's encoding), its node
 * once read, and the children the update descends into (or needs the kind of).
 */
interface Subtree {
  hash: Uint8Array;
  node: Uint8Array | undefined;
  left: Subtree | undefined;
  right: Subtree | undefined;
}

/** A subtree whose node is not among the reader's verified nodes: read it, then descend. */
interface PendingRead {
  subtree: Subtree;
  depth: number;
  lo: number;
  hi: number;
}

function readSubtree(hash: Uint8Array): Subtree {
  return { hash, node: undefined, left: undefined, right: undefined };
}

/** Takes the subtree's node from the verified nodes and descends, or queues it for reading. */
function visit(
  reader: TreeNodeReader,
  updates: readonly TreeUpdate[],
  subtree: Subtree,
  depth: number,
  lo: number,
  hi: number,
  pending: PendingRead[],
): void {
  const node = verifiedNode(reader, subtree.hash);
  if (node === undefined) {
    pending.push({ subtree, depth, lo, hi });
    return;
  }
  subtree.node = node;
  descend(reader, updates, subtree, depth, lo, hi, pending);
}

/**
 * Visits the children of a read subtree that updates[lo, hi) pass through. Also visits the untouched
 * sibling of a side that has deletions: if that side ends up empty, the update needs to know
 * whether the sibling is a single leaf (which then moves up).
 */
function descend(
  reader: TreeNodeReader,
  updates: readonly TreeUpdate[],
  subtree: Subtree,
  depth: number,
  lo: number,
  hi: number,
  pending: PendingRead[],
): void {
  const node = subtree.node!;
  if (node[0] === LEAF_TAG || lo === hi) return;
  // Distinct 256-bit keys part at depth < 256, so an internal node deeper than that is corruption.
  if (depth === KEY_BITS) throw pathTooLong();
  const mid = splitByBit(updates, lo, hi, depth);
  const leftReads = lo < mid || (mid < hi && hasDeletion(updates, mid, hi));
  const rightReads = mid < hi || (lo < mid && hasDeletion(updates, lo, mid));
  if (leftReads && !isEmptyAt(node, FIRST_FIELD)) {
    subtree.left = readSubtree(node.subarray(FIRST_FIELD, SECOND_FIELD));
    visit(reader, updates, subtree.left, depth + 1, lo, mid, pending);
  }
  if (rightReads && !isEmptyAt(node, SECOND_FIELD)) {
    subtree.right = readSubtree(node.subarray(SECOND_FIELD, TREE_NODE_SIZE));
    visit(reader, updates, subtree.right, depth + 1, mid, hi, pending);
  }
}

function hasDeletion(updates: readonly TreeUpdate[], lo: number, hi: number): boolean {
  for (let i = lo; i < hi; i++) if (updates[i]!.valueHash === null) return true;
  return false;
}

/** A node the reader holds verified; only its shape is checked (it was hashed when it came in). */
function verifiedNode(reader: TreeNodeReader, hash: Uint8Array): Uint8Array | undefined {
  const node = reader.getVerifiedNode?.(hash);
  if (node !== undefined && (node.length !== TREE_NODE_SIZE || node[0]! > INTERNAL_TAG)) {
    checkNodeEncoding(node);
  }
  return node;
}

async function loadNode(reader: TreeNodeReader, hash: Uint8Array): Promise<Uint8Array> {
  const encoded = await reader.getNode(hash);
  if (encoded === undefined) {
    throw new StateTreeError(
      { code: StateTreeErrorCode.MISSING_NODE, nodeHash: toHex(hash) },
      `state tree node ${toHex(hash)} is missing from the store`,
    );
  }
  // Content addressing lets us detect a damaged store here rather than compute a wrong root.
  if (!(encoded instanceof Uint8Array) || !hashesTo(encoded, hash)) {
    throw new StateTreeError(
      { code: StateTreeErrorCode.CORRUPT_NODE, nodeHash: toHex(hash) },
      `state tree node ${toHex(hash)} does not match its hash`,
    );
  }
  checkNodeEncoding(encoded);
  reader.nodeVerified?.(hash, encoded);
  return encoded;
}

const CHECK_DIGEST = new Uint8Array(TREE_HASH_LENGTH);

function hashesTo(encoded: Uint8Array, hash: Uint8Array): boolean {
  // Every node is 65 bytes, so bytes of another length cannot be the node of any hash.
  if (encoded.length !== TREE_NODE_SIZE) return false;
  sha256Node(encoded, 0, CHECK_DIGEST, 0);
  return equalBytes(CHECK_DIGEST, hash);
}

// ---------------------------------------------------------------------------------------------
// The bottom-up pass

/**
 * One shared working buffer for the synchronous pass. Slot `depth + 1` (65 bytes each) holds the
 * encoding of the internal node being rebuilt at `depth`: it starts as a copy of the old node, and
 * each changed child writes its new hash straight into it, at FIRST_FIELD or SECOND_FIELD. Slot 0
 * receives the root's hash (at ROOT_OUT). A new node is hashed from its slot and copied out only
 * when it must be stored, so a rebuild without a sink allocates no encodings at all.
 */
const SCRATCH = new Uint8Array((KEY_BITS + 2) * TREE_NODE_SIZE);
const ROOT_OUT = FIRST_FIELD;
/** Encoding of the leaf being built (emitNode copies it into the sink). */
const LEAF_SCRATCH = new Uint8Array(TREE_NODE_SIZE);

const slotOf = (depth: number): number => (depth + 1) * TREE_NODE_SIZE;

/** What a subtree became: a kind, plus CHANGED when its hash differs from before. */
const EMPTY = 0;
const LEAF = 1;
const INTERNAL = 2;
/** an untouched, unread child: leaf or internal, not known */
const UNKNOWN = 3;
const KIND_MASK = 3;
const CHANGED = 4;

interface PassContext {
  /** sorted by key, no duplicates */
  updates: readonly TreeUpdate[];
  /** where created nodes go; undefined when only the root is wanted */
  sink: NewTreeNodes | undefined;
}

/**
 * Applies updates[lo, hi) (sharing the `depth`-bit path) to `subtree` (undefined = empty). Writes
 * the new hash to SCRATCH[out, out + 32) when it changed (otherwise the old hash is already there)
 * and returns its kind | CHANGED.
 */
function updateSide(
  ctx: PassContext,
  subtree: Subtree | undefined,
  depth: number,
  lo: number,
  hi: number,
  out: number,
): number {
  const { updates } = ctx;
  if (subtree === undefined) {
    if (!hasDeletion(updates, lo, hi))
      return buildSubtree(ctx, updates as readonly TreeLeaf[], lo, hi, depth, out);
    const inserts = insertsOf(updates, lo, hi);
    if (inserts.length === 0) return EMPTY;
    return buildSubtree(ctx, inserts, 0, inserts.length, depth, out);
  }
  const node = subtree.node;
  if (node === undefined) throw unread(subtree);
  if (node[0] === LEAF_TAG) {
    // The subtree holds one leaf: rebuild it from that leaf merged with the updates.
    const leaves = mergeLeaf(node, updates, lo, hi);
    const only = leaves.length === 1 ? leaves[0]! : undefined;
    if (
      only !== undefined &&
      equalAt(node, FIRST_FIELD, only.key, 0) &&
      equalAt(node, SECOND_FIELD, only.valueHash, 0)
    ) {
      return LEAF;
    }
    return buildSubtree(ctx, leaves, 0, leaves.length, depth, out) | CHANGED;
  }
  return updateInternal(ctx, subtree, node, depth, lo, hi, out);
}

function updateInternal(
  ctx: PassContext,
  subtree: Subtree,
  node: Uint8Array,
  depth: number,
  lo: number,
  hi: number,
  out: number,
): number {
  const slot = slotOf(depth);
  SCRATCH.set(node, slot);
  const mid = splitByBit(ctx.updates, lo, hi, depth);
  const left =
    lo < mid
      ? updateSide(ctx, subtree.left, depth + 1, lo, mid, slot + FIRST_FIELD)
      : kindOf(subtree.left, node, FIRST_FIELD);
  const right =
    mid < hi
      ? updateSide(ctx, subtree.right, depth + 1, mid, hi, slot + SECOND_FIELD)
      : kindOf(subtree.right, node, SECOND_FIELD);
  if (((left | right) & CHANGED) === 0 || equalAt(SCRATCH, slot + 1, node, 1, TREE_NODE_SIZE - 1)) {
    return INTERNAL;
  }
  return joinChildren(ctx, slot, left & KIND_MASK, right & KIND_MASK, out, subtree);
}

/** The parent of two updated children, collapsing a lone leaf upwards to keep the shape canonical. */
function joinChildren(
  ctx: PassContext,
  slot: number,
  left: number,
  right: number,
  out: number,
  subtree: Subtree | undefined,
): number {
  if (left === EMPTY && right === EMPTY) {
    SCRATCH.fill(0, out, out + TREE_HASH_LENGTH);
    return EMPTY | CHANGED;
  }
  if (left === EMPTY || right === EMPTY) {
    const only = left === EMPTY ? right : left;
    // A deletion emptied one side; if the other side (maybe untouched) is a single leaf, it moves up.
    if (only === UNKNOWN && subtree !== undefined) throw unread(subtree);
    if (only === LEAF) {
      const from = slot + (left === EMPTY ? SECOND_FIELD : FIRST_FIELD);
      SCRATCH.copyWithin(out, from, from + TREE_HASH_LENGTH);
      return LEAF | CHANGED;
    }
  }
  SCRATCH[slot] = INTERNAL_TAG;
  emitNode(ctx, SCRATCH, slot, out);
  return INTERNAL | CHANGED;
}

/** The kind of an untouched child: empty, or the tag of its node if it was read. */
function kindOf(child: Subtree | undefined, parent: Uint8Array, field: number): number {
  if (isEmptyAt(parent, field)) return EMPTY;
  const node = child?.node;
  if (node === undefined) return UNKNOWN;
  return node[0] === LEAF_TAG ? LEAF : INTERNAL;
}

/**
 * Builds the canonical subtree at `depth` holding `leaves[lo, hi)` (sorted, distinct keys, sharing
 * the `depth`-bit path), writes its hash to SCRATCH[out, out + 32) and returns its kind | CHANGED.
 */
function buildSubtree(
  ctx: PassContext,
  leaves: readonly TreeLeaf[],
  lo: number,
  hi: number,
  depth: number,
  out: number,
): number {
  const count = hi - lo;
  if (count === 0) {
    SCRATCH.fill(0, out, out + TREE_HASH_LENGTH);
    return EMPTY | CHANGED;
  }
  if (count === 1) {
    const leaf = leaves[lo]!;
    const encoded = LEAF_SCRATCH;
    const { key, valueHash } = leaf;
    encoded[0] = LEAF_TAG;
    for (let i = 0; i < TREE_HASH_LENGTH; i++) {
      encoded[FIRST_FIELD + i] = key[i]!;
      encoded[SECOND_FIELD + i] = valueHash[i]!;
    }
    emitNode(ctx, encoded, 0, out);
    return LEAF | CHANGED;
  }
  const slot = slotOf(depth);
  const mid = splitByBit(leaves, lo, hi, depth);
  const left = buildSubtree(ctx, leaves, lo, mid, depth + 1, slot + FIRST_FIELD) & KIND_MASK;
  const right = buildSubtree(ctx, leaves, mid, hi, depth + 1, slot + SECOND_FIELD) & KIND_MASK;
  return joinChildren(ctx, slot, left, right, out, undefined);
}

/**
 * Hashes the node encoded at source[at, at + 65) into SCRATCH[out, out + 32) and, with a sink,
 * appends hash and encoding to it (copied: `source` is a scratch buffer).
 */
function emitNode(ctx: PassContext, source: Uint8Array, at: number, out: number): void {
  sha256Node(source, at, SCRATCH, out);
  const sink = ctx.sink;
  if (sink === undefined) return;
  const entry = sink.reserve();
  const entries = sink.entries;
  // Loops: TypedArray#set costs more than the copy itself at these sizes.
  for (let i = 0; i < TREE_HASH_LENGTH; i++) entries[entry + i] = SCRATCH[out + i]!;
  const encoding = entry + TREE_HASH_LENGTH;
  for (let i = 0; i < TREE_NODE_SIZE; i++) entries[encoding + i] = source[at + i]!;
}

// The read phase reads every subtree the pass looks into; anything else is a bug here.
function unread(subtree: Subtree): Error {
  return new Error(`state tree update reached the unread subtree ${toHex(subtree.hash)}`);
}

/** The leaves that remain in a one-leaf subtree after updates[lo, hi): sorted, distinct. */
function mergeLeaf(leafNode: Uint8Array, updates: readonly TreeUpdate[], lo: number, hi: number): TreeLeaf[] {
  const existing: TreeLeaf = {
    key: leafNode.slice(FIRST_FIELD, SECOND_FIELD),
    valueHash: leafNode.slice(SECOND_FIELD, TREE_NODE_SIZE),
  };
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

/** Whether a[aAt, aAt + length) equals b[bAt, bAt + length); length defaults to a hash. */
function equalAt(a: Uint8Array, aAt: number, b: Uint8Array, bAt: number, length = TREE_HASH_LENGTH): boolean {
  for (let i = 0; i < length; i++) if (a[aAt + i] !== b[bAt + i]) return false;
  return true;
}

function bitAt(key: Uint8Array, index: number): number {
  return (key[index >>> 3]! >>> (7 - (index & 7))) & 1;
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
