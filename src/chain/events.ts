import type { Block, TransferTx } from "../primitives/index.js";

export interface BlockRef {
  hash: string;
  height: number;
}

export interface BlockConnectedEvent extends BlockRef {
  block: Block;
  /** the transactions' ids, in block order (computed once, when the block was decoded) */
  txIds: readonly Uint8Array[];
}

/** A switch of the main chain to a branch that did not extend the old tip. */
export interface ReorgEvent {
  /** blocks disconnected from the old chain */
  depth: number;
  forkPoint: BlockRef;
  oldTip: BlockRef;
  newTip: BlockRef;
  /** old-chain blocks, tip first */
  disconnected: BlockRef[];
  /** new-chain blocks, fork side first */
  connected: BlockRef[];
  /** transfers of the disconnected blocks that the new chain does not include: back to the mempool */
  returnedTransactions: TransferTx[];
}

export interface InvalidBlockEvent {
  hash: string;
  code: string;
}

export interface OrphanEvent {
  hash: string;
  /** the first ancestor we do not have: what sync must fetch */
  missingAncestor: string;
}

/** The chain stopped writing (see Chain.halted); `code` is a StoreErrorCode. */
export interface ChainHalt {
  code: string;
  reason: string;
  /** wall-clock milliseconds when the halt began */
  sinceMs: number;
}

export interface ChainEvents {
  halted: ChainHalt;
  resumed: ChainHalt;
  blockConnected: BlockConnectedEvent;
  reorg: ReorgEvent;
  invalidBlock: InvalidBlockEvent;
  orphan: OrphanEvent;
}
