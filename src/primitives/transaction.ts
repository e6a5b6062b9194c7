import { encodeAddress } from "./address.js";
import { assertBytes, isU32, isU64, toHex } from "./bytes.js";
import { ByteReader, ByteWriter, CodecError, CodecErrorCode } from "./codec.js";
import { sha256d } from "./hash.js";
import {
  ADDRESS_HASH_LENGTH,
  addressHashOf,
  PUBLIC_KEY_LENGTH,
  publicKeyFromSeed,
  SIGNATURE_LENGTH,
  signMessage,
} from "./keys.js";

/**
 * Transactions. Two kinds, told apart by the first byte:
 *
 *   transfer (0x00), 145 bytes:
 *     type u8 | networkId u32 | senderPublicKey 32 | recipient 20 | amount u64 | fee u64 | nonce u64 | signature 64
 *   coinbase (0x01), 37 bytes:
 *     type u8 | networkId u32 | height u32 | recipient 20 | amount u64
 *
 * Integers are big-endian and fixed-width, so every value has exactly one encoding.
 * The signature covers TX_SIGNING_DOMAIN || the transfer's first 81 bytes (all but the signature);
 * the network id inside it is the replay protection across networks.
 * Transaction id = SHA-256d(encoding). The coinbase carries its block height so that two coinbases
 * paying the same amount to the same address still have different ids.
 */

export enum TxType {
  Transfer = 0,
  Coinbase = 1,
}

export interface TransferTx {
  type: TxType.Transfer;
  networkId: number;
  senderPublicKey: Uint8Array;
  /** 20-byte account id of the recipient */
  recipient: Uint8Array;
  amount: bigint;
  fee: bigint;
  nonce: bigint;
  signature: Uint8Array;
}

export interface CoinbaseTx {
  type: TxType.Coinbase;
  networkId: number;
  height: number;
  recipient: Uint8Array;
  amount: bigint;
}

export type Transaction = TransferTx | CoinbaseTx;
export type UnsignedTransfer = Omit<TransferTx, "signature">;

export const TRANSFER_SIZE = 1 + 4 + PUBLIC_KEY_LENGTH + ADDRESS_HASH_LENGTH + 8 + 8 + 8 + SIGNATURE_LENGTH;
export const COINBASE_SIZE = 1 + 4 + 4 + ADDRESS_HASH_LENGTH + 8;
const TRANSFER_UNSIGNED_SIZE = TRANSFER_SIZE - SIGNATURE_LENGTH;
export const TX_SIGNING_DOMAIN = new TextEncoder().encode("QUARRY-TX-V1\0");

export function transactionSize(tx: Transaction): number {
  return tx.type === TxType.Transfer ? TRANSFER_SIZE : COINBASE_SIZE;
}

function assertTransferFields(tx: UnsignedTransfer): void {
  if (!isU32(tx.networkId)) throw new RangeError("networkId must be a u32");
  assertBytes(tx.senderPublicKey, PUBLIC_KEY_LENGTH, "senderPublicKey");
  assertBytes(tx.recipient, ADDRESS_HASH_LENGTH, "recipient");
  for (const field of ["amount", "fee", "nonce"] as const) {
    if (!isU64(tx[field])) throw new RangeError(`${field} must be a u64 bigint`);
  }
}

function writeUnsignedTransfer(w: ByteWriter, tx: UnsignedTransfer): void {
  w.u8(TxType.Transfer).u32(tx.networkId).raw(tx.senderPublicKey).raw(tx.recipient);
  w.u64(tx.amount).u64(tx.fee).u64(tx.nonce);
}

/** The bytes a transfer's signature covers. */
export function transferSigningMessage(tx: UnsignedTransfer): Uint8Array {
  assertTransferFields(tx);
  const w = new ByteWriter(TX_SIGNING_DOMAIN.length + TRANSFER_UNSIGNED_SIZE).raw(TX_SIGNING_DOMAIN);
  writeUnsignedTransfer(w, tx);
  return w.finish();
}

export function encodeTransaction(tx: Transaction): Uint8Array {
  if (tx.type === TxType.Transfer) {
    assertTransferFields(tx);
    assertBytes(tx.signature, SIGNATURE_LENGTH, "signature");
    const w = new ByteWriter(TRANSFER_SIZE);
    writeUnsignedTransfer(w, tx);
    return w.raw(tx.signature).finish();
  }
  if (tx.type === TxType.Coinbase) {
    if (!isU32(tx.networkId) || !isU32(tx.height)) throw new RangeError("networkId and height must be u32");
    assertBytes(tx.recipient, ADDRESS_HASH_LENGTH, "recipient");
    if (!isU64(tx.amount)) throw new RangeError("amount must be a u64 bigint");
    return new ByteWriter(COINBASE_SIZE)
      .u8(TxType.Coinbase)
      .u32(tx.networkId)
      .u32(tx.height)
      .raw(tx.recipient)
      .u64(tx.amount)
      .finish();
  }
  throw new TypeError("unknown transaction type");
}

/** Reads one transaction from a reader positioned at its type byte (used inside blocks). */
export function readTransaction(r: ByteReader): Transaction {
  const type = r.u8();
  if (type === TxType.Transfer) {
    return {
      type: TxType.Transfer,
      networkId: r.u32(),
      senderPublicKey: r.bytesN(PUBLIC_KEY_LENGTH),
      recipient: r.bytesN(ADDRESS_HASH_LENGTH),
      amount: r.u64(),
      fee: r.u64(),
      nonce: r.u64(),
      signature: r.bytesN(SIGNATURE_LENGTH),
    };
  }
  if (type === TxType.Coinbase) {
    return {
      type: TxType.Coinbase,
      networkId: r.u32(),
      height: r.u32(),
      recipient: r.bytesN(ADDRESS_HASH_LENGTH),
      amount: r.u64(),
    };
  }
  throw new CodecError(
    { code: CodecErrorCode.UNKNOWN_TYPE, what: "transaction" },
    `transaction: unknown type ${type}`,
  );
}

export function decodeTransaction(bytes: Uint8Array): Transaction {
  const r = new ByteReader(bytes, "transaction");
  const tx = readTransaction(r);
  r.end();
  return tx;
}

export function transactionId(tx: Transaction): Uint8Array {
  return sha256d(encodeTransaction(tx));
}

/** Signs a transfer with a 32-byte Ed25519 seed; the sender key must match the seed. */
export function signTransfer(unsigned: UnsignedTransfer, seed: Uint8Array): TransferTx {
  const publicKey = publicKeyFromSeed(seed);
  if (Buffer.compare(publicKey, unsigned.senderPublicKey) !== 0) {
    throw new RangeError("seed does not belong to senderPublicKey");
  }
  const signature = signMessage(seed, transferSigningMessage(unsigned));
  return { ...unsigned, signature };
}

/** The account id that pays for a transfer. */
export function senderOf(tx: TransferTx): Uint8Array {
  return addressHashOf(tx.senderPublicKey);
}

/** JSON view for APIs and the CLI: integers as decimal strings, bytes as hex, accounts as addresses. */
export function transactionToJson(tx: Transaction, addressPrefix: string): Record<string, string | number> {
  const id = toHex(transactionId(tx));
  if (tx.type === TxType.Coinbase) {
    return {
      id,
      type: "coinbase",
      networkId: tx.networkId,
      height: tx.height,
      recipient: encodeAddress(addressPrefix, tx.recipient),
      amount: tx.amount.toString(),
    };
  }
  return {
    id,
    type: "transfer",
    networkId: tx.networkId,
    sender: encodeAddress(addressPrefix, senderOf(tx)),
    senderPublicKey: toHex(tx.senderPublicKey),
    recipient: encodeAddress(addressPrefix, tx.recipient),
    amount: tx.amount.toString(),
    fee: tx.fee.toString(),
    nonce: tx.nonce.toString(),
    signature: toHex(tx.signature),
  };
}
