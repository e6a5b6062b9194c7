import { ByteReader, ByteWriter, tooLarge } from "./codec.js";
import { type BlockHeader, encodeHeader, HEADER_SIZE, headerHash, readHeader } from "./header.js";
import { encodeTransaction, readTransaction, type Transaction, transactionSize } from "./transaction.js";

/**
 * Block: header (116 bytes) | txCount u32 | transactions, each self-delimiting by its type byte.
 * The decoder refuses counts above MAX_BLOCK_TXS_DECODE before allocating, and trailing bytes.
 * Consensus limits (block size, tx count) are checked separately, per network.
 */
export interface Block {
  header: BlockHeader;
  txs: Transaction[];
}

/** Hard ceiling for decoding, above every network's consensus limit. */
export const MAX_BLOCK_BYTES_DECODE = 4 * 1024 * 1024;
export const MAX_BLOCK_TXS_DECODE = 50_000;

export function blockSize(block: Block): number {
  let size = HEADER_SIZE + 4;
  for (const tx of block.txs) size += transactionSize(tx);
  return size;
}

export function encodeBlock(block: Block): Uint8Array {
  const w = new ByteWriter(blockSize(block));
  w.raw(encodeHeader(block.header)).u32(block.txs.length);
  for (const tx of block.txs) w.raw(encodeTransaction(tx));
  return w.finish();
}

export function decodeBlock(bytes: Uint8Array): Block {
  if (bytes.length > MAX_BLOCK_BYTES_DECODE)
    tooLarge("block", `${bytes.length} bytes exceeds ${MAX_BLOCK_BYTES_DECODE}`);
  const r = new ByteReader(bytes, "block");
  const header = readHeader(r);
  const count = r.count(MAX_BLOCK_TXS_DECODE, "transaction count");
  const txs: Transaction[] = [];
  for (let i = 0; i < count; i++) txs.push(readTransaction(r));
  r.end();
  return { header, txs };
}

export function blockHash(block: Block): Uint8Array {
  return headerHash(block.header);
}
