import { type TransferTx, transferSigningMessage, U64_MAX, verifySignature } from "../primitives/index.js";
import type { Account } from "./account.js";
import { TxError, TxErrorCode } from "./errors.js";
import type { NetworkParams } from "./params.js";

/**
 * Transaction rules. Stateless checks (network, signature, overflow) can run in parallel and
 * before any state is read; the stateful rule (nonce, funds) runs in block order.
 */

/**
 * Rules that need no state: right network, amount + fee fits in a u64, strict RFC 8032 signature.
 * `signatureVerified` skips only the signature check, for a transfer whose exact encoding was
 * verified before (the signature cache); the other rules always run.
 */
export function checkTransferStateless(
  tx: TransferTx,
  params: NetworkParams,
  signatureVerified = false,
): void {
  // Replay protection: a transfer signed for one network is invalid on every other.
  if (tx.networkId !== params.networkId)
    throw new TxError(TxErrorCode.WRONG_NETWORK, "transaction is for another network");
  if (tx.amount + tx.fee > U64_MAX) throw new TxError(TxErrorCode.OVERFLOW, "amount + fee overflows u64");
  if (!signatureVerified && !verifySignature(tx.senderPublicKey, transferSigningMessage(tx), tx.signature)) {
    throw new TxError(TxErrorCode.BAD_SIGNATURE, "signature does not verify (strict RFC 8032)");
  }
}

/**
 * Applies a transfer to the sender's and recipient's accounts, returning their new values.
 * The nonce must equal the sender's account nonce (so the same nonce can never be spent twice:
 * the CVE-2018-17144 class of double spend inside one block), and amount + fee must be covered.
 */
export function applyTransfer(
  tx: TransferTx,
  sender: Account,
  recipientOf: (senderAfter: Account) => Account,
): { sender: Account; recipient: Account } {
  if (tx.nonce !== sender.nonce) {
    // A future nonce may become valid later; a past one never will. Either way the block is bad.
    throw new TxError(TxErrorCode.BAD_NONCE, `nonce ${tx.nonce} != account nonce ${sender.nonce}`);
  }
  const cost = tx.amount + tx.fee;
  if (cost > sender.balance) {
    throw new TxError(TxErrorCode.INSUFFICIENT_FUNDS, `needs ${cost}, balance ${sender.balance}`);
  }
  const senderAfter = { balance: sender.balance - cost, nonce: sender.nonce + 1n };
  if (senderAfter.nonce > U64_MAX) throw new TxError(TxErrorCode.OVERFLOW, "nonce overflows u64");
  // The recipient is read after the debit: a self-transfer sees its own debited account.
  const recipient = recipientOf(senderAfter);
  const recipientAfter = { balance: recipient.balance + tx.amount, nonce: recipient.nonce };
  if (recipientAfter.balance > U64_MAX)
    throw new TxError(TxErrorCode.OVERFLOW, "recipient balance overflows u64");
  return { sender: senderAfter, recipient: recipientAfter };
}
