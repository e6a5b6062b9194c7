import { BlockErrorCode, TxErrorCode } from "../consensus/index.js";
import { MempoolErrorCode } from "../mempool/index.js";
import { NetworkErrorCode } from "../network/index.js";
import { CodecErrorCode } from "../primitives/index.js";
import { SyncErrorCode } from "../sync/index.js";

/**
 * Every error code a peer's traffic can raise: consensus, codec, gossip, request/response sync
 * and mempool policy. A new code in any of these enums fails to compile until `PENALTIES` has a
 * deliberate entry for it; a new enum of peer-caused codes joins this union (the unit test
 * `penalties.test.ts` finds every `*ErrorCode` enum in src/ and fails on one that is neither
 * here nor listed as local-only).
 */
export type PenaltyCode =
  | BlockErrorCode
  | TxErrorCode
  | CodecErrorCode
  | NetworkErrorCode
  | SyncErrorCode
  | MempoolErrorCode;

// Scale: 100 = ban on the spot (DEFAULT_REPUTATION_OPTIONS: disconnect at 50, ban at 100; scores
// halve every 10 minutes). docs/NETWORK.md has the policy table with the reason for each row.
/** Provable forgery, or data no honest node ever sends: banned at once. */
const BAN = 100;
/** Provably wrong but possibly relayed in good faith, or useless to us: disconnected at once. */
const DISCONNECT = 50;
/** Bytes that do not decode: an honest node never sends them; five in quick succession ban. */
const MALFORMED = 25;
/** A request outside the protocol's bounds: our own clients never send one. */
const BAD_REQUEST = 20;
/** Each valid-work block of a branch too far behind our tip to matter, pushed unsolicited. */
const LOW_WORK = 2;
/** Each message beyond ten times the per-peer rate: sustained abuse adds up to a ban. */
const ABUSE = 1;
/** Not provable (depends on our tip, clock or load), or not the peer's fault: never charged. */
const NONE = 0;

/**
 * THE penalty table: points added to a peer's score per offence, by code. It lives in the
 * composition root because it names the codes of every service (network, sync, mempool sit on one
 * layer and do not import each other); the root gives `penaltyFor` to the network host, whose
 * `PeerReputation.penalize` is the one function that charges a peer, for gossip verdicts,
 * request/response sync, the mempool exchange and the peer manager alike. There is no default: a
 * code without an entry is a bug (logged, charged nothing), and the type makes a missing entry a
 * compile error.
 *
 * Rule: a peer is charged only for what is provably wrong, or for abuse an honest node never
 * commits. A block whose header carries valid proof of work is never charged for its rate.
 */
export const PENALTIES: Readonly<Record<PenaltyCode, number>> = Object.freeze({
  // A block without valid work costs nothing to make; an honest peer validates before relaying.
  [BlockErrorCode.BAD_BITS]: BAN,
  [BlockErrorCode.BAD_DIFFICULTY]: BAN,
  [BlockErrorCode.HIGH_HASH]: BAN,
  [BlockErrorCode.BAD_VERSION]: BAN,
  [BlockErrorCode.TIME_TOO_OLD]: BAN,
  // Depends on our clock: it may become valid.
  [BlockErrorCode.TIME_TOO_NEW]: NONE,
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
  [BlockErrorCode.KNOWN_INVALID]: DISCONNECT,
  [BlockErrorCode.INVALID_ANCESTOR]: DISCONNECT,
  // Valid work on a branch that trails our tip by more than the margin (lowWorkMarginBlocks).
  // Charged only when pushed by gossip (sync asked for its blocks: never charged). An honest peer
  // relays at most a few such stale blocks after a long partition: 24 of them stay below the
  // disconnect threshold; a flood of 50 within a half-life bans.
  [BlockErrorCode.LOW_WORK]: LOW_WORK,

  // Provable from the transaction alone.
  [TxErrorCode.BAD_SIGNATURE]: DISCONNECT,
  [TxErrorCode.WRONG_NETWORK]: DISCONNECT,
  [TxErrorCode.OVERFLOW]: DISCONNECT,
  [TxErrorCode.COINBASE_OUTSIDE_BLOCK]: DISCONNECT,
  // State-dependent: valid against the sender's tip, maybe not against ours.
  [TxErrorCode.BAD_NONCE]: NONE,
  [TxErrorCode.INSUFFICIENT_FUNDS]: NONE,

  [CodecErrorCode.TRUNCATED]: MALFORMED,
  [CodecErrorCode.TRAILING_BYTES]: MALFORMED,
  [CodecErrorCode.UNKNOWN_TYPE]: MALFORMED,
  [CodecErrorCode.OUT_OF_RANGE]: MALFORMED,
  [CodecErrorCode.TOO_LARGE]: DISCONNECT,
  [CodecErrorCode.NOT_BYTES]: MALFORMED,

  [NetworkErrorCode.OVERSIZED]: DISCONNECT,
  // Over the per-peer rate: ignored, not charged (an honest relay of a busy network gets here).
  [NetworkErrorCode.THROTTLED]: NONE,
  [NetworkErrorCode.FLOOD]: ABUSE,
  // Our block queue is full: the sender did nothing wrong.
  [NetworkErrorCode.BUSY]: NONE,
  // Three failed pings in a row: disconnected by the peer manager; twenty within a half-life ban.
  [NetworkErrorCode.UNRESPONSIVE]: 5,
  [NetworkErrorCode.HANDLER_FAILED]: NONE,
  [NetworkErrorCode.NOT_STARTED]: NONE,

  // A slow or overloaded honest peer times out and errors; sync retries elsewhere.
  [SyncErrorCode.TIMEOUT]: NONE,
  [SyncErrorCode.OVERSIZED]: DISCONNECT,
  [SyncErrorCode.MALFORMED]: MALFORMED,
  // Not malice, but such a peer is useless to us.
  [SyncErrorCode.WRONG_NETWORK]: DISCONNECT,
  [SyncErrorCode.BAD_BATCH_SIGNATURE]: BAN,
  // A validly signed batch with invalid content: the signature is proof against the signer.
  [SyncErrorCode.INVALID_BATCH]: BAN,
  // The peer's chain moved between its status and our request: no proof.
  [SyncErrorCode.UNEXPECTED_BATCH]: NONE,
  [SyncErrorCode.REMOTE_ERROR]: NONE,
  [SyncErrorCode.STREAM_FAILED]: NONE,
  [SyncErrorCode.INVALID_REQUEST]: BAD_REQUEST,
  [SyncErrorCode.BAD_BATCH_STATE]: NONE,
  [SyncErrorCode.STOPPED]: NONE,
  // An honest client keeps a few requests open; dozens of streams or megabytes of undecoded
  // prefix are an attack on our memory: five in a short time ban.
  [SyncErrorCode.STREAM_LIMIT]: 20,
  // Charged from the second failure in a row without a delivery (sync backs the peer off
  // longer each time); four in a row with their timeouts reach the ban.
  [SyncErrorCode.NOT_DELIVERING]: 30,
  // A header of the peer's own main chain that fails the header rules: an honest node validated
  // every header of its main chain, so this is data no honest node sends (as a gossiped block
  // without valid work, BAD_DIFFICULTY or HIGH_HASH).
  [SyncErrorCode.INVALID_HEADERS]: BAN,
  // Its status claimed more work than its whole header chain proves. A node's main-chain work only
  // grows, so an honest status is always backed; an operator's invalidateBlock is the one honest
  // way down, hence a disconnect (with a sync backoff), not a ban.
  [SyncErrorCode.WORK_NOT_PROVEN]: DISCONNECT,

  // Pool policy: another node with other limits or another tip may accept the transaction.
  [MempoolErrorCode.DUPLICATE]: NONE,
  [MempoolErrorCode.NONCE_TOO_LOW]: NONE,
  [MempoolErrorCode.NONCE_GAP_TOO_LARGE]: NONE,
  [MempoolErrorCode.SENDER_FULL]: NONE,
  [MempoolErrorCode.REPLACEMENT_UNDERPRICED]: NONE,
  [MempoolErrorCode.FULL]: NONE,
  [MempoolErrorCode.FEE_TOO_LOW]: NONE,
  [MempoolErrorCode.NOT_STARTED]: NONE,
});

/** True when `code` has an entry in `PENALTIES`. */
export function isPenaltyCode(code: string): code is PenaltyCode {
  return Object.hasOwn(PENALTIES, code);
}

/** Points for `code`, or undefined when the table has no entry (a bug: there is no default). */
export function penaltyFor(code: string): number | undefined {
  return isPenaltyCode(code) ? PENALTIES[code] : undefined;
}
