import { TopicValidatorResult } from "@libp2p/gossipsub";
import { toHex } from "../primitives/index.js";
import type { Logger } from "../util/index.js";
import { QuarryError } from "../util/index.js";
import { NetworkErrorCode } from "./errors.js";
import type { PeerReputation } from "./reputation.js";

/**
 * What a gossip handler (given by the composition root) reports for a message it processed
 * without throwing. Handlers throw typed errors (`BlockError`, `TxError`, `CodecError`,
 * `NetworkError`, or any `QuarryError` with an `action`) for everything invalid.
 *
 * - `accept`: new and valid (a block stored on any branch, a tx admitted): relay it.
 * - `duplicate`: already known: do not relay again, no penalty.
 * - `orphan`: proof of work checked but the parent is unknown: not relayed; the host emits
 *   `orphanBlock` so sync can fetch `missingAncestor`.
 * - `ignore`: refused by local policy (e.g. mempool full), with an optional code for metrics.
 */
export type GossipVerdictInput =
  | { result: "accept" }
  | { result: "duplicate" }
  | { result: "orphan"; hash: string; missingAncestor: string }
  | { result: "ignore"; code?: string };

/** A handler outcome: what it returned, or what it threw. */
export type GossipOutcome = { ok: GossipVerdictInput } | { error: unknown };

export type GossipKind = "block" | "tx";

/** Counts of gossip verdicts by kind, result and code (`quarry_gossip_verdicts_total`). */
export class VerdictCounters {
  private readonly counts = new Map<string, number>();

  inc(kind: GossipKind, result: TopicValidatorResult, code: string): void {
    const key = `${kind}\0${result}\0${code}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** One row per (kind, result, code) seen so far. */
  snapshot(): { kind: GossipKind; result: TopicValidatorResult; code: string; count: number }[] {
    return [...this.counts].map(([key, count]) => {
      const [kind, result, code] = key.split("\0") as [GossipKind, TopicValidatorResult, string];
      return { kind, result, code, count };
    });
  }

  /** Sum over rows matching the given fields. */
  total(filter: { kind?: GossipKind; result?: TopicValidatorResult; code?: string } = {}): number {
    return this.snapshot()
      .filter((r) => (filter.kind ?? r.kind) === r.kind && (filter.result ?? r.result) === r.result)
      .filter((r) => (filter.code ?? r.code) === r.code)
      .reduce((sum, r) => sum + r.count, 0);
  }
}

export interface VerdictContext {
  peerId: string;
  kind: GossipKind;
  data: Uint8Array;
  reputation: Pick<PeerReputation, "penalize" | "pointsFor">;
  counters: VerdictCounters;
  log: Logger;
}

// Enough of a message to identify it in the security log (a block header is 116 bytes).
const EVIDENCE_BYTES = 512;

function hasAction(err: unknown): err is QuarryError & { action: "reject" | "ignore" } {
  return (
    err instanceof QuarryError && "action" in err && (err.action === "reject" || err.action === "ignore")
  );
}

/**
 * The one place that turns a gossip handler's outcome into a verdict: Accept / Ignore / Reject
 * for gossipsub (the error's own `action`), the charge from `PENALTIES` for the sending peer
 * (`PeerReputation.penalize`, which also writes the security-log line with the message as
 * evidence), and a counter by code. Duplicates, orphans and ignored messages are never charged.
 * Unexpected errors (bugs, store failures) are logged and ignored without blaming the peer.
 */
export function gossipVerdict(outcome: GossipOutcome, ctx: VerdictContext): TopicValidatorResult {
  if ("ok" in outcome) {
    const input = outcome.ok;
    switch (input.result) {
      case "accept":
        ctx.counters.inc(ctx.kind, TopicValidatorResult.Accept, "ACCEPT");
        return TopicValidatorResult.Accept;
      case "duplicate":
        ctx.counters.inc(ctx.kind, TopicValidatorResult.Ignore, "DUPLICATE");
        return TopicValidatorResult.Ignore;
      case "orphan":
        ctx.counters.inc(ctx.kind, TopicValidatorResult.Ignore, "ORPHAN");
        return TopicValidatorResult.Ignore;
      case "ignore":
        ctx.counters.inc(ctx.kind, TopicValidatorResult.Ignore, input.code ?? "IGNORE");
        return TopicValidatorResult.Ignore;
    }
  }
  const err = outcome.error;
  if (!hasAction(err)) {
    ctx.log.error({ err, peerId: ctx.peerId, kind: ctx.kind }, "gossip handler failed");
    ctx.counters.inc(ctx.kind, TopicValidatorResult.Ignore, NetworkErrorCode.HANDLER_FAILED);
    return TopicValidatorResult.Ignore;
  }
  const code = err.code;
  const result = err.action === "reject" ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore;
  ctx.counters.inc(ctx.kind, result, code);
  // Codes that cost nothing skip building the evidence; a code missing from the table goes to
  // penalize, which logs the bug and charges nothing.
  if (ctx.reputation.pointsFor(code) !== 0) {
    const detail = {
      action: err.action,
      message: err.message,
      type: err.type,
      sizeBytes: ctx.data.length,
      dataHex: toHex(ctx.data.subarray(0, EVIDENCE_BYTES)),
    };
    const points = ctx.reputation.penalize(ctx.peerId, code, { kind: ctx.kind, detail });
    ctx.log.debug({ peerId: ctx.peerId, code, kind: ctx.kind, result, points }, "gossip message refused");
  }
  return result;
}
