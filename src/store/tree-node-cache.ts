/**
 * A bounded cache of verified state tree nodes, keyed by node hash without building strings.
 *
 * A `Map` keyed by the hash as a string costs a string per lookup and several dependent memory
 * reads per hit (table, key string, value object, its bytes). Node hashes are uniformly random
 * 32-byte values and every node is 65 bytes, so one generation here is an open-addressing table
 * (linear probing, load ≤ 1/2) of entry numbers over one arena of `hash (32) | node (65)` entries:
 * the hash's first four bytes pick the slot, a hit compares 32 bytes and returns a view of the
 * node in the arena. A slot also holds the hash's fifth byte as a tag, so a probe that passes
 * other entries reads the arena (a cache miss on a large table) only once in 256 times for them. A generation starts small and doubles up to its bound, so a small store does
 * not hold the whole capacity.
 *
 * Two generations: writes go to the young generation; a hit in the old one is
 * copied to the young one; a full young generation becomes the old one and the previous old one is
 * dropped. A dropped arena is never reused, so a view handed out earlier keeps its bytes.
 */

const HASH_LENGTH = 32;
const NODE_LENGTH = 65;
const ENTRY_LENGTH = HASH_LENGTH + NODE_LENGTH;
/** Bytes of one arena entry, `hash | node` (the layout of the state tree's NewTreeNodes too). */
export const TREE_NODE_CACHE_ENTRY_LENGTH = ENTRY_LENGTH;
/** Bytes per entry: arena entry plus two Int32 slots (load ≤ 1/2). */
export const TREE_NODE_CACHE_ENTRY_BYTES = ENTRY_LENGTH + 2 * 4;

/** A slot is `tag << ENTRY_BITS | entry number + 1`: up to 2^23 - 1 entries per generation. */
const ENTRY_BITS = 23;
const ENTRY_MASK = (1 << ENTRY_BITS) - 1;
/** Most entries one generation can hold (~1.6 GiB of capacity in all). */
const MAX_GENERATION_ENTRIES = ENTRY_MASK;
/** Which byte of the hash is the slot's tag (bytes 0-3 pick the slot). */
const TAG_BYTE = 4;

/** Entries a generation starts with; it doubles up to its bound as it fills. */
const INITIAL_ENTRIES = 4096;

class Generation {
  arena: Uint8Array;
  /** per slot: tag << ENTRY_BITS | entry number + 1; 0 = free */
  private slots: Int32Array;
  private mask: number;
  count = 0;

  constructor(
    readonly maxEntries: number,
    initialEntries = INITIAL_ENTRIES,
  ) {
    const entries = Math.min(maxEntries, initialEntries);
    this.arena = new Uint8Array(entries * ENTRY_LENGTH);
    this.slots = new Int32Array(slotCountFor(entries));
    this.mask = this.slots.length - 1;
  }

  get full(): boolean {
    return this.count === this.maxEntries;
  }

  /** Arena offset of the entry for the hash at bytes[from, from + 32), or -1. */
  find(bytes: Uint8Array, from: number): number {
    const { slots, mask, arena } = this;
    const tag = bytes[from + TAG_BYTE]!;
    for (let slot = startSlot(bytes, from) & mask; ; slot = (slot + 1) & mask) {
      const value = slots[slot]!;
      if (value === 0) return -1;
      if (value >>> ENTRY_BITS !== tag) continue;
      const at = ((value & ENTRY_MASK) - 1) * ENTRY_LENGTH;
      let same = true;
      for (let i = 0; i < HASH_LENGTH; i++) {
        if (arena[at + i] !== bytes[from + i]) {
          same = false;
          break;
        }
      }
      if (same) return at;
    }
  }

  /**
   * Adds an entry: the hash at hash[hashFrom, +32), the node at node[nodeFrom, +65) (the caller
   * checked it is absent and the generation not full).
   */
  add(hash: Uint8Array, hashFrom: number, node: Uint8Array, nodeFrom: number): number {
    if (this.count * ENTRY_LENGTH === this.arena.length) this.grow();
    const at = this.count * ENTRY_LENGTH;
    const arena = this.arena;
    // Loops: TypedArray#set costs more than the copy itself at these sizes.
    for (let i = 0; i < HASH_LENGTH; i++) arena[at + i] = hash[hashFrom + i]!;
    for (let i = 0; i < NODE_LENGTH; i++) arena[at + HASH_LENGTH + i] = node[nodeFrom + i]!;
    this.count++;
    this.place(at, this.count);
    return at;
  }

  private place(at: number, entry: number): void {
    const { slots, mask } = this;
    let slot = startSlot(this.arena, at) & mask;
    while (slots[slot] !== 0) slot = (slot + 1) & mask;
    slots[slot] = (this.arena[at + TAG_BYTE]! << ENTRY_BITS) | entry;
  }

  /** Doubles the arena (a new one: views handed out keep the old bytes) and re-slots every entry. */
  private grow(): void {
    const entries = Math.min(this.maxEntries, 2 * (this.arena.length / ENTRY_LENGTH));
    const arena = new Uint8Array(entries * ENTRY_LENGTH);
    arena.set(this.arena);
    this.arena = arena;
    this.slots = new Int32Array(slotCountFor(entries));
    this.mask = this.slots.length - 1;
    for (let entry = 1; entry <= this.count; entry++) this.place((entry - 1) * ENTRY_LENGTH, entry);
  }
}

/** A power of two at least twice the entries: load ≤ 1/2 keeps probe runs short. */
function slotCountFor(entries: number): number {
  let slotCount = 1;
  while (slotCount < entries * 2) slotCount *= 2;
  return slotCount;
}

/** The hash's first four bytes (hashes are uniformly random, so these spread evenly). */
function startSlot(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
}

export class TreeNodeCache {
  private young: Generation;
  private old: Generation | undefined;
  private readonly generationEntries: number;

  /** `capacityBytes` bounds the memory held (both generations, TREE_NODE_CACHE_ENTRY_BYTES each). */
  constructor(capacityBytes: number) {
    if (!Number.isInteger(capacityBytes) || capacityBytes < 2 * TREE_NODE_CACHE_ENTRY_BYTES) {
      throw new RangeError(`capacity must be an integer >= ${2 * TREE_NODE_CACHE_ENTRY_BYTES} bytes`);
    }
    this.generationEntries = Math.floor(capacityBytes / 2 / TREE_NODE_CACHE_ENTRY_BYTES);
    if (this.generationEntries > MAX_GENERATION_ENTRIES) {
      throw new RangeError(
        `capacity must be <= ${2 * MAX_GENERATION_ENTRIES * TREE_NODE_CACHE_ENTRY_BYTES} bytes`,
      );
    }
    this.young = new Generation(this.generationEntries);
  }

  /** Entries held (an entry in both generations counts twice). */
  get size(): number {
    return this.young.count + (this.old?.count ?? 0);
  }

  /** Bytes the held entries take by TREE_NODE_CACHE_ENTRY_BYTES (at most the capacity). */
  get weight(): number {
    return this.size * TREE_NODE_CACHE_ENTRY_BYTES;
  }

  /** The node for a 32-byte hash (a view into the cache's memory; do not modify), or undefined. */
  get(hash: Uint8Array): Uint8Array | undefined {
    const at = this.young.find(hash, 0);
    if (at >= 0) return this.young.arena.subarray(at + HASH_LENGTH, at + ENTRY_LENGTH);
    if (this.old === undefined) return undefined;
    const aged = this.old.find(hash, 0);
    if (aged < 0) return undefined;
    const copied = this.insert(this.old.arena, aged, this.old.arena, aged + HASH_LENGTH);
    return this.young.arena.subarray(copied + HASH_LENGTH, copied + ENTRY_LENGTH);
  }

  /** Adds a verified node (32-byte hash, 65-byte encoding); a node already young is kept. */
  set(hash: Uint8Array, node: Uint8Array): void {
    if (hash.length !== HASH_LENGTH) throw new RangeError(`hash must be ${HASH_LENGTH} bytes`);
    if (node.length !== NODE_LENGTH) throw new RangeError(`node must be ${NODE_LENGTH} bytes`);
    if (this.young.find(hash, 0) >= 0) return;
    this.insert(hash, 0, node, 0);
  }

  /**
   * Adds `count` verified nodes from `entries`, laid out as the state tree's `NewTreeNodes`
   * (and as this cache's arena): `hash (32) | node (65)` per entry, from offset 0. Copies each
   * entry once, without a view per node; nodes already young are kept.
   */
  setEntries(entries: Uint8Array, count: number): void {
    if (!Number.isInteger(count) || count < 0 || count * ENTRY_LENGTH > entries.length) {
      throw new RangeError(`${count} entries do not fit in ${entries.length} bytes`);
    }
    for (let i = 0, at = 0; i < count; i++, at += ENTRY_LENGTH) {
      if (this.young.find(entries, at) >= 0) continue;
      this.insert(entries, at, entries, at + HASH_LENGTH);
    }
  }

  private insert(hash: Uint8Array, hashFrom: number, node: Uint8Array, nodeFrom: number): number {
    if (this.young.full) {
      this.old = this.young;
      // The store filled a whole generation: the next one starts at full size instead of growing
      // (and re-slotting every entry) through the same doublings again.
      this.young = new Generation(this.generationEntries, this.generationEntries);
    }
    return this.young.add(hash, hashFrom, node, nodeFrom);
  }
}
