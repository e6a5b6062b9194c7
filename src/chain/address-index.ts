import type { Block } from "../primitives/index.js";
import { equalBytes, senderOf, TxType } from "../primitives/index.js";
import {
  AddressDirection,
  type AddressIndexEntry,
  type ChainStore,
  MAX_ADDRESS_INDEX_POSITION,
  StoreBatch,
  StoreError,
  StoreErrorCode,
} from "../store/index.js";
import type { Logger } from "../util/index.js";
import type { BlockIndex } from "./block-index.js";

/**
 * The address index (records in src/store/address-index.ts): for every main-chain transaction,
 * one entry per address whose balance it moved — the coinbase recipient; a transfer's sender and
 * recipient (one `self` entry when they are the same). Connect and disconnect (connect.ts) write
 * and delete a block's entries in their own batch, so the index follows reorgs exactly.
 */

/** Whether connect/disconnect maintain the index: shared by reference with every chain context. */
export interface AddressIndexState {
  enabled: boolean;
}

/** What `Chain.open` does about the index: build it if missing, delete it, or follow the store. */
export type AddressIndexMode = "on" | "off" | "follow";

/** Blocks per batch while building the index of an existing chain. */
const BUILD_BATCH_BLOCKS = 200;
/** At most one progress line per this interval while building. */
const BUILD_LOG_INTERVAL_MS = 5_000;

/** The index entries of a block connected at `height`, in key order per address. */
export function addressEntries(
  block: Block,
  txIds: readonly Uint8Array[],
  height: number,
): AddressIndexEntry[] {
  const out: AddressIndexEntry[] = [];
  const txs = block.txs;
  if (txs.length - 1 > MAX_ADDRESS_INDEX_POSITION)
    throw new RangeError("block has too many transactions to index");
  for (let position = 0; position < txs.length; position++) {
    const tx = txs[position]!;
    const txId = txIds[position]!;
    if (tx.type === TxType.Coinbase) {
      out.push({
        address: tx.recipient,
        height,
        position,
        txId,
        direction: AddressDirection.Coinbase,
        amount: tx.amount,
        fee: 0n,
        counterparty: undefined,
      });
      continue;
    }
    const sender = senderOf(tx);
    const base = { height, position, txId, amount: tx.amount, fee: tx.fee };
    if (equalBytes(sender, tx.recipient)) {
      out.push({ ...base, address: sender, direction: AddressDirection.Self, counterparty: sender });
      continue;
    }
    out.push({ ...base, address: sender, direction: AddressDirection.Out, counterparty: tx.recipient });
    out.push({ ...base, address: tx.recipient, direction: AddressDirection.In, counterparty: sender });
  }
  return out;
}

/**
 * Brings the stored index in line with `mode` before the chain serves anything: "off" deletes
 * it; "on" builds it from the stored main-chain blocks when its marker is missing (a datadir from
 * before the index, or one where it was turned off), logging progress; "follow" (offline
 * commands) keeps whatever the store has. Returns whether connect/disconnect maintain it.
 */
export async function prepareAddressIndex(
  store: ChainStore,
  index: BlockIndex,
  mode: AddressIndexMode,
  log: Logger,
): Promise<boolean> {
  const present = await store.hasAddressIndex();
  if (mode === "follow") return present;
  if (mode === "off") {
    if (present) {
      await store.clearAddressIndex();
      log.info({ addressIndex: false }, "address index deleted (--no-address-index)");
    }
    return false;
  }
  if (present) return true;
  // Leftovers of an interrupted build or delete go first: the build writes every entry anew.
  await store.clearAddressIndex();
  const height = index.height;
  log.info({ height }, "building the address index from the stored blocks");
  const started = performance.now();
  let lastLog = started;
  let entries = 0;
  for (let from = 0; from <= height; from += BUILD_BATCH_BLOCKS) {
    const batch = new StoreBatch();
    for (const entry of index.mainRange(from, BUILD_BATCH_BLOCKS)) {
      const block = await store.getBlock(entry.hash);
      if (!block)
        throw new StoreError(StoreErrorCode.CORRUPT, `main-chain block ${entry.hashHex} is not stored`);
      const found = addressEntries(block.block, block.txIds, entry.height);
      entries += found.length;
      batch.putAddressEntries(found);
    }
    if (from + BUILD_BATCH_BLOCKS > height) batch.putAddressIndexMarker();
    await store.write(batch);
    const now = performance.now();
    if (now - lastLog >= BUILD_LOG_INTERVAL_MS) {
      lastLog = now;
      const done = Math.min(height, from + BUILD_BATCH_BLOCKS - 1);
      log.info(
        {
          height: done,
          targetHeight: height,
          percent: Number(((100 * done) / Math.max(1, height)).toFixed(1)),
        },
        "building the address index",
      );
    }
  }
  log.info(
    { height, entries, seconds: Number(((performance.now() - started) / 1000).toFixed(1)) },
    "address index built",
  );
  return true;
}
