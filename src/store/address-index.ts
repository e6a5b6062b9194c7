import { ADDRESS_HASH_LENGTH, ByteReader, ByteWriter, outOfRange } from "../primitives/index.js";
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
  if (position > MAX_ADDRESS_INDEX_POSITION) throw new RangeError("tx position must fit a u16");
  const key = new Uint8Array(ADDRESS_INDEX_KEY_SIZE);
  key[0] = Prefix.addressIndex;
  key.set(address, 1);
  const view = new DataView(key.buffer);
  view.setUint32(1 + ADDRESS_HASH_LENGTH, height);
  view.setUint16(1 + ADDRESS_HASH_LENGTH + 4, position);
  return key;
}

export function encodeAddressIndexValue(entry: AddressIndexEntry): Uint8Array {
  const coinbase = entry.direction === AddressDirection.Coinbase;
  const w = new ByteWriter(VALUE_BASE_SIZE + (coinbase ? 0 : ADDRESS_HASH_LENGTH));
  w.raw(entry.txId).u8(entry.direction).u64(entry.amount).u64(entry.fee);
  if (!coinbase) {
    if (!entry.counterparty) throw new RangeError("a transfer's index entry needs its counterparty");
    w.raw(entry.counterparty);
  }
  return w.finish();
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
