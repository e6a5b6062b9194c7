/**
 * A bounded cache for state tree nodes, cheaper per hit than an LRU: two generations of at most
 * `capacity / 2` entries each. Writes go to the young generation; a hit in the old generation is
 * copied to the young one; when the young one is full it becomes the old one and the previous
 * old one is dropped. So an entry used at least once per half-capacity writes stays, and a hit in
 * the young generation costs one Map lookup (an LRU moves the entry on every hit).
 */
export class TwoGenerationCache<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly generationSize: number;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 2) throw new RangeError("capacity must be an integer >= 2");
    this.generationSize = Math.floor(capacity / 2);
  }

  /** Entries held (at most the capacity). */
  get size(): number {
    return this.young.size + this.old.size;
  }

  get(key: K): V | undefined {
    const value = this.young.get(key);
    if (value !== undefined) return value;
    const aged = this.old.get(key);
    if (aged !== undefined) this.set(key, aged);
    return aged;
  }

  set(key: K, value: V): void {
    this.young.set(key, value);
    if (this.young.size >= this.generationSize) {
      this.old = this.young;
      this.young = new Map();
    }
  }
}
