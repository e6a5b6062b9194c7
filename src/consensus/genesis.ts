import type { Block } from "../primitives/index.js";
import { type CoinbaseTx, TxType, transactionId } from "../primitives/index.js";
import { merkleRoot } from "./merkle.js";
import { BLOCK_VERSION, type NetworkParams } from "./params.js";
import { EMPTY_TREE_ROOT } from "./state-tree.js";

const ZERO_HASH = new Uint8Array(32);

/**
 * The deterministic genesis block of a network: one coinbase paying 0 to the all-zero account at
 * height 0, so the genesis state is empty (state root = the empty tree root). Its nonce in
 * params.genesis was found once by scripts/mine-genesis and a test checks it still meets the
 * pow limit.
 */
export function genesisBlock(params: NetworkParams): Block {
  const coinbase: CoinbaseTx = {
    type: TxType.Coinbase,
    networkId: params.networkId,
    height: 0,
    recipient: new Uint8Array(20),
    amount: 0n,
  };
  return {
    header: {
      version: BLOCK_VERSION,
      prevHash: ZERO_HASH,
      merkleRoot: merkleRoot([transactionId(coinbase)]),
      stateRoot: EMPTY_TREE_ROOT,
      time: params.genesis.time,
      bits: params.genesis.bits,
      nonce: params.genesis.nonce,
    },
    txs: [coinbase],
  };
}
