import { ByteReader, ByteWriter } from "../primitives/index.js";
import { sha256Short } from "./tree-hash.js";

/**
 * Account state: balance and nonce (the number of transfers the account has sent). An account
 * with balance 0 and nonce 0 is empty and is not stored (like EIP-161): such a state is the
 * same as no account at all, so state roots do not depend on dust history.
 *
 * Encoding (16 bytes): balance u64 | nonce u64. Tree key = SHA-256(address hash); tree value
 * hash = SHA-256(encoding).
 */
export interface Account {
  balance: bigint;
  nonce: bigint;
}

export const EMPTY_ACCOUNT: Readonly<Account> = Object.freeze({ balance: 0n, nonce: 0n });
export const ACCOUNT_SIZE = 16;

export function isEmptyAccount(a: Account): boolean {
  return a.balance === 0n && a.nonce === 0n;
}

export function encodeAccount(a: Account): Uint8Array {
  return new ByteWriter(ACCOUNT_SIZE).u64(a.balance).u64(a.nonce).finish();
}

export function decodeAccount(bytes: Uint8Array): Account {
  const r = new ByteReader(bytes, "account");
  const account = { balance: r.u64(), nonce: r.u64() };
  r.end();
  return account;
}

/** The state tree key of an account id. */
export function accountTreeKey(address: Uint8Array): Uint8Array {
  // Addresses are 20 bytes (see primitives/keys.ts), well within one SHA-256 block.
  return sha256Short(address);
}

/** The state tree value of an account; null (delete) for an empty account. */
export function accountValueHash(a: Account): Uint8Array | null {
  return isEmptyAccount(a) ? null : sha256Short(encodeAccount(a));
}
