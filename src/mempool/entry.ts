import type { Account } from "../consensus/index.js";
import type { TransferTx } from "../primitives/index.js";

/** A transaction in the pool with what the pool needs to know about it. */
export interface PoolEntry {
  readonly id: string;
  readonly idBytes: Uint8Array;
  readonly tx: TransferTx;
  /** hex account id of the sender */
  readonly sender: string;
  readonly size: number;
  /** amount + fee: what it takes from the sender's balance */
  readonly cost: bigint;
  readonly addedAtMs: number;
  /** arrival order, to break fee-rate ties first come first served */
  readonly seq: number;
}

/** One sender's transactions by nonce, with the tip account they were checked against. */
export interface SenderTxs {
  readonly address: Uint8Array;
  readonly txs: Map<bigint, PoolEntry>;
  /** sum of `cost` over `txs`; the pool keeps it ≤ account.balance */
  totalCost: bigint;
  account: Account;
  /** the pool's state version `account` was read at */
  accountVersion: number;
  /** changes on every attach/detach: eviction-heap nodes with an older stamp are stale */
  stamp: number;
}

/**
 * Compares fee rates (fee per byte) exactly, without floating point: negative when a pays less
 * per byte than b. Every transfer is 145 bytes today, but rates keep eviction and block templates
 * right if another transaction size appears.
 */
export function compareFeeRate(a: { fee: bigint; size: number }, b: { fee: bigint; size: number }): number {
  const left = a.fee * BigInt(b.size);
  const right = b.fee * BigInt(a.size);
  return left < right ? -1 : left > right ? 1 : 0;
}

export function entryRate(e: PoolEntry): { fee: bigint; size: number } {
  return { fee: e.tx.fee, size: e.size };
}

/** The sender's nonces in ascending order. */
export function sortedNonces(s: SenderTxs): bigint[] {
  return [...s.txs.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The first nonce from the account nonce that the sender has no transaction for. */
export function nextExecutableNonce(s: SenderTxs): bigint {
  let n = s.account.nonce;
  while (s.txs.has(n)) n++;
  return n;
}
