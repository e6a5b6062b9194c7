import { sha256 } from "@noble/hashes/sha2.js";
import { decodeTreeNode, EMPTY_TREE_ROOT, touchedAddresses } from "../consensus/index.js";
import { equalBytes, fromHex, toHex } from "../primitives/index.js";
import type { ChainStore } from "../store/index.js";
import {
  addressIndexKey,
  type BlockIndexEntry,
  BlockStatus,
  CORRUPTION_ADVICE,
  decodeUndo,
  encodeAddressIndexValue,
  Prefix,
  StoreError,
  StoreErrorCode,
} from "../store/index.js";
import { addressEntries } from "./address-index.js";

/** Records checked per table by `checkStoreRecords`. */
export interface StoreCheckCounts {
  indexEntries: number;
  blocks: number;
  mainChainBlocks: number;
  undoRecords: number;
  txIndexEntries: number;
  /** entries of the address index (0 when the store keeps none) */
  addressIndexEntries: number;
  treeNodes: number;
}

export interface StoreCheckReport {
  counts: StoreCheckCounts;
  height: number;
  tip: string;
}

/** Progress of a check: the table being read and records done so far (total when known). */
export type StoreCheckProgress = (table: string, done: number, total?: number) => void;

/** Tx-index point reads per LevelDB getMany. */
const TX_READ_BATCH = 1000;

const DIGEST_MODULUS = 1n << 256n;

function entryDigest(key: Uint8Array, value: Uint8Array): bigint {
  const h = sha256.create().update(key).update(value).digest();
  return BigInt(`0x${toHex(h)}`);
}

function corrupt(message: string): StoreError {
  return new StoreError(StoreErrorCode.CORRUPT, `${message}; ${CORRUPTION_ADVICE}`);
}

/**
 * `quarry verify`: reads every record the node reads and checks it against what it must be.
 * - every block index entry decodes and its header hashes to its key (ChainStore.indexEntries);
 * - every indexed block's bytes decode and hash to the entry's hash;
 * - every main-chain height points at a valid index entry of that height, and every main-chain
 *   block above genesis has an undo record that decodes; every undo record decodes;
 * - every tx-index entry points at a main-chain block that holds that transaction, and every
 *   transaction of the main chain has its entry;
 * - every state-tree node reachable from the tip's state root hashes to its key and decodes.
 * Throws STORE_CORRUPT naming the first bad record. The accounts are checked against the tip's
 * state root when the chain opens (verifyTipState); `--full` also replays (replayMainChain).
 */
export async function checkStoreRecords(
  store: ChainStore,
  onProgress: StoreCheckProgress = () => {},
): Promise<StoreCheckReport> {
  const counts: StoreCheckCounts = {
    indexEntries: 0,
    blocks: 0,
    mainChainBlocks: 0,
    undoRecords: 0,
    txIndexEntries: 0,
    addressIndexEntries: 0,
    treeNodes: 0,
  };
  // The address index, when kept, must hold exactly the entries of the main chain's blocks: both
  // sides are summed as a multiset (sum of SHA-256 of key | value mod 2^256), so neither needs
  // to fit in memory and any missing, extra or altered entry changes the sum.
  const addressIndexKept = await store.hasAddressIndex();
  let expectedAddressSum = 0n;
  let expectedAddressEntries = 0;
  const index = new Map<string, BlockIndexEntry>();
  for await (const entry of store.indexEntries()) {
    index.set(entry.hashHex, entry);
    counts.indexEntries++;
    if (counts.indexEntries % 1000 === 0) onProgress("block index", counts.indexEntries);
  }

  const main = await store.mainChainHashes();
  const mainHeight = new Map<string, number>();
  main.forEach((hash, height) => {
    const hex = toHex(hash);
    const entry = index.get(hex);
    if (!entry) throw corrupt(`main-chain height ${height} names block ${hex}, which has no index entry`);
    if (entry.height !== height)
      throw corrupt(
        `main-chain height ${height} names block ${hex}, whose index entry says height ${entry.height}`,
      );
    if (entry.status !== BlockStatus.Valid)
      throw corrupt(`main-chain block ${hex} at height ${height} is not marked valid in the index`);
    mainHeight.set(hex, height);
  });
  const tip = main[main.length - 1];
  const storedTip = await store.getTip();
  if (!tip || !storedTip || !equalBytes(tip, storedTip))
    throw corrupt("the stored tip is not the main chain's last block");

  // Blocks: each indexed block's bytes hash to its key; the main chain's tx ids are collected.
  const txBlock = new Map<string, string>();
  for (const entry of index.values()) {
    const block = await store.getBlock(entry.hash);
    if (!block) throw corrupt(`block ${entry.hashHex} (height ${entry.height}) is indexed but not stored`);
    if (!equalBytes(block.hash, entry.hash))
      throw corrupt(`block ${entry.hashHex} (height ${entry.height}) is stored as bytes of another block`);
    counts.blocks++;
    if (mainHeight.has(entry.hashHex)) {
      counts.mainChainBlocks++;
      if (addressIndexKept)
        for (const e of addressEntries(block.block, block.txIds, entry.height)) {
          expectedAddressSum += entryDigest(
            addressIndexKey(e.address, e.height, e.position),
            encodeAddressIndexValue(e),
          );
          expectedAddressEntries++;
        }
      if (entry.height > 0) {
        // genesis is written without tx-index entries (writeGenesis)
        for (const id of block.txIds) txBlock.set(toHex(id), entry.hashHex);
        const undo = await store.getUndo(entry.hash);
        const touched = new Set(touchedAddresses(block.block.txs).map((a) => toHex(a)));
        const undone = new Set(undo.accounts.map((a) => toHex(a.address)));
        if (touched.size !== undone.size || [...touched].some((a) => !undone.has(a)))
          throw corrupt(
            `undo record of block ${entry.hashHex} (height ${entry.height}) does not list the accounts the block touches`,
          );
      }
    }
    if (counts.blocks % 500 === 0) onProgress("blocks", counts.blocks, index.size);
  }

  for await (const [key, value] of store.records(Prefix.undo)) {
    try {
      decodeUndo(value);
    } catch (err) {
      throw corrupt(`undo record ${toHex(key.subarray(1))} does not decode (${(err as Error).message})`);
    }
    counts.undoRecords++;
  }
  onProgress("undo records", counts.undoRecords);

  for await (const [key, value] of store.records(Prefix.txIndex)) {
    const txId = toHex(key.subarray(1));
    const expected = txBlock.get(txId);
    if (expected === undefined)
      throw corrupt(`tx index entry ${txId} names a transaction no main-chain block holds`);
    if (toHex(value) !== expected)
      throw corrupt(
        `tx index entry ${txId} points at ${toHex(value)}, not at block ${expected} that holds it`,
      );
    counts.txIndexEntries++;
    if (counts.txIndexEntries % 5000 === 0) onProgress("tx index", counts.txIndexEntries, txBlock.size);
  }
  // Point reads too, as getTransaction does: a damaged block index inside a table file can hide
  // records from a lookup while a scan still finds them.
  const ids = [...txBlock.keys()];
  for (let i = 0; i < ids.length; i += TX_READ_BATCH) {
    const slice = ids.slice(i, i + TX_READ_BATCH);
    const found = await store.getTxBlocks(slice.map((id) => fromHex(id)));
    slice.forEach((id, j) => {
      const value = found[j];
      if (value === undefined || toHex(value) !== txBlock.get(id))
        throw corrupt(
          `tx index entry ${id} reads as ${value === undefined ? "missing" : toHex(value)}, not as block ${txBlock.get(id)}`,
        );
    });
  }
  if (counts.txIndexEntries !== txBlock.size)
    throw corrupt(
      `the tx index has ${counts.txIndexEntries} entries for ${txBlock.size} main-chain transactions`,
    );

  if (addressIndexKept) {
    let storedSum = 0n;
    for await (const [key, value] of store.records(Prefix.addressIndex)) {
      storedSum += entryDigest(key, value);
      counts.addressIndexEntries++;
      if (counts.addressIndexEntries % 10_000 === 0)
        onProgress("address index", counts.addressIndexEntries, expectedAddressEntries);
    }
    if (
      counts.addressIndexEntries !== expectedAddressEntries ||
      storedSum % DIGEST_MODULUS !== expectedAddressSum % DIGEST_MODULUS
    )
      throw corrupt(
        `the address index (${counts.addressIndexEntries} entries) does not match the main chain's ${expectedAddressEntries}; restart the node with --no-address-index once, then without it, to rebuild it`,
      );
  }

  // State tree: every node reachable from the tip's root, each hashing to its key.
  const root = index.get(toHex(tip))!.header.stateRoot;
  const pending: Uint8Array[] = equalBytes(root, EMPTY_TREE_ROOT) ? [] : [root];
  while (pending.length > 0) {
    const hash = pending.pop()!;
    const bytes = await store.getNode(hash);
    if (!bytes) throw corrupt(`state tree node ${toHex(hash)} is missing`);
    if (!equalBytes(sha256(bytes), hash))
      throw corrupt(`state tree node ${toHex(hash)} does not hash to its key`);
    let node: ReturnType<typeof decodeTreeNode>;
    try {
      node = decodeTreeNode(bytes);
    } catch (err) {
      throw corrupt(`state tree node ${toHex(hash)} does not decode (${(err as Error).message})`);
    }
    counts.treeNodes++;
    if (node.kind === "internal") {
      for (const child of [node.left, node.right])
        if (!equalBytes(child, EMPTY_TREE_ROOT)) pending.push(child);
    }
    if (counts.treeNodes % 5000 === 0) onProgress("state tree", counts.treeNodes);
  }
  return { counts, height: main.length - 1, tip: toHex(tip) };
}
