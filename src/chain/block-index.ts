import type { NetworkParams } from "../consensus/index.js";
import { expectedBits, medianTimePast } from "../consensus/index.js";
import { toHex } from "../primitives/index.js";
import { type BlockIndexEntry, BlockStatus, StoreError, StoreErrorCode } from "../store/index.js";

/** The blocks from the main chain to a target: the last main-chain ancestor and the rest. */
export interface BranchPath {
  fork: BlockIndexEntry;
  /** fork side first, ending with the target */
  path: BlockIndexEntry[];
}

/**
 * Every stored block's index entry, the main chain by height, and the bookkeeping fork choice
 * needs. It holds only what the store holds: callers change it after the batch that wrote the same
 * change succeeded, so a failed write leaves it as the disk is.
 */
export class BlockIndex {
  private readonly entries = new Map<string, BlockIndexEntry>();
  private readonly children = new Map<string, Set<string>>();
  private readonly main: BlockIndexEntry[] = [];
  private sequence = 0;

  constructor(private readonly params: NetworkParams) {}

  get size(): number {
    return this.entries.size;
  }

  get(hashHex: string): BlockIndexEntry | undefined {
    return this.entries.get(hashHex);
  }

  /** The arrival number the next new entry takes (first seen wins among equal work). */
  get nextSequence(): number {
    return this.sequence;
  }

  /** Adds an entry that was just written (or loaded) with its parent link. */
  add(entry: BlockIndexEntry): void {
    this.entries.set(entry.hashHex, entry);
    if (entry.sequence >= this.sequence) this.sequence = entry.sequence + 1;
    if (entry.height > 0) {
      const parentHex = toHex(entry.header.prevHash);
      let set = this.children.get(parentHex);
      if (!set) {
        set = new Set();
        this.children.set(parentHex, set);
      }
      set.add(entry.hashHex);
    }
  }

  get tip(): BlockIndexEntry {
    const tip = this.main[this.main.length - 1];
    if (!tip) throw new StoreError(StoreErrorCode.CORRUPT, "main chain is empty");
    return tip;
  }

  get height(): number {
    return this.main.length - 1;
  }

  /** The main-chain entry at a height, if any. */
  atHeight(height: number): BlockIndexEntry | undefined {
    return this.main[height];
  }

  isOnMainChain(entry: BlockIndexEntry): boolean {
    return this.main[entry.height] === entry;
  }

  /** Appends the entry that was just connected on top of the tip. */
  pushMain(entry: BlockIndexEntry): void {
    if (entry.height !== this.main.length)
      throw new RangeError(`block ${entry.hashHex} does not extend the tip`);
    this.main.push(entry);
  }

  /** Removes the tip that was just disconnected. */
  popMain(): void {
    this.main.pop();
  }

  /** Up to `count` main-chain entries from `fromHeight` upwards. */
  mainRange(fromHeight: number, count: number): BlockIndexEntry[] {
    return this.main.slice(Math.max(0, fromHeight), Math.max(0, fromHeight) + Math.max(0, count));
  }

  /**
   * Block locator (Bitcoin's): main-chain hashes from the tip back, dense for the last 10 then
   * doubling the step, always ending at genesis. A peer finds the fork point from it.
   */
  locator(): string[] {
    const hashes: string[] = [];
    let step = 1;
    for (let height = this.height; height > 0; height -= step) {
      hashes.push(this.main[height]!.hashHex);
      if (hashes.length >= 10) step *= 2;
    }
    hashes.push(this.main[0]!.hashHex);
    return hashes;
  }

  /** The highest main-chain block named in a locator (genesis at worst, if it is ours). */
  forkPoint(locator: readonly string[]): BlockIndexEntry | undefined {
    for (const hashHex of locator) {
      const entry = this.entries.get(hashHex);
      if (entry && this.isOnMainChain(entry)) return entry;
    }
    return undefined;
  }

  /** Median of the times of `entry` and up to medianTimeSpan − 1 of its ancestors. */
  medianTimePast(entry: BlockIndexEntry): number {
    return medianTimePast(this.recentTimes(entry));
  }

  /** The times of `entry` and up to medianTimeSpan − 1 of its ancestors, `entry`'s first. */
  recentTimes(entry: BlockIndexEntry): number[] {
    const times: number[] = [];
    let cursor: BlockIndexEntry | undefined = entry;
    while (cursor && times.length < this.params.medianTimeSpan) {
      times.push(cursor.header.time);
      cursor = cursor.height === 0 ? undefined : this.entries.get(toHex(cursor.header.prevHash));
    }
    return times;
  }

  /** The bits (ASERT) a child of `parent` must carry. */
  childBits(parent: BlockIndexEntry): number {
    const height = parent.height + 1;
    return expectedBits(
      height,
      { height: parent.height, time: parent.header.time },
      height === 1 ? undefined : parent.block1Time,
      this.params,
    );
  }

  /**
   * The valid entry with the most work; ties go to the lower sequence (first seen). The tip is
   * one candidate among the others, so a tip marked invalid (invalidateBlock) is not chosen.
   */
  bestCandidate(): BlockIndexEntry {
    let best: BlockIndexEntry | undefined;
    for (const entry of this.entries.values()) {
      if (entry.status !== BlockStatus.Data && entry.status !== BlockStatus.Valid) continue;
      if (
        !best ||
        entry.chainWork > best.chainWork ||
        (entry.chainWork === best.chainWork && entry.sequence < best.sequence)
      ) {
        best = entry;
      }
    }
    return best ?? this.tip;
  }

  /** Every entry no other entry builds on: the tips of all known branches. */
  leaves(): BlockIndexEntry[] {
    const out: BlockIndexEntry[] = [];
    for (const entry of this.entries.values()) {
      if ((this.children.get(entry.hashHex)?.size ?? 0) === 0) out.push(entry);
    }
    return out;
  }

  /** The parent entry (undefined for genesis). */
  parentOf(entry: BlockIndexEntry): BlockIndexEntry | undefined {
    return entry.height === 0 ? undefined : this.entries.get(toHex(entry.header.prevHash));
  }

  /** The main-chain ancestor of `target` and the blocks between it and `target`. */
  branchTo(target: BlockIndexEntry): BranchPath {
    const path: BlockIndexEntry[] = [];
    let cursor: BlockIndexEntry = target;
    while (!this.isOnMainChain(cursor)) {
      path.push(cursor);
      cursor = this.entries.get(toHex(cursor.header.prevHash))!;
    }
    return { fork: cursor, path: path.reverse() };
  }

  /** Every stored descendant of `entry`. */
  descendants(entry: BlockIndexEntry): BlockIndexEntry[] {
    const out: BlockIndexEntry[] = [];
    const pending = [...(this.children.get(entry.hashHex) ?? [])];
    while (pending.length > 0) {
      const child = this.entries.get(pending.pop()!)!;
      out.push(child);
      pending.push(...(this.children.get(child.hashHex) ?? []));
    }
    return out;
  }
}
