import type { GossipSub, Message, TopicValidatorResult } from "@libp2p/gossipsub";
import type { PeerId } from "@libp2p/interface";
import { type Clock, systemClock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import { NetworkError, NetworkErrorCode } from "./errors.js";
import type { OrphanBlockEvent } from "./events.js";
import type { GossipRateOptions } from "./options.js";
import { TokenBuckets } from "./rate-limiter.js";
import type { PeerReputation } from "./reputation.js";
import type { SecurityLog } from "./security-log.js";
import {
  type GossipKind,
  type GossipOutcome,
  type GossipVerdictInput,
  gossipVerdict,
  VerdictCounters,
} from "./verdict.js";

/**
 * Processes one gossiped message: decode, validate, import. Returns what happened, or throws a
 * typed error (see `GossipVerdictInput`). Given by the composition root, so the network layer
 * never imports the chain or the mempool.
 */
export type GossipHandler = (data: Uint8Array, fromPeerId: string) => Promise<GossipVerdictInput>;

export interface GossipOptions {
  blockTopic: string;
  txTopic: string;
  maxMessageBytes: number;
  rate: GossipRateOptions;
}

export interface GossipDeps {
  pubsub: GossipSub;
  reputation: Pick<PeerReputation, "penalize" | "isBanned">;
  securityLog: Pick<SecurityLog, "record">;
  onOrphan: (event: OrphanBlockEvent) => void;
  clock?: Clock;
  log: Logger;
}

/**
 * The block and transaction topics: subscription, one validator per topic that runs the handler
 * and hands its outcome to `gossipVerdict`, per-peer rate limits, and publishing. gossipsub relays
 * a message only when its validator returned Accept, so a block is forwarded only after the
 * handler imported it.
 */
export class GossipTopics {
  readonly counters = new VerdictCounters();
  private readonly handlers: Record<GossipKind, GossipHandler | undefined> = {
    block: undefined,
    tx: undefined,
  };
  private readonly limits: Record<GossipKind, TokenBuckets>;
  private started = false;

  constructor(
    private readonly opts: GossipOptions,
    private readonly deps: GossipDeps,
  ) {
    const clock = deps.clock ?? systemClock;
    this.limits = {
      block: new TokenBuckets({ burst: opts.rate.blockBurst, perSecond: opts.rate.blocksPerSecond }, clock),
      tx: new TokenBuckets({ burst: opts.rate.txBurst, perSecond: opts.rate.txsPerSecond }, clock),
    };
  }

  setHandler(kind: GossipKind, handler: GossipHandler): void {
    if (typeof handler !== "function") throw new TypeError("gossip handler must be a function");
    this.handlers[kind] = handler;
  }

  /** Installs the validators and subscribes to both topics (idempotent). */
  start(): void {
    if (this.started) return;
    const { pubsub } = this.deps;
    pubsub.topicValidators.set(this.opts.blockTopic, (peer, msg) => this.validate("block", peer, msg));
    pubsub.topicValidators.set(this.opts.txTopic, (peer, msg) => this.validate("tx", peer, msg));
    pubsub.subscribe(this.opts.blockTopic);
    pubsub.subscribe(this.opts.txTopic);
    this.started = true;
  }

  stop(): void {
    if (!this.started) return;
    this.started = false;
    const { pubsub } = this.deps;
    for (const topic of [this.opts.blockTopic, this.opts.txTopic]) {
      try {
        pubsub.unsubscribe(topic);
      } catch {
        // gossipsub already stopped with libp2p: nothing left to unsubscribe from
      }
      pubsub.topicValidators.delete(topic);
    }
  }

  /** Publishes to the topic of `kind`; returns how many peers it was sent to. */
  async publish(kind: GossipKind, data: Uint8Array): Promise<number> {
    if (!(data instanceof Uint8Array)) throw new TypeError("gossip data must be a Uint8Array");
    if (data.length === 0 || data.length > this.opts.maxMessageBytes)
      throw new RangeError(`gossip message must be 1..${this.opts.maxMessageBytes} bytes`);
    if (!this.started) throw new NetworkError(NetworkErrorCode.NOT_STARTED, "network host is not started");
    const topic = kind === "block" ? this.opts.blockTopic : this.opts.txTopic;
    const result = await this.deps.pubsub.publish(topic, data);
    return result.recipients.length;
  }

  private async validate(kind: GossipKind, peer: PeerId, msg: Message): Promise<TopicValidatorResult> {
    const peerId = peer.toString();
    const data = msg.data;
    let outcome: GossipOutcome;
    // Transactions are charged before they are looked at. Blocks are charged only when they turn
    // out not to be imported (orphans, duplicates, ignored): a valid block carries its own proof of
    // work, and a fresh network legitimately produces many per second (regtest, a new devnet).
    const chargeFirst = kind === "tx";
    if (chargeFirst && !this.limits[kind].take(peerId)) {
      // Not looked at: the message may be fine, the rate is the offence.
      outcome = { error: new NetworkError(NetworkErrorCode.FLOOD, `${kind} rate exceeded`, "ignore") };
    } else if (data.length > this.opts.maxMessageBytes) {
      outcome = {
        error: new NetworkError(NetworkErrorCode.OVERSIZED, `${kind} message of ${data.length} bytes`),
      };
    } else {
      const handler = this.handlers[kind];
      if (!handler) outcome = { ok: { result: "ignore", code: "NO_HANDLER" } };
      else {
        try {
          outcome = { ok: await handler(data, peerId) };
        } catch (error) {
          outcome = { error };
        }
      }
      const imported = "ok" in outcome && outcome.ok.result === "accept";
      if (!chargeFirst && !imported && "ok" in outcome && !this.limits[kind].take(peerId)) {
        outcome = { error: new NetworkError(NetworkErrorCode.FLOOD, `${kind} rate exceeded`, "ignore") };
      }
    }
    const verdict = gossipVerdict(outcome, {
      peerId,
      kind,
      data,
      reputation: this.deps.reputation,
      securityLog: this.deps.securityLog,
      counters: this.counters,
      log: this.deps.log,
    });
    if ("ok" in outcome && outcome.ok.result === "orphan") {
      this.deps.onOrphan({
        fromPeerId: peerId,
        hash: outcome.ok.hash,
        missingAncestor: outcome.ok.missingAncestor,
      });
    }
    return verdict;
  }
}
