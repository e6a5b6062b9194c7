import type { DecodedBlock } from "../primitives/index.js";
import { toHex } from "../primitives/index.js";

export interface OrphanPoolOptions {
  maxCount: number;
  maxBytes: number;
  /** seconds an orphan is kept before it expires */
  expirySeconds: number;
}

export const DEFAULT_ORPHAN_POOL: OrphanPoolOptions = {
  maxCount: 256,
  maxBytes: 32 * 1024 * 1024,
  expirySeconds: 20 * 60,
};

interface Orphan {
  block: DecodedBlock;
  hashHex: string;
  parentHex: string;
  size: number;
  addedAt: number;
}

/**
 * Blocks whose parent is unknown, kept until the parent arrives. Bounded by count, bytes and age;
 * the oldest go first. Callers admit only blocks that meet the pow limit, so filling it costs work.
 */
export class OrphanPool {
  private readonly byHash = new Map<string, Orphan>();
  private readonly byParent = new Map<string, Set<string>>();
  private bytes = 0;

  constructor(private readonly opts: OrphanPoolOptions = DEFAULT_ORPHAN_POOL) {}

  get count(): number {
    return this.byHash.size;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  has(hashHex: string): boolean {
    return this.byHash.has(hashHex);
  }

  /** Adds an orphan; returns false when it is too large to keep at all. */
  add(block: DecodedBlock, nowSeconds: number): boolean {
    const { hashHex } = block;
    if (this.byHash.has(hashHex)) return true;
    const size = block.bytes.length;
    if (size > this.opts.maxBytes) return false;
    this.expire(nowSeconds);
    while (this.byHash.size >= this.opts.maxCount || this.bytes + size > this.opts.maxBytes)
      this.evictOldest();
    const parentHex = toHex(block.block.header.prevHash);
    this.byHash.set(hashHex, { block, hashHex, parentHex, size, addedAt: nowSeconds });
    let siblings = this.byParent.get(parentHex);
    if (!siblings) {
      siblings = new Set();
      this.byParent.set(parentHex, siblings);
    }
    siblings.add(hashHex);
    this.bytes += size;
    return true;
  }

  /** Removes and returns the orphans whose parent is `parentHex`. */
  takeChildren(parentHex: string): DecodedBlock[] {
    const children = this.byParent.get(parentHex);
    if (!children) return [];
    const blocks: DecodedBlock[] = [];
    for (const hashHex of children) {
      const orphan = this.byHash.get(hashHex);
      if (orphan) blocks.push(orphan.block);
      this.remove(hashHex);
    }
    return blocks;
  }

  /**
   * Removes every orphan descending from `parentHex` (a block refused without being stored: they
   * can never attach); returns how many.
   */
  dropDescendants(parentHex: string): number {
    let dropped = 0;
    const pending = [parentHex];
    while (pending.length > 0) {
      for (const child of this.takeChildren(pending.pop()!)) {
        pending.push(child.hashHex);
        dropped++;
      }
    }
    return dropped;
  }

  /** The first missing ancestor of an orphan chain: the parent sync must fetch. */
  missingRoot(hashHex: string): string | undefined {
    let orphan = this.byHash.get(hashHex);
    let root = orphan?.parentHex;
    while (orphan) {
      root = orphan.parentHex;
      orphan = this.byHash.get(orphan.parentHex);
    }
    return root;
  }

  expire(nowSeconds: number): void {
    for (const orphan of this.byHash.values()) {
      if (orphan.addedAt + this.opts.expirySeconds <= nowSeconds) this.remove(orphan.hashHex);
    }
  }

  private evictOldest(): void {
    const oldest = this.byHash.keys().next();
    if (!oldest.done) this.remove(oldest.value);
  }

  private remove(hashHex: string): void {
    const orphan = this.byHash.get(hashHex);
    if (!orphan) return;
    this.byHash.delete(hashHex);
    this.bytes -= orphan.size;
    const siblings = this.byParent.get(orphan.parentHex);
    siblings?.delete(hashHex);
    if (siblings?.size === 0) this.byParent.delete(orphan.parentHex);
  }
}
