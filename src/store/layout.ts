/**
 * The LevelDB key layout: every key the chain store writes, in one place.
 * Keys are binary: a one-byte prefix, then fixed-width fields; heights are u32 big-endian so
 * keys sort by height.
 *
 *   'M' + name (utf8)        -> meta value: "schema" -> u32 schema version, "network" -> utf8 name,
 *                               "probe" -> u32 seconds of the last write probe (ChainStore.probeWrite)
 *   'i' + block hash (32)    -> block index entry (encodeIndexEntry in records.ts)
 *   'b' + block hash (32)    -> block bytes (encodeBlock)
 *   'u' + block hash (32)    -> undo record: the touched accounts' values before the block
 *                               (encodeUndo in records.ts)
 *   'h' + height (u32 BE)    -> hash of the main-chain block at that height
 *   'a' + account id (20)    -> account (balance u64 | nonce u64) at the tip; absent = empty
 *   'n' + node hash (32)     -> state tree node (content-addressed, never deleted)
 *   'x' + tx id (32)         -> hash of the main-chain block that includes the transaction
 *   't'                      -> hash of the main-chain tip
 *   'A' + address (20) + height (u32 BE) + position (u16 BE)
 *                            -> address index entry: tx id, direction, amount, fee, counterparty
 *                               (address-index.ts); only while 'M' "addressIndex" is present
 *
 * What belongs together is one batch: a new block's bytes and index entry are written together
 * (inside its connect batch when it connects at once); connecting a block writes its index status,
 * its undo record, the account changes, the new tree nodes, 'x' for its transactions, 'h' for its
 * height and 't'; disconnecting writes the restored accounts, deletes its 'x' and 'h' keys and
 * moves 't' to the parent. While the address index is on, connect also writes the block's 'A'
 * entries and disconnect deletes them, in the same batches. So a kill -9 at any moment leaves either the state before or the state
 * after a whole block.
 */

export const SCHEMA_VERSION = 1;

export const Prefix = {
  meta: 0x4d, // 'M'
  index: 0x69, // 'i'
  block: 0x62, // 'b'
  undo: 0x75, // 'u'
  height: 0x68, // 'h'
  account: 0x61, // 'a'
  treeNode: 0x6e, // 'n'
  tip: 0x74, // 't'
  txIndex: 0x78, // 'x'
  addressIndex: 0x41, // 'A'
} as const;

function prefixed(prefix: number, body: Uint8Array): Uint8Array {
  const key = new Uint8Array(1 + body.length);
  key[0] = prefix;
  key.set(body, 1);
  return key;
}

export const keys = {
  meta: (name: string) => prefixed(Prefix.meta, new TextEncoder().encode(name)),
  index: (hash: Uint8Array) => prefixed(Prefix.index, hash),
  block: (hash: Uint8Array) => prefixed(Prefix.block, hash),
  undo: (hash: Uint8Array) => prefixed(Prefix.undo, hash),
  height: (height: number) => {
    const key = new Uint8Array(5);
    key[0] = Prefix.height;
    new DataView(key.buffer).setUint32(1, height);
    return key;
  },
  account: (address: Uint8Array) => prefixed(Prefix.account, address),
  treeNode: (hash: Uint8Array) => prefixed(Prefix.treeNode, hash),
  tip: () => Uint8Array.of(Prefix.tip),
  txIndex: (txId: Uint8Array) => prefixed(Prefix.txIndex, txId),
};

/** Bounds for iterating every key with one prefix. */
export function prefixRange(prefix: number): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: Uint8Array.of(prefix), lt: Uint8Array.of(prefix + 1) };
}
