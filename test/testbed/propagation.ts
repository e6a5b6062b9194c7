import type { TipSeen } from "./tip-agent.js";

/** Block propagation over a set of blocks and receiving nodes, from tip-agent records. */
export interface Propagation {
  blocks: number;
  nodes: number;
  /** (block, node) pairs where the node connected the block, over all pairs */
  delivered: number;
  pairs: number;
  /** per (block, node): ms from the miner connecting the block to the node connecting it */
  pairP50Ms: number;
  pairP95Ms: number;
  /** per block: ms until the last of the nodes connected it (blocks some node missed left out) */
  allP50Ms: number;
  allP95Ms: number;
  /** name -> blocks of the set the node never connected */
  missing: Record<string, number>;
  /** the 5 slowest (block, node) pairs: where the tail comes from */
  slowest: { height: number; node: string; ms: number }[];
}

/** Nearest-rank percentile of `values` (NaN when empty). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * `blocks`: hashes the miner connected (its own tip events give the start time of each);
 * `receivers`: name -> that node's first-seen record. A node that never saw a block counts as not
 * delivered (not as a delay).
 */
export function propagation(
  blocks: readonly string[],
  miner: ReadonlyMap<string, TipSeen>,
  receivers: ReadonlyMap<string, ReadonlyMap<string, TipSeen>>,
): Propagation {
  const pairDelays: number[] = [];
  const pairs: { height: number; node: string; ms: number }[] = [];
  const allDelays: number[] = [];
  const missing: Record<string, number> = {};
  let delivered = 0;
  for (const name of receivers.keys()) missing[name] = 0;
  for (const hash of blocks) {
    const start = miner.get(hash);
    if (!start) throw new Error(`the miner has no record of block ${hash}`);
    let last = 0;
    let complete = true;
    for (const [name, seen] of receivers) {
      const at = seen.get(hash);
      if (!at) {
        missing[name] = (missing[name] ?? 0) + 1;
        complete = false;
        continue;
      }
      delivered++;
      // a node can connect a block before the miner's own event reached us (pipe delays): 0
      const delay = Math.max(0, at.atMs - start.atMs);
      pairDelays.push(delay);
      pairs.push({ height: start.height, node: name, ms: delay });
      last = Math.max(last, delay);
    }
    if (complete) allDelays.push(last);
  }
  return {
    blocks: blocks.length,
    nodes: receivers.size,
    delivered,
    pairs: blocks.length * receivers.size,
    pairP50Ms: percentile(pairDelays, 50),
    pairP95Ms: percentile(pairDelays, 95),
    allP50Ms: percentile(allDelays, 50),
    allP95Ms: percentile(allDelays, 95),
    missing,
    slowest: pairs.sort((x, y) => y.ms - x.ms).slice(0, 5),
  };
}
