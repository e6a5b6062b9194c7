import { type ErrorAction, ValidationError } from "../util/index.js";

/**
 * Stable codes for every consensus rule. A code never changes meaning; tests are named after
 * them and the network layer maps them to peer penalties.
 */
export enum BlockErrorCode {
  /** compact bits are negative, overflow, zero, or above the network's pow limit */
  BAD_BITS = "BLOCK_BAD_BITS",
  /** bits differ from the ASERT result for this height */
  BAD_DIFFICULTY = "BLOCK_BAD_DIFFICULTY",
  /** header hash above the target */
  HIGH_HASH = "BLOCK_HIGH_HASH",
  BAD_VERSION = "BLOCK_BAD_VERSION",
  /** timestamp not after the median of the previous 11 blocks */
  TIME_TOO_OLD = "BLOCK_TIME_TOO_OLD",
  /** timestamp too far ahead of the local clock (ignore: it may become valid) */
  TIME_TOO_NEW = "BLOCK_TIME_TOO_NEW",
  BAD_PREV = "BLOCK_BAD_PREV",
  NO_TRANSACTIONS = "BLOCK_NO_TRANSACTIONS",
  FIRST_TX_NOT_COINBASE = "BLOCK_FIRST_TX_NOT_COINBASE",
  MULTIPLE_COINBASE = "BLOCK_MULTIPLE_COINBASE",
  BAD_COINBASE_HEIGHT = "BLOCK_BAD_COINBASE_HEIGHT",
  BAD_COINBASE_AMOUNT = "BLOCK_BAD_COINBASE_AMOUNT",
  BAD_COINBASE_NETWORK = "BLOCK_BAD_COINBASE_NETWORK",
  DUPLICATE_TX = "BLOCK_DUPLICATE_TX",
  TOO_MANY_TXS = "BLOCK_TOO_MANY_TXS",
  TOO_LARGE = "BLOCK_TOO_LARGE",
  BAD_MERKLE_ROOT = "BLOCK_BAD_MERKLE_ROOT",
  BAD_STATE_ROOT = "BLOCK_BAD_STATE_ROOT",
  /** a transaction inside the block broke a tx rule; `txCode` says which */
  BAD_TX = "BLOCK_BAD_TX",
  /** the block was marked invalid before */
  KNOWN_INVALID = "BLOCK_KNOWN_INVALID",
  /** an ancestor of the block is invalid */
  INVALID_ANCESTOR = "BLOCK_INVALID_ANCESTOR",
  /**
   * the block's branch carries too little work to ever matter (anti-DoS policy, not consensus:
   * ignore, not stored); see `lowWorkMarginBlocks` and `minimumChainWork` in params.ts
   */
  LOW_WORK = "BLOCK_LOW_WORK",
}

export enum TxErrorCode {
  BAD_SIGNATURE = "TX_BAD_SIGNATURE",
  BAD_NONCE = "TX_BAD_NONCE",
  INSUFFICIENT_FUNDS = "TX_INSUFFICIENT_FUNDS",
  OVERFLOW = "TX_OVERFLOW",
  WRONG_NETWORK = "TX_WRONG_NETWORK",
  COINBASE_OUTSIDE_BLOCK = "TX_COINBASE_OUTSIDE_BLOCK",
}

export type BlockErrorType =
  | { code: Exclude<BlockErrorCode, BlockErrorCode.BAD_TX> }
  | { code: BlockErrorCode.BAD_TX; txIndex: number; txCode: TxErrorCode };

export class BlockError extends ValidationError<BlockErrorType> {
  constructor(type: BlockErrorType, message?: string, action: ErrorAction = "reject") {
    super(type, action, message);
  }
}

export type TxErrorType = { code: TxErrorCode };

export class TxError extends ValidationError<TxErrorType> {
  constructor(code: TxErrorCode, message?: string, action: ErrorAction = "reject") {
    super({ code }, action, message);
  }
}
