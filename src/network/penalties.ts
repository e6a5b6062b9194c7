import { BlockErrorCode, TxErrorCode } from "../consensus/errors.js";
import { CodecErrorCode } from "../primitives/codec.js";
import type { ErrorAction } from "../util/errors.js";
import { NetworkErrorCode } from "./errors.js";

/** Every code the peer scorer knows: consensus, codec and network misbehaviour. */
export type PenaltyCode = BlockErrorCode | TxErrorCode | CodecErrorCode | NetworkErrorCode;

// Scale: 100 = ban on the spot (see DEFAULT_REPUTATION_OPTIONS: disconnect at 50, ban at 100).
// Gossip peers validate before they relay, so relaying a provably invalid block is never an
// accident; a block without valid work costs nothing to make, so it is banned at once as well.
const BAN = 100;
const HEAVY = 50;
const MALFORMED = 25;
const LIGHT = 5;

/**
 * The one penalty table: points added to a peer's score per offence, by code. A code that
 * depends on our own view (a tx nonce against our tip, a block time past our clock) costs little
 * or nothing, because an honest peer with another tip or clock can send it.
 */
export const PENALTIES: Readonly<Record<PenaltyCode, number>> = Object.freeze({
  [BlockErrorCode.BAD_BITS]: BAN,
  [BlockErrorCode.BAD_DIFFICULTY]: BAN,
  [BlockErrorCode.HIGH_HASH]: BAN,
  [BlockErrorCode.BAD_VERSION]: BAN,
  [BlockErrorCode.TIME_TOO_OLD]: BAN,
  [BlockErrorCode.TIME_TOO_NEW]: 0,
  [BlockErrorCode.BAD_PREV]: BAN,
  [BlockErrorCode.NO_TRANSACTIONS]: BAN,
  [BlockErrorCode.FIRST_TX_NOT_COINBASE]: BAN,
  [BlockErrorCode.MULTIPLE_COINBASE]: BAN,
  [BlockErrorCode.BAD_COINBASE_HEIGHT]: BAN,
  [BlockErrorCode.BAD_COINBASE_AMOUNT]: BAN,
  [BlockErrorCode.BAD_COINBASE_NETWORK]: BAN,
  [BlockErrorCode.DUPLICATE_TX]: BAN,
  [BlockErrorCode.TOO_MANY_TXS]: BAN,
  [BlockErrorCode.TOO_LARGE]: BAN,
  [BlockErrorCode.BAD_MERKLE_ROOT]: BAN,
  [BlockErrorCode.BAD_STATE_ROOT]: BAN,
  [BlockErrorCode.BAD_TX]: BAN,
  // We may have learnt of the invalidity first; the peer may have relayed it before knowing.
  [BlockErrorCode.KNOWN_INVALID]: HEAVY,
  [BlockErrorCode.INVALID_ANCESTOR]: HEAVY,

  [TxErrorCode.BAD_SIGNATURE]: HEAVY,
  [TxErrorCode.WRONG_NETWORK]: HEAVY,
  [TxErrorCode.OVERFLOW]: HEAVY,
  [TxErrorCode.COINBASE_OUTSIDE_BLOCK]: HEAVY,
  // State-dependent: valid against the sender's tip, maybe not against ours.
  [TxErrorCode.BAD_NONCE]: 1,
  [TxErrorCode.INSUFFICIENT_FUNDS]: 1,

  [CodecErrorCode.TRUNCATED]: MALFORMED,
  [CodecErrorCode.TRAILING_BYTES]: MALFORMED,
  [CodecErrorCode.UNKNOWN_TYPE]: MALFORMED,
  [CodecErrorCode.OUT_OF_RANGE]: MALFORMED,
  [CodecErrorCode.TOO_LARGE]: HEAVY,
  [CodecErrorCode.NOT_BYTES]: MALFORMED,

  [NetworkErrorCode.BAD_BATCH_SIGNATURE]: BAN,
  [NetworkErrorCode.INVALID_BATCH]: BAN,
  [NetworkErrorCode.TIMEOUT]: LIGHT,
  [NetworkErrorCode.OVERSIZED]: HEAVY,
  [NetworkErrorCode.FLOOD]: 10,
  [NetworkErrorCode.MALFORMED]: MALFORMED,
  // Not malice, but such a peer is useless: disconnect; repeated attempts end in a ban.
  [NetworkErrorCode.WRONG_NETWORK]: HEAVY,
  [NetworkErrorCode.INVALID_REQUEST]: 20,
  [NetworkErrorCode.REMOTE_ERROR]: 2,
  [NetworkErrorCode.UNRESPONSIVE]: LIGHT,
  [NetworkErrorCode.HANDLER_FAILED]: 0,
  [NetworkErrorCode.NOT_STARTED]: 0,
});

/** Points for a code outside the table (another service's code): reject-worthy costs a little. */
export const UNKNOWN_REJECT_PENALTY = 10;

/**
 * Points for `code`. A code not in `PENALTIES` (e.g. a mempool policy code) costs nothing when its
 * action is `ignore` and `UNKNOWN_REJECT_PENALTY` when it is `reject`.
 */
export function penaltyFor(code: string, action: ErrorAction = "reject"): number {
  if (Object.hasOwn(PENALTIES, code)) return PENALTIES[code as PenaltyCode];
  return action === "reject" ? UNKNOWN_REJECT_PENALTY : 0;
}
