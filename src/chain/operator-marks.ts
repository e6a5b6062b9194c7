import { type BlockIndexEntry, BlockStatus, StoreBatch } from "../store/index.js";
import type { ChainContext } from "./connect.js";
import { activateBestChain, type ConnectFailures } from "./reorg.js";

/**
 * The operator's marks (bitcoind's `invalidateblock` / `reconsiderblock`): a way back after a bad
 * block or an unwanted branch. Both write the marks in one batch first and then run fork choice,
 * so a crash in between leaves the marks on disk and `Chain.open` finishes the move.
 */

/** The invalid code an operator's mark carries (a consensus failure carries its BlockErrorCode). */
export const OPERATOR_INVALIDATED = "OPERATOR_INVALIDATED";

function isInvalid(entry: BlockIndexEntry): boolean {
  return entry.status === BlockStatus.Invalid || entry.status === BlockStatus.InvalidChild;
}

/**
 * Marks `entry` invalid and every stored descendant invalid-child (persisted), then moves the main
 * chain to the best branch left: off `entry` if it was on it (a reorg to its parent, or to a
 * heavier valid branch).
 */
export async function invalidateBlock(ctx: ChainContext, entry: BlockIndexEntry): Promise<ConnectFailures> {
  if (entry.height === 0) throw new RangeError("genesis cannot be invalidated");
  const descendants = ctx.index.descendants(entry);
  const batch = new StoreBatch().putIndex({
    ...entry,
    status: BlockStatus.Invalid,
    invalidCode: OPERATOR_INVALIDATED,
  });
  for (const child of descendants) {
    if (!isInvalid(child))
      batch.putIndex({ ...child, status: BlockStatus.InvalidChild, invalidCode: OPERATOR_INVALIDATED });
  }
  await ctx.store.write(batch);
  entry.status = BlockStatus.Invalid;
  entry.invalidCode = OPERATOR_INVALIDATED;
  for (const child of descendants) {
    if (isInvalid(child)) continue;
    child.status = BlockStatus.InvalidChild;
    child.invalidCode = OPERATOR_INVALIDATED;
  }
  ctx.log.warn(
    { hash: entry.hashHex, height: entry.height, descendants: descendants.length },
    "block invalidated by operator",
  );
  return activateBestChain(ctx);
}

/**
 * Clears the invalid marks of `entry`, its ancestors and its descendants whose bodies are stored
 * (persisted; they become `data` again, to be checked when they connect), then runs fork choice.
 * A block rejected on arrival (its body failed the stateless rules and was never stored) keeps its
 * mark: there is nothing to connect. Returns the cleared count and the blocks that failed again.
 */
export async function reconsiderBlock(
  ctx: ChainContext,
  entry: BlockIndexEntry,
): Promise<{ cleared: number; failures: ConnectFailures }> {
  const related: BlockIndexEntry[] = [entry, ...ctx.index.descendants(entry)];
  for (let cursor = ctx.index.parentOf(entry); cursor; cursor = ctx.index.parentOf(cursor))
    related.push(cursor);
  const toClear: BlockIndexEntry[] = [];
  for (const e of related) {
    if (isInvalid(e) && (await ctx.store.getBlockBytes(e.hash)) !== undefined) toClear.push(e);
  }
  if (toClear.length > 0) {
    const batch = new StoreBatch();
    for (const e of toClear) batch.putIndex({ ...e, status: BlockStatus.Data, invalidCode: "" });
    await ctx.store.write(batch);
    for (const e of toClear) {
      e.status = BlockStatus.Data;
      e.invalidCode = "";
    }
    ctx.log.warn(
      { hash: entry.hashHex, height: entry.height, cleared: toClear.length },
      "block reconsidered by operator",
    );
  }
  return { cleared: toClear.length, failures: await activateBestChain(ctx) };
}
