/**
 * A bounded cache for state tree nodes, cheaper per hit than an LRU: two generations of at most
 * half the capacity each. Writes go to the young generation; a hit in the old generation is
 * copied to the young one; when the young one is full it becomes the old one and the previous
 * old one is dropped. So an entry used at least once per half-capacity of writes stays, and a hit
 * in the young generation costs one Map lookup (an LRU moves the entry on every hit).
 *
 * The capacity is in units of `weigh(key, value)`: one per entry by default (a count), or bytes
 * when `weigh` estimates an entry's memory (as the chain store does). An entry copied from the
 * old generation to the young one is weighed again: the bound is conservative.
 */
export class TwoGenerationCache<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private youngWeight = 0;
  private oldWeight = 0;
  private readonly generationWeight: number;

  constructor(
    capacity: number,
    private readonly weigh: (key: K, value: V) => number = () => 1,
  ) {
    if (!Number.isInteger(capacity) || capacity < 2) throw new RangeError("capacity must be an integer >= 2");
    if (typeof weigh !== "function") throw new TypeError("weigh must be a function");
    this.generationWeight = Math.floor(capacity / 2);
  }

  /** Entries held (an entry in both generations counts twice). */
  get size(): number {
    return this.young.size + this.old.size;
  }

  /** Total weight held, at most the capacity (bytes, when `weigh` returns bytes). */
  get weight(): number {
    return this.youngWeight + this.oldWeight;
  }

  get(key: K): V | undefined {
    const value = this.young.get(key);
    if (value !== undefined) return value;
    const aged = this.old.get(key);
    if (aged !== undefined) this.set(key, aged);
    return aged;
  }

  set(key: K, value: V): void {
    const weight = this.weigh(key, value);
    // The young generation ages before it would pass half the capacity, so neither does.
    if (this.youngWeight + weight > this.generationWeight && this.young.size > 0) {
      this.old = this.young;
      this.oldWeight = this.youngWeight;
      this.young = new Map();
      this.youngWeight = 0;
    }
    this.young.set(key, value);
    this.youngWeight += weight;
  }
}
