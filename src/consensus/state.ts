import type { Block } from "../primitives/index.js";
import { senderOf, type Transaction, TxType, toHex, U64_MAX } from "../primitives/index.js";
import { type Account, accountTreeKey, accountValueHash, EMPTY_ACCOUNT } from "./account.js";
import { BlockError, BlockErrorCode, TxError } from "./errors.js";
import { blockSubsidy, type NetworkParams } from "./params.js";
import { type TreeNodeReader, type TreeUpdateResult, updateTree } from "./state-tree.js";
import { applyTransfer } from "./tx-rules.js";

/**
 * The state transition: a block's transactions applied in order to the accounts they touch.
 * Pure and synchronous over a prefetched account view; the state root is then updated from the
 * diff through the injected tree reader, costing O(touched accounts · tree depth).
 */

export interface AccountChange {
  address: Uint8Array;
  before: Account;
  after: Account;
}

export interface StateDiff {
  /** keyed by hex address; `before` is the value prior to the block (the undo record) */
  changes: Map<string, AccountChange>;
  fees: bigint;
}

/** Every account a block reads or writes, each once; the caller prefetches these. */
export function touchedAddresses(txs: readonly Transaction[]): Uint8Array[] {
  const seen = new Map<string, Uint8Array>();
  const add = (address: Uint8Array) => seen.set(toHex(address), address);
  for (const tx of txs) {
    if (tx.type === TxType.Transfer) add(senderOf(tx));
    add(tx.recipient);
  }
  return [...seen.values()];
}

/**
 * Applies a block's transactions to `pre` (account values before the block, by hex address;
 * missing = empty). Throws BlockError BAD_TX (with the tx index and TxErrorCode) or
 * BAD_COINBASE_AMOUNT. Assumes the body passed checkBlockBody (coinbase first, signatures ok).
 */
export function applyBlockState(
  block: Block,
  height: number,
  params: NetworkParams,
  pre: ReadonlyMap<string, Account>,
): StateDiff {
  const changes = new Map<string, AccountChange>();
  const get = (address: Uint8Array): Account => {
    const id = toHex(address);
    return changes.get(id)?.after ?? pre.get(id) ?? EMPTY_ACCOUNT;
  };
  const set = (address: Uint8Array, after: Account) => {
    const id = toHex(address);
    const before = changes.get(id)?.before ?? pre.get(id) ?? EMPTY_ACCOUNT;
    changes.set(id, { address, before, after });
  };

  let fees = 0n;
  for (let i = 1; i < block.txs.length; i++) {
    const tx = block.txs[i]!;
    if (tx.type !== TxType.Transfer) {
      throw new BlockError({ code: BlockErrorCode.MULTIPLE_COINBASE }, `tx ${i} is a second coinbase`);
    }
    const sender = senderOf(tx);
    try {
      const result = applyTransfer(tx, get(sender), (senderAfter) => {
        set(sender, senderAfter);
        return get(tx.recipient);
      });
      set(tx.recipient, result.recipient);
    } catch (err) {
      if (err instanceof TxError) {
        throw new BlockError(
          { code: BlockErrorCode.BAD_TX, txIndex: i, txCode: err.type.code },
          `tx ${i}: ${err.message}`,
        );
      }
      throw err;
    }
    fees += tx.fee;
  }

  const coinbase = block.txs[0];
  if (coinbase?.type !== TxType.Coinbase) {
    throw new BlockError(
      { code: BlockErrorCode.FIRST_TX_NOT_COINBASE },
      "first transaction is not a coinbase",
    );
  }
  const maxReward = blockSubsidy(height, params) + fees;
  if (coinbase.amount > maxReward) {
    throw new BlockError(
      { code: BlockErrorCode.BAD_COINBASE_AMOUNT },
      `coinbase pays ${coinbase.amount}, at most subsidy + fees = ${maxReward}`,
    );
  }
  const miner = get(coinbase.recipient);
  if (miner.balance + coinbase.amount > U64_MAX) {
    throw new BlockError(
      { code: BlockErrorCode.BAD_COINBASE_AMOUNT },
      "coinbase overflows the recipient balance",
    );
  }
  set(coinbase.recipient, { balance: miner.balance + coinbase.amount, nonce: miner.nonce });
  return { changes, fees };
}

/** The state root after applying a diff to the tree with root `prevRoot`. */
export async function stateRootAfter(
  prevRoot: Uint8Array,
  changes: Iterable<{ address: Uint8Array; after: Account }>,
  reader: TreeNodeReader,
): Promise<TreeUpdateResult> {
  const updates = [...changes].map((c) => ({
    key: accountTreeKey(c.address),
    valueHash: accountValueHash(c.after),
  }));
  return updateTree(prevRoot, updates, reader);
}
