import type { Block, BlockHeader } from "../primitives/index.js";
import { blockSize, equalBytes, type TransferTx, TxType, toHex, transactionId } from "../primitives/index.js";
import { powLimit } from "./difficulty.js";
import { BlockError, BlockErrorCode, TxError } from "./errors.js";
import { merkleRoot } from "./merkle.js";
import { BLOCK_VERSION, type NetworkParams } from "./params.js";
import { checkProofOfWork } from "./pow.js";
import { checkTransferStateless } from "./tx-rules.js";

/** What the chain knows about a header's place: all values, no lookups. */
export interface HeaderContext {
  /** hash of the block the header must extend */
  parentHash: Uint8Array;
  /** median time of the previous ≤11 blocks (the parent and its ancestors) */
  medianTimePast: number;
  /** the ASERT result for this height (see difficulty.ts) */
  expectedBits: number;
  /** the local clock, unix seconds */
  nowSeconds: number;
}

/** Header rules, in order of cost. `hash` is the header's id (SHA-256d), computed once by the caller. */
export function checkHeader(
  header: BlockHeader,
  hash: Uint8Array,
  ctx: HeaderContext,
  params: NetworkParams,
): void {
  if (header.version !== BLOCK_VERSION) {
    throw new BlockError({ code: BlockErrorCode.BAD_VERSION }, `unsupported block version ${header.version}`);
  }
  if (!equalBytes(header.prevHash, ctx.parentHash)) {
    throw new BlockError({ code: BlockErrorCode.BAD_PREV }, "header does not extend the given parent");
  }
  // Rule: the header's target is exactly the ASERT result; PoW is then checked against it.
  if (header.bits !== ctx.expectedBits) {
    throw new BlockError(
      { code: BlockErrorCode.BAD_DIFFICULTY },
      `bits 0x${header.bits.toString(16)} != expected 0x${ctx.expectedBits.toString(16)}`,
    );
  }
  checkProofOfWork(hash, header.bits, powLimit(params));
  // Rule: time strictly after the median of the previous 11 blocks (Bitcoin's MTP rule).
  if (header.time <= ctx.medianTimePast) {
    throw new BlockError(
      { code: BlockErrorCode.TIME_TOO_OLD },
      `time ${header.time} <= median ${ctx.medianTimePast}`,
    );
  }
  // Rule: at most maxFutureBlockTimeSeconds past our clock. Ignore, not reject: it may become valid.
  if (header.time > ctx.nowSeconds + params.maxFutureBlockTimeSeconds) {
    throw new BlockError(
      { code: BlockErrorCode.TIME_TOO_NEW },
      `time ${header.time} too far in the future`,
      "ignore",
    );
  }
}

/**
 * Body rules that need no account state: limits, coinbase shape, no duplicate transactions,
 * merkle root, network ids and signatures. Returns the transaction ids (computed once).
 * `signatureVerified(txIdHex)` may vouch for signatures checked before (a signature cache keyed
 * by tx id, which commits to the signature itself); it is a value lookup, not I/O.
 */
export function checkBlockBody(
  block: Block,
  height: number,
  params: NetworkParams,
  signatureVerified?: (txIdHex: string) => boolean,
  /** the transactions' ids when the caller has them already (hashed from the received bytes) */
  knownTxIds?: readonly Uint8Array[],
): Uint8Array[] {
  const { txs } = block;
  if (knownTxIds !== undefined && knownTxIds.length !== txs.length)
    throw new RangeError("knownTxIds must hold one id per transaction");
  if (txs.length === 0)
    throw new BlockError({ code: BlockErrorCode.NO_TRANSACTIONS }, "block has no transactions");
  if (txs.length > params.maxBlockTxs) {
    throw new BlockError(
      { code: BlockErrorCode.TOO_MANY_TXS },
      `${txs.length} > ${params.maxBlockTxs} transactions`,
    );
  }
  const size = blockSize(block);
  if (size > params.maxBlockBytes) {
    throw new BlockError({ code: BlockErrorCode.TOO_LARGE }, `${size} > ${params.maxBlockBytes} bytes`);
  }
  const coinbase = txs[0]!;
  if (coinbase.type !== TxType.Coinbase) {
    throw new BlockError(
      { code: BlockErrorCode.FIRST_TX_NOT_COINBASE },
      "first transaction is not a coinbase",
    );
  }
  // Rule: the coinbase commits to the height, so coinbase ids never repeat across blocks.
  if (coinbase.height !== height) {
    throw new BlockError(
      { code: BlockErrorCode.BAD_COINBASE_HEIGHT },
      `coinbase height ${coinbase.height} != ${height}`,
    );
  }
  if (coinbase.networkId !== params.networkId) {
    throw new BlockError({ code: BlockErrorCode.BAD_COINBASE_NETWORK }, "coinbase is for another network");
  }
  const ids: Uint8Array[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < txs.length; i++) {
    const tx = txs[i]!;
    if (i > 0 && tx.type !== TxType.Transfer) {
      throw new BlockError({ code: BlockErrorCode.MULTIPLE_COINBASE }, `tx ${i} is a second coinbase`);
    }
    const id = knownTxIds ? knownTxIds[i]! : transactionId(tx);
    const key = toHex(id);
    // Rule: no transaction twice (the CVE-2018-17144 class: a duplicate must never be applied twice).
    if (seen.has(key))
      throw new BlockError({ code: BlockErrorCode.DUPLICATE_TX }, `tx ${i} duplicates an earlier one`);
    seen.add(key);
    ids.push(id);
  }
  if (!equalBytes(merkleRoot(ids), block.header.merkleRoot)) {
    throw new BlockError(
      { code: BlockErrorCode.BAD_MERKLE_ROOT },
      "merkle root does not match the transactions",
    );
  }
  for (let i = 1; i < txs.length; i++) {
    const verified = signatureVerified?.(toHex(ids[i]!)) ?? false;
    checkTransferInBlock(txs[i] as TransferTx, i, params, verified);
  }
  return ids;
}

function checkTransferInBlock(
  tx: TransferTx,
  index: number,
  params: NetworkParams,
  signatureVerified: boolean,
): void {
  try {
    checkTransferStateless(tx, params, signatureVerified);
  } catch (err) {
    if (err instanceof TxError) {
      throw new BlockError(
        { code: BlockErrorCode.BAD_TX, txIndex: index, txCode: err.type.code },
        `tx ${index}: ${err.message}`,
      );
    }
    throw err;
  }
}
