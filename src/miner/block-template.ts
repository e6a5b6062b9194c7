import type { Chain } from "../chain/index.js";
import {
  applyBlockState,
  applyTransfer,
  BLOCK_VERSION,
  blockSubsidy,
  EMPTY_ACCOUNT,
  merkleRoot,
  type NetworkParams,
  stateRootAfter,
  TxError,
  touchedAddresses,
} from "../consensus/index.js";
import type { Block } from "../primitives/index.js";
import {
  type CoinbaseTx,
  senderOf,
  type TransferTx,
  TxType,
  toHex,
  transactionId,
} from "../primitives/index.js";
import { nowSeconds } from "../util/index.js";

/** The chain reads a template needs: the tip, its child's rules and the tip state. */
export type TemplateChain = Pick<
  Chain,
  "tip" | "networkParams" | "clock" | "childBits" | "medianTimePast" | "getAccounts" | "stateNodes"
>;

function coinbaseTx(
  params: NetworkParams,
  height: number,
  recipient: Uint8Array,
  amount: bigint,
): CoinbaseTx {
  return { type: TxType.Coinbase, networkId: params.networkId, height, recipient, amount };
}

/**
 * An unsolved block on the chain's tip: coinbase to `recipient` paying subsidy + fees, the given
 * transfers in order (those that do not apply to the tip state are left out), merkle and state
 * roots filled in, bits from ASERT, time = max(now, median time past + 1). The miner searches
 * the nonce; mining may also bump `time`, which needs no other change.
 */
export async function prepareBlock(
  chain: TemplateChain,
  recipient: Uint8Array,
  candidates: readonly TransferTx[],
): Promise<Block> {
  const params = chain.networkParams;
  const parent = chain.tip;
  const height = parent.height + 1;
  const time = Math.max(nowSeconds(chain.clock), chain.medianTimePast(parent) + 1);
  const working = await chain.getAccounts([...touchedAddresses(candidates), recipient]);
  const txs: TransferTx[] = [];
  for (const tx of candidates) {
    if (txs.length >= params.maxBlockTxs - 1) break;
    if (tx.networkId !== params.networkId) continue;
    const senderHex = toHex(senderOf(tx));
    const senderBefore = working.get(senderHex) ?? EMPTY_ACCOUNT;
    try {
      const result = applyTransfer(tx, senderBefore, (senderAfter) => {
        working.set(senderHex, senderAfter);
        return working.get(toHex(tx.recipient)) ?? EMPTY_ACCOUNT;
      });
      working.set(toHex(tx.recipient), result.recipient);
      txs.push(tx);
    } catch (err) {
      if (!(err instanceof TxError)) throw err;
      working.set(senderHex, senderBefore); // a transfer that does not apply leaves no trace
    }
  }
  const pre = await chain.getAccounts(touchedAddresses([coinbaseTx(params, height, recipient, 0n), ...txs]));
  const fees = txs.reduce((sum, tx) => sum + tx.fee, 0n);
  const coinbase = coinbaseTx(params, height, recipient, blockSubsidy(height, params) + fees);
  const block: Block = {
    header: {
      version: BLOCK_VERSION,
      prevHash: parent.hash,
      merkleRoot: merkleRoot([coinbase, ...txs].map(transactionId)),
      stateRoot: parent.header.stateRoot,
      time,
      bits: chain.childBits(parent),
      nonce: 0n,
    },
    txs: [coinbase, ...txs],
  };
  const diff = applyBlockState(block, height, params, pre);
  block.header.stateRoot = (
    await stateRootAfter(parent.header.stateRoot, diff.changes.values(), chain.stateNodes)
  ).root;
  return block;
}
