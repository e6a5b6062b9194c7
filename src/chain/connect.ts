import type { NetworkParams } from "../consensus/index.js";
import {
  applyBlockState,
  BlockError,
  BlockErrorCode,
  stateRootAfter,
  touchedAddresses,
} from "../consensus/index.js";
import type { DecodedBlock } from "../primitives/index.js";
import { equalBytes } from "../primitives/index.js";
import {
  type BlockIndexEntry,
  BlockStatus,
  type ChainStore,
  StoreBatch,
  StoreError,
  StoreErrorCode,
} from "../store/index.js";
import type { Logger } from "../util/index.js";
import { type AddressIndexState, addressEntries } from "./address-index.js";
import type { BlockIndex } from "./block-index.js";
import type { ChainEvents } from "./events.js";
import type { ReorgGate } from "./reorg-gate.js";

/** What connecting, disconnecting and marking blocks work on. */
export interface ChainContext {
  params: NetworkParams;
  store: ChainStore;
  index: BlockIndex;
  /** the chain's own emitter: listeners hear each step as it lands */
  emit<K extends keyof ChainEvents & string>(event: K, payload: ChainEvents[K]): void;
  log: Logger;
  /** the address index, kept in each connect/disconnect batch while enabled (address-index.ts) */
  addressIndex: AddressIndexState;
  /** open while a reorg is half-way (reorg.ts) */
  reorgs: ReorgGate;
}

/** One block that moved on or off the main chain. */
export interface ChainStep {
  entry: BlockIndexEntry;
  block: DecodedBlock;
}

/**
 * Every function here writes one atomic batch and changes the in-memory index only after that
 * write succeeded: when the disk refuses a batch (ENOSPC, I/O error) the index still matches it.
 */

/** A stored block (or `fresh`, when it is that block and already decoded). */
export async function loadBlock(
  ctx: ChainContext,
  entry: BlockIndexEntry,
  fresh?: DecodedBlock,
): Promise<DecodedBlock> {
  if (fresh?.hashHex === entry.hashHex) return fresh;
  const block = await ctx.store.getBlock(entry.hash);
  if (!block)
    throw new StoreError(StoreErrorCode.CORRUPT, `block ${entry.hashHex} is indexed but not stored`);
  return block;
}

/**
 * Applies a block on top of the tip: state transition, state root check, one batch. With
 * `unstored` the block is new (not in the store or index yet): the same batch stores it, and it
 * joins the index once written. `onValid` runs once the block is known valid, before the write.
 * Throws BlockError BAD_STATE_ROOT, writing nothing.
 */
export async function connectBlock(
  ctx: ChainContext,
  entry: BlockIndexEntry,
  block: DecodedBlock,
  unstored = false,
  onValid?: () => void,
): Promise<ChainStep> {
  const batch = await prepareConnect(ctx, entry, block, unstored);
  onValid?.();
  await ctx.store.write(batch);
  return commitConnect(ctx, entry, block, unstored);
}

/**
 * connectBlock's first half: the state transition on top of the tip, the state root check and
 * the batch that connects the block (with the block itself when `unstored`). Writes nothing.
 */
export async function prepareConnect(
  ctx: ChainContext,
  entry: BlockIndexEntry,
  block: DecodedBlock,
  unstored: boolean,
): Promise<StoreBatch> {
  const parent = ctx.index.tip;
  const pre = await ctx.store.getAccounts(touchedAddresses(block.block.txs));
  const diff = applyBlockState(block.block, entry.height, ctx.params, pre);
  const { root, newNodes } = await stateRootAfter(parent.header.stateRoot, diff.changes.values(), ctx.store);
  if (!equalBytes(root, entry.header.stateRoot)) {
    throw new BlockError(
      { code: BlockErrorCode.BAD_STATE_ROOT },
      "state root does not match the state after the block",
    );
  }
  const batch = unstored ? new StoreBatch().putBlock(block) : new StoreBatch();
  const undo = [];
  for (const change of diff.changes.values()) {
    batch.putAccount(change.address, change.after);
    undo.push({ address: change.address, before: change.before });
  }
  batch
    .putTxIndex(block.txIds, entry.hash)
    .putTreeNodes(newNodes)
    .putUndo(entry.hash, { accounts: undo })
    .putIndex({ ...entry, status: BlockStatus.Valid })
    .putMainChain(entry.height, entry.hash)
    .putTip(entry.hash);
  if (ctx.addressIndex.enabled)
    batch.putAddressEntries(addressEntries(block.block, block.txIds, entry.height));
  return batch;
}

/** connectBlock's second half, once prepareConnect's batch is written: the index and the event. */
export function commitConnect(
  ctx: ChainContext,
  entry: BlockIndexEntry,
  block: DecodedBlock,
  unstored: boolean,
): ChainStep {
  entry.status = BlockStatus.Valid;
  if (unstored) ctx.index.add(entry);
  ctx.index.pushMain(entry);
  ctx.emit("blockConnected", {
    hash: entry.hashHex,
    height: entry.height,
    block: block.block,
    txIds: block.txIds,
  });
  return { entry, block };
}

/** Undoes the tip block: restores the accounts it touched, one batch. */
export async function disconnectTip(ctx: ChainContext): Promise<ChainStep> {
  const entry = ctx.index.tip;
  if (entry.height === 0) throw new RangeError("cannot disconnect genesis");
  const block = await loadBlock(ctx, entry);
  const undo = await ctx.store.getUndo(entry.hash);
  const batch = new StoreBatch();
  for (const { address, before } of undo.accounts) batch.putAccount(address, before);
  batch.delTxIndex(block.txIds).delMainChain(entry.height).putTip(entry.header.prevHash);
  if (ctx.addressIndex.enabled)
    batch.delAddressEntries(addressEntries(block.block, block.txIds, entry.height));
  await ctx.store.write(batch);
  ctx.index.popMain();
  return { entry, block };
}

/**
 * Marks a block invalid and every stored descendant invalid-child, persistently. With `unstored`
 * the block failed before it was stored: the batch stores it too and it joins the index.
 */
export async function markInvalid(
  ctx: ChainContext,
  entry: BlockIndexEntry,
  code: string,
  unstored?: DecodedBlock,
): Promise<void> {
  const batch = unstored ? new StoreBatch().putBlock(unstored) : new StoreBatch();
  batch.putIndex({ ...entry, status: BlockStatus.Invalid, invalidCode: code });
  const descendants = unstored ? [] : ctx.index.descendants(entry);
  for (const child of descendants)
    batch.putIndex({ ...child, status: BlockStatus.InvalidChild, invalidCode: code });
  await ctx.store.write(batch);
  entry.status = BlockStatus.Invalid;
  entry.invalidCode = code;
  for (const child of descendants) {
    child.status = BlockStatus.InvalidChild;
    child.invalidCode = code;
  }
  if (unstored) ctx.index.add(entry);
  ctx.log.warn({ hash: entry.hashHex, height: entry.height, code }, "block invalid on connect");
  ctx.emit("invalidBlock", { hash: entry.hashHex, code });
}
