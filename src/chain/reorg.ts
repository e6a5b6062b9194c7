import { BlockError } from "../consensus/index.js";
import type { DecodedBlock } from "../primitives/index.js";
import { type TransferTx, TxType, toHex } from "../primitives/index.js";
import type { BlockIndexEntry } from "../store/index.js";
import { StoreBatch } from "../store/index.js";
import {
  type ChainContext,
  type ChainStep,
  connectBlock,
  disconnectTip,
  loadBlock,
  markInvalid,
} from "./connect.js";
import type { BlockRef, ReorgEvent } from "./events.js";

/** Blocks that failed to connect while the chain moved, by hash: what the caller reports. */
export type ConnectFailures = Map<string, BlockError>;

/**
 * Stores a validated block and moves the main chain. A block on the tip is stored by its own
 * connect batch (one write), and `onValid` runs once that batch is prepared (the block is fully
 * valid) before it is written; any other is stored first, then fork choice runs. The index learns
 * of the block only once a write holding it succeeded. Returns the blocks that failed to connect.
 */
export async function storeAndActivate(
  ctx: ChainContext,
  entry: BlockIndexEntry,
  parent: BlockIndexEntry,
  block: DecodedBlock,
  onValid?: () => void,
): Promise<ConnectFailures> {
  if (parent !== ctx.index.tip) {
    await ctx.store.write(new StoreBatch().putBlock(block).putIndex(entry));
    ctx.index.add(entry);
    return activateBestChain(ctx, block);
  }
  const failures: ConnectFailures = new Map();
  try {
    await connectBlock(ctx, entry, block, true, onValid);
  } catch (err) {
    if (!(err instanceof BlockError)) throw err;
    await markInvalid(ctx, entry, err.type.code, block);
    failures.set(entry.hashHex, err);
  }
  for (const [hash, err] of await activateBestChain(ctx)) failures.set(hash, err);
  return failures;
}

/**
 * Moves the main chain to the best valid branch, retrying after every invalid block found.
 * `fresh` is a block just stored, handed over so it is not read back. Returns the blocks that
 * failed to connect on the way (they are marked invalid with their descendants).
 */
export async function activateBestChain(ctx: ChainContext, fresh?: DecodedBlock): Promise<ConnectFailures> {
  const failures: ConnectFailures = new Map();
  for (;;) {
    const best = ctx.index.bestCandidate();
    if (best === ctx.index.tip) return failures;
    const failure = await switchTo(ctx, best, fresh);
    if (failure === undefined) return failures;
    failures.set(failure.entry.hashHex, failure.error);
  }
}

/**
 * Reorganises onto `target`, disconnecting to the fork point and connecting its branch block by
 * block. When a block of the branch fails it is marked invalid, the chain returns to the branch it
 * left, and the failure is returned.
 */
async function switchTo(
  ctx: ChainContext,
  target: BlockIndexEntry,
  fresh: DecodedBlock | undefined,
): Promise<{ entry: BlockIndexEntry; error: BlockError } | undefined> {
  const oldTip = ctx.index.tip;
  const { fork, path } = ctx.index.branchTo(target);
  // Extending the tip only lengthens the main chain; a reorg shortens it first (ReorgGate).
  const reorganising = fork !== oldTip;
  if (reorganising) ctx.reorgs.begin();
  try {
    return await moveMainChain(ctx, oldTip, fork, path, fresh);
  } finally {
    if (reorganising) ctx.reorgs.end();
  }
}

async function moveMainChain(
  ctx: ChainContext,
  oldTip: BlockIndexEntry,
  fork: BlockIndexEntry,
  path: readonly BlockIndexEntry[],
  fresh: DecodedBlock | undefined,
): Promise<{ entry: BlockIndexEntry; error: BlockError } | undefined> {
  const disconnected: ChainStep[] = [];
  while (ctx.index.tip !== fork) disconnected.push(await disconnectTip(ctx));

  const connected: ChainStep[] = [];
  for (const entry of path) {
    try {
      connected.push(await connectBlock(ctx, entry, await loadBlock(ctx, entry, fresh)));
    } catch (err) {
      if (!(err instanceof BlockError)) throw err;
      await markInvalid(ctx, entry, err.type.code);
      // Back to the chain we left; its blocks connected before, so they connect again.
      while (ctx.index.tip !== fork) await disconnectTip(ctx);
      for (const { entry: old, block } of [...disconnected].reverse()) await connectBlock(ctx, old, block);
      return { entry, error: err };
    }
  }
  if (disconnected.length > 0) ctx.emit("reorg", reorgReport(ctx, oldTip, fork, disconnected, connected));
  return undefined;
}

function reorgReport(
  ctx: ChainContext,
  oldTip: BlockIndexEntry,
  fork: BlockIndexEntry,
  disconnected: readonly ChainStep[],
  connected: readonly ChainStep[],
): ReorgEvent {
  const ref = (e: BlockIndexEntry): BlockRef => ({ hash: e.hashHex, height: e.height });
  const newTip = ctx.index.tip;
  const included = new Set<string>();
  for (const { block } of connected) for (const id of block.txIds) included.add(toHex(id));
  const returnedTransactions: TransferTx[] = [];
  // Oldest block first, so each sender's transfers come back in nonce order.
  for (const { block } of [...disconnected].reverse()) {
    block.block.txs.forEach((tx, i) => {
      if (tx.type === TxType.Transfer && !included.has(toHex(block.txIds[i]!))) returnedTransactions.push(tx);
    });
  }
  const report: ReorgEvent = {
    depth: disconnected.length,
    forkPoint: ref(fork),
    oldTip: ref(oldTip),
    newTip: ref(newTip),
    disconnected: disconnected.map(({ entry }) => ref(entry)),
    connected: connected.map(({ entry }) => ref(entry)),
    returnedTransactions,
  };
  ctx.log.info(
    { depth: report.depth, forkHeight: fork.height, oldTip: oldTip.hashHex, newTip: newTip.hashHex },
    "chain reorganised",
  );
  return report;
}
