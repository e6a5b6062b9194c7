import { ADDRESS_HASH_LENGTH, ByteReader, outOfRange } from "../primitives/index.js";
import { Prefix } from "./layout.js";

/**
 * The address index's records (layout.ts, prefix 'A'): one per (address, main-chain transaction
 * that moved its balance). The key sorts an address's history by height, then by the
 * transaction's position in its block, so a page of history is one LevelDB range read and a
 * position is a cursor:
 *
 *   'A' + address (20) + height (u32 BE) + position (u16 BE)
 *     -> tx id (32) | direction u8 | amount u64 | fee u64 | counterparty (20, absent for a coinbase)
 *
 * `'M' "addressIndex"` marks the index complete for the main chain: connect and disconnect keep
 * it so in their own batch while the marker is there; without it no entry is written.
 */

/** How the transaction moved the address's balance. */
export enum AddressDirection {
  /** a transfer to this address */
  In = 0,
  /** a transfer from this address (it paid amount + fee) */
  Out = 1,
  /** a transfer from this address to itself (it paid the fee) */
  Self = 2,
  /** the block reward (subsidy + fees) paid to this address */
  Coinbase = 3,
}

export interface AddressIndexEntry {
  address: Uint8Array;
  height: number;
  /** the transaction's index inside its block (0 = the coinbase) */
  position: number;
  txId: Uint8Array;
  direction: AddressDirection;
  amount: bigint;
  fee: bigint;
  /** the other side of a transfer; undefined for a coinbase */
  counterparty: Uint8Array | undefined;
}

/** A place in one address's history: entries are ordered by (height, position). */
export interface AddressCursor {
  height: number;
  position: number;
}

/** Most transactions a block can hold is MAX_BLOCK_TXS_DECODE (50,000): u16 positions suffice. */
export const MAX_ADDRESS_INDEX_POSITION = 0xffff;
export const ADDRESS_INDEX_KEY_SIZE = 1 + ADDRESS_HASH_LENGTH + 4 + 2;
const VALUE_BASE_SIZE = 32 + 1 + 8 + 8;

export const ADDRESS_INDEX_MARKER = "addressIndex";

export function addressIndexKey(address: Uint8Array, height: number, position: number): Uint8Array {
  if (address.byteLength !== ADDRESS_HASH_LENGTH) throw new RangeError("address must be 20 bytes");
  if (!(height >= 0 && height <= 0xffff_ffff)) throw new RangeError("height must be a u32");
  if (!(position >= 0 && position <= MAX_ADDRESS_INDEX_POSITION))
    throw new RangeError("tx position must fit a u16");
  // Bytes written by hand: a DataView per key cost more than the rest of the key (connect's hot path).
  const key = new Uint8Array(ADDRESS_INDEX_KEY_SIZE);
  key[0] = Prefix.addressIndex;
  key.set(address, 1);
  const at = 1 + ADDRESS_HASH_LENGTH;
  key[at] = height >>> 24;
  key[at + 1] = (height >>> 16) & 0xff;
  key[at + 2] = (height >>> 8) & 0xff;
  key[at + 3] = height & 0xff;
  key[at + 4] = position >>> 8;
  key[at + 5] = position & 0xff;
  return key;
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;

export function encodeAddressIndexValue(entry: AddressIndexEntry): Uint8Array {
  const coinbase = entry.direction === AddressDirection.Coinbase;
  if (entry.txId.byteLength !== 32) throw new RangeError("tx id must be 32 bytes");
  if (entry.amount < 0n || entry.amount > U64_MAX || entry.fee < 0n || entry.fee > U64_MAX)
    throw new RangeError("amount and fee must be u64");
  const out = new Uint8Array(VALUE_BASE_SIZE + (coinbase ? 0 : ADDRESS_HASH_LENGTH));
  out.set(entry.txId, 0);
  out[32] = entry.direction;
  const view = new DataView(out.buffer);
  view.setBigUint64(33, entry.amount);
  view.setBigUint64(41, entry.fee);
  if (!coinbase) {
    if (entry.counterparty?.byteLength !== ADDRESS_HASH_LENGTH)
      throw new RangeError("a transfer's index entry needs its 20-byte counterparty");
    out.set(entry.counterparty, VALUE_BASE_SIZE);
  }
  return out;
}

/** One stored record back into an entry; throws CodecError on malformed bytes. */
export function decodeAddressIndexRecord(key: Uint8Array, value: Uint8Array): AddressIndexEntry {
  if (key.byteLength !== ADDRESS_INDEX_KEY_SIZE || key[0] !== Prefix.addressIndex)
    outOfRange("address index key", `expected ${ADDRESS_INDEX_KEY_SIZE} bytes under 'A'`);
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  const r = new ByteReader(value, "address index entry");
  const txId = r.bytesN(32);
  const direction = r.u8();
  if (direction > AddressDirection.Coinbase) outOfRange("address index entry", `direction ${direction}`);
  const amount = r.u64();
  const fee = r.u64();
  const counterparty = direction === AddressDirection.Coinbase ? undefined : r.bytesN(ADDRESS_HASH_LENGTH);
  r.end();
  return {
    address: key.slice(1, 1 + ADDRESS_HASH_LENGTH),
    height: view.getUint32(1 + ADDRESS_HASH_LENGTH),
    position: view.getUint16(1 + ADDRESS_HASH_LENGTH + 4),
    txId,
    direction,
    amount,
    fee,
    counterparty,
  };
}

/**
 * LevelDB bounds for one page of an address's history after `cursor` (exclusive), oldest first,
 * or before it, newest first, with `reverse`.
 */
export function addressIndexRange(
  address: Uint8Array,
  cursor: AddressCursor | undefined,
  reverse: boolean,
): { gt?: Uint8Array; gte?: Uint8Array; lt?: Uint8Array; lte?: Uint8Array } {
  const first = addressIndexKey(address, 0, 0);
  const last = addressIndexKey(address, 0xffff_ffff, MAX_ADDRESS_INDEX_POSITION);
  if (!cursor) return { gte: first, lte: last };
  const at = addressIndexKey(address, cursor.height, cursor.position);
  return reverse ? { gte: first, lt: at } : { gt: at, lte: last };
}
