import { TopicValidatorResult } from "@libp2p/gossipsub";
import { describe, expect, it } from "vitest";
import { BlockError, BlockErrorCode, TxError, TxErrorCode } from "../../../src/consensus/errors.js";
import {
  type GossipOutcome,
  gossipVerdict,
  MemoryPeerDb,
  NetworkError,
  NetworkErrorCode,
  PeerReputation,
  SecurityLog,
  VerdictCounters,
} from "../../../src/network/index.js";
import { penaltyFor } from "../../../src/node/penalties.js";
import { CodecError, CodecErrorCode } from "../../../src/primitives/index.js";
import { StoreError, StoreErrorCode } from "../../../src/store/index.js";
import { silentLogger } from "../../../src/util/logger.js";

function context() {
  const peerDb = new MemoryPeerDb();
  const securityLog = new SecurityLog({}, { peerDb });
  const reputation = new PeerReputation({}, { penalties: penaltyFor, peerDb, securityLog });
  const counters = new VerdictCounters();
  return {
    peerId: "peerX",
    kind: "block" as const,
    data: new Uint8Array(8),
    reputation,
    securityLog,
    counters,
    log: silentLogger,
  };
}

const cases: {
  name: string;
  outcome: GossipOutcome;
  verdict: TopicValidatorResult;
  penalised: boolean;
  code: string;
}[] = [
  {
    name: "accept",
    outcome: { ok: { result: "accept" } },
    verdict: TopicValidatorResult.Accept,
    penalised: false,
    code: "ACCEPT",
  },
  {
    name: "duplicate",
    outcome: { ok: { result: "duplicate" } },
    verdict: TopicValidatorResult.Ignore,
    penalised: false,
    code: "DUPLICATE",
  },
  {
    name: "orphan",
    outcome: { ok: { result: "orphan", hash: "aa", missingAncestor: "bb" } },
    verdict: TopicValidatorResult.Ignore,
    penalised: false,
    code: "ORPHAN",
  },
  {
    name: "BLOCK_BAD_MERKLE_ROOT (reject)",
    outcome: { error: new BlockError({ code: BlockErrorCode.BAD_MERKLE_ROOT }) },
    verdict: TopicValidatorResult.Reject,
    penalised: true,
    code: BlockErrorCode.BAD_MERKLE_ROOT,
  },
  {
    name: "BLOCK_TIME_TOO_NEW (ignore, no penalty)",
    outcome: { error: new BlockError({ code: BlockErrorCode.TIME_TOO_NEW }, undefined, "ignore") },
    verdict: TopicValidatorResult.Ignore,
    penalised: false,
    code: BlockErrorCode.TIME_TOO_NEW,
  },
  {
    name: "TX_BAD_SIGNATURE (reject)",
    outcome: { error: new TxError(TxErrorCode.BAD_SIGNATURE) },
    verdict: TopicValidatorResult.Reject,
    penalised: true,
    code: TxErrorCode.BAD_SIGNATURE,
  },
  {
    name: "CODEC_TRUNCATED (reject)",
    outcome: { error: new CodecError({ code: CodecErrorCode.TRUNCATED, what: "block" }) },
    verdict: TopicValidatorResult.Reject,
    penalised: true,
    code: CodecErrorCode.TRUNCATED,
  },
  {
    name: "NET_FLOOD (ignore, penalised)",
    outcome: { error: new NetworkError(NetworkErrorCode.FLOOD, "rate", "ignore") },
    verdict: TopicValidatorResult.Ignore,
    penalised: true,
    code: NetworkErrorCode.FLOOD,
  },
  {
    name: "NET_THROTTLED (ignore, not charged: an honest relay of a busy network gets here)",
    outcome: { error: new NetworkError(NetworkErrorCode.THROTTLED, "rate", "ignore") },
    verdict: TopicValidatorResult.Ignore,
    penalised: false,
    code: NetworkErrorCode.THROTTLED,
  },
  {
    name: "NET_BUSY (ignore, not charged: our queue is full, the block may be fine)",
    outcome: { error: new NetworkError(NetworkErrorCode.BUSY, "busy", "ignore") },
    verdict: TopicValidatorResult.Ignore,
    penalised: false,
    code: NetworkErrorCode.BUSY,
  },
  {
    name: "a code with no table entry (a bug): ignored as its action says, not charged",
    outcome: { error: new BlockError({ code: "BLOCK_NOT_IN_TABLE" as BlockErrorCode.BAD_BITS }) },
    verdict: TopicValidatorResult.Reject,
    penalised: false,
    code: "BLOCK_NOT_IN_TABLE",
  },
  {
    name: "an unexpected error (not the peer's fault)",
    outcome: { error: new Error("disk on fire") },
    verdict: TopicValidatorResult.Ignore,
    penalised: false,
    code: NetworkErrorCode.HANDLER_FAILED,
  },
  {
    name: "STORE_WRITE_FAILED: a block we could not store is not the sender's fault",
    outcome: { error: new StoreError(StoreErrorCode.WRITE_FAILED, "refused a write (ENOSPC)") },
    verdict: TopicValidatorResult.Ignore,
    penalised: false,
    code: NetworkErrorCode.HANDLER_FAILED,
  },
  {
    name: "STORE_HALTED: blocks refused while our chain is halted are not charged",
    outcome: { error: new StoreError(StoreErrorCode.HALTED, "chain halted (STORE_DISK_LOW)") },
    verdict: TopicValidatorResult.Ignore,
    penalised: false,
    code: NetworkErrorCode.HANDLER_FAILED,
  },
];

describe("gossipVerdict: the one mapping from outcomes to verdicts, penalties and counters", () => {
  it.each(cases)("$name", ({ outcome, verdict, penalised, code }) => {
    const ctx = context();
    expect(gossipVerdict(outcome, ctx)).toBe(verdict);
    expect(ctx.reputation.score("peerX") > 0).toBe(penalised);
    // the security-log line comes with the charge
    expect(ctx.securityLog.recent(1).length > 0).toBe(penalised);
    expect(ctx.counters.total({ kind: "block", result: verdict, code })).toBe(1);
  });
});
