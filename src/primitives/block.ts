import { toHex } from "./bytes.js";
import { ByteReader, ByteWriter, tooLarge } from "./codec.js";
import { sha256d } from "./hash.js";
import { type BlockHeader, encodeHeader, HEADER_SIZE, headerHash, readHeader } from "./header.js";
import {
  encodeTransaction,
  readTransaction,
  type Transaction,
  transactionId,
  transactionSize,
} from "./transaction.js";

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
  return readBlock(bytes, undefined);
}

/** The one block decoder; with `txIds` it also hashes each transaction's bytes as it reads them. */
function readBlock(bytes: Uint8Array, txIds: Uint8Array[] | undefined): Block {
  if (bytes.length > MAX_BLOCK_BYTES_DECODE)
    tooLarge("block", `${bytes.length} bytes exceeds ${MAX_BLOCK_BYTES_DECODE}`);
  const r = new ByteReader(bytes, "block");
  const header = readHeader(r);
  const count = r.count(MAX_BLOCK_TXS_DECODE, "transaction count");
  const txs: Transaction[] = [];
  for (let i = 0; i < count; i++) {
    const start = r.position;
    txs.push(readTransaction(r));
    txIds?.push(sha256d(bytes.subarray(start, r.position)));
  }
  r.end();
  return { header, txs };
}

/**
 * A block with what decoding it computed: its exact encoding, its id and its transaction ids.
 * Made once where a block enters the node (gossip, sync batch, package, miner) and carried to the
 * store and back out to peers, so nobody hashes the header, hashes the transactions or encodes the
 * block a second time.
 */
export interface DecodedBlock {
  readonly block: Block;
  /** the canonical encoding (what is stored and served) */
  readonly bytes: Uint8Array;
  readonly hash: Uint8Array;
  readonly hashHex: string;
  /** transaction ids in block order */
  readonly txIds: readonly Uint8Array[];
}

/**
 * Decodes a block and hashes the header and each transaction from the input bytes themselves
 * (an encoding that decodes is canonical, so these are the ids of the decoded values).
 */
export function decodeBlockEnvelope(bytes: Uint8Array): DecodedBlock {
  const txIds: Uint8Array[] = [];
  const block = readBlock(bytes, txIds);
  const hash = sha256d(bytes.subarray(0, HEADER_SIZE));
  return { block, bytes, hash, hashHex: toHex(hash), txIds };
}

/** The envelope of a block built here (a mined block, a test block): encoded and hashed once. */
export function blockEnvelope(block: Block): DecodedBlock {
  const bytes = encodeBlock(block);
  const hash = sha256d(bytes.subarray(0, HEADER_SIZE));
  return { block, bytes, hash, hashHex: toHex(hash), txIds: block.txs.map(transactionId) };
}

export function blockHash(block: Block): Uint8Array {
  return headerHash(block.header);
}
