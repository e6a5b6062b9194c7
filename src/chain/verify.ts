import type { NetworkParams } from "../consensus/index.js";
import {
  type Account,
  accountTreeKey,
  accountValueHash,
  applyBlockState,
  checkBlockBody,
  EMPTY_TREE_ROOT,
  encodeAccount,
  MemoryTreeNodeStore,
  rootFromLeaves,
  stateRootAfter,
  touchedAddresses,
} from "../consensus/index.js";
import { equalBytes, toHex } from "../primitives/index.js";
import type { BlockIndexEntry, ChainStore } from "../store/index.js";
import { StoreError, StoreErrorCode } from "../store/index.js";

export interface ReplayReport {
  height: number;
  tip: string;
  accounts: number;
}

/**
 * `quarry verify --full`: replays the stored main chain from genesis in memory, checking every
 * block's body and state root, then compares the replayed accounts with the stored ones.
 * Throws StoreError naming the first height that does not match.
 */
export async function replayMainChain(
  store: ChainStore,
  params: NetworkParams,
  onProgress?: (height: number) => void,
): Promise<ReplayReport> {
  const hashes = await store.mainChainHashes();
  const tree = new MemoryTreeNodeStore();
  const accounts = new Map<string, Account>();
  let root = EMPTY_TREE_ROOT;
  for (let height = 1; height < hashes.length; height++) {
    const hash = hashes[height]!;
    const decoded = await store.getBlock(hash);
    const where = `block ${toHex(hash)} at height ${height}`;
    if (!decoded || !equalBytes(decoded.hash, hash)) {
      throw new StoreError(StoreErrorCode.CORRUPT, `${where} is missing or does not match its hash`);
    }
    const { block } = decoded;
    try {
      checkBlockBody(block, height, params, undefined, decoded.txIds);
      const pre = new Map<string, Account>();
      for (const address of touchedAddresses(block.txs)) {
        const account = accounts.get(toHex(address));
        if (account) pre.set(toHex(address), account);
      }
      const diff = applyBlockState(block, height, params, pre);
      const undo = await store.getUndo(hash);
      for (const { address, before } of undo.accounts) {
        const expected = diff.changes.get(toHex(address))?.before;
        if (!expected || !equalBytes(encodeAccount(expected), encodeAccount(before)))
          throw new Error(`its undo record's account ${toHex(address)} differs from the state before it`);
      }
      const next = await stateRootAfter(root, diff.changes.values(), tree);
      tree.putNodes(next.newNodes);
      root = next.root;
      for (const [id, change] of diff.changes) accounts.set(id, change.after);
    } catch (err) {
      throw new StoreError(StoreErrorCode.CORRUPT, `${where} fails replay: ${(err as Error).message}`);
    }
    if (!equalBytes(root, block.header.stateRoot)) {
      throw new StoreError(
        StoreErrorCode.STATE_MISMATCH,
        `${where}: replayed state root differs from the header's`,
      );
    }
    onProgress?.(height);
  }
  let stored = 0;
  for await (const { address, account } of store.accounts()) {
    stored++;
    const replayed = accounts.get(toHex(address));
    if (!replayed || !equalBytes(encodeAccount(replayed), encodeAccount(account))) {
      throw new StoreError(
        StoreErrorCode.STATE_MISMATCH,
        `stored account ${toHex(address)} differs from the replayed one`,
      );
    }
  }
  const nonEmpty = [...accounts.values()].filter((a) => accountValueHash(a) !== null).length;
  if (stored !== nonEmpty) {
    throw new StoreError(
      StoreErrorCode.STATE_MISMATCH,
      `store has ${stored} accounts, replay has ${nonEmpty}`,
    );
  }
  return { height: hashes.length - 1, tip: toHex(hashes[hashes.length - 1]!), accounts: stored };
}

/** The start-up integrity check: the stored accounts must hash to the tip's state root. */
export async function verifyTipState(store: ChainStore, tip: BlockIndexEntry): Promise<void> {
  const leaves: { key: Uint8Array; valueHash: Uint8Array }[] = [];
  for await (const { address, account } of store.accounts()) {
    const valueHash = accountValueHash(account);
    if (valueHash) leaves.push({ key: accountTreeKey(address), valueHash });
  }
  const root = rootFromLeaves(leaves);
  if (!equalBytes(root, tip.header.stateRoot)) {
    throw new StoreError(
      StoreErrorCode.STATE_MISMATCH,
      `stored state does not match the state root of tip ${tip.hashHex} at height ${tip.height}; run 'quarry verify' to find where, or resync into a new --datadir`,
    );
  }
}
