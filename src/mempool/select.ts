import type { TransferTx } from "../primitives/index.js";
import { compareFeeRate, entryRate, type PoolEntry, type SenderTxs } from "./entry.js";
import { Heap } from "./heap.js";

/** Higher fee rate first; equal rates first come first served. */
function better(a: PoolEntry, b: PoolEntry): boolean {
  const c = compareFeeRate(entryRate(a), entryRate(b));
  return c !== 0 ? c > 0 : a.seq < b.seq;
}

/**
 * A block template's transfers: greedy by fee rate over each sender's next executable
 * transaction (geth's TransactionsByPriceAndNonce), so a sender's nonces stay in order and only
 * transactions contiguous from the account nonce are taken. A transaction that does not fit the
 * bytes left ends its sender's run (its higher nonces cannot go without it).
 */
export function selectTransfers(
  senders: Iterable<SenderTxs>,
  maxTxs: number,
  maxBytes: number,
): TransferTx[] {
  const heads = new Heap<PoolEntry>(better);
  const bySender = new Map<string, SenderTxs>();
  for (const s of senders) {
    const head = s.txs.get(s.account.nonce);
    if (!head) continue;
    heads.push(head);
    bySender.set(head.sender, s);
  }
  const out: TransferTx[] = [];
  let bytes = 0;
  while (out.length < maxTxs && heads.size > 0) {
    const e = heads.pop()!;
    if (bytes + e.size > maxBytes) continue;
    out.push(e.tx);
    bytes += e.size;
    const next = bySender.get(e.sender)!.txs.get(e.tx.nonce + 1n);
    if (next) heads.push(next);
  }
  return out;
}
