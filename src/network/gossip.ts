import type { GossipSub, Message, TopicValidatorResult } from "@libp2p/gossipsub";
import type { PeerId } from "@libp2p/interface";
import type { Logger } from "../util/index.js";
import { type Clock, systemClock, TokenBuckets } from "../util/index.js";
import { NetworkError, NetworkErrorCode } from "./errors.js";
import type { OrphanBlockEvent } from "./events.js";
import type { GossipRateOptions } from "./options.js";
import type { PeerReputation } from "./reputation.js";
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
  reputation: Pick<PeerReputation, "penalize" | "pointsFor" | "isBanned">;
  onOrphan: (event: OrphanBlockEvent) => void;
  clock?: Clock;
  log: Logger;
}

/**
 * The block and transaction topics: subscription, one validator per topic that runs the handler
 * and hands its outcome to `gossipVerdict`, admission limits, and publishing. gossipsub relays a
 * message only when its validator returned Accept, so a block is forwarded only after the handler
 * imported it.
 *
 * Admission (docs/NETWORK.md, "Penalty policy"): a block is never charged for its rate. At most
 * `maxBlocksInFlight` blocks are validated at once; a block beyond that is dropped (`NET_BUSY`,
 * ignore, no points) and comes back through sync as the missing parent of a later one. A
 * transaction over its peer's token bucket is dropped unread (`NET_THROTTLED`, no points); only a
 * peer beyond `floodFactor` times the bucket is charged, per message (`NET_FLOOD`).
 */
export class GossipTopics {
  readonly counters = new VerdictCounters();
  private readonly handlers: Record<GossipKind, GossipHandler | undefined> = {
    block: undefined,
    tx: undefined,
  };
  private readonly txThrottle: TokenBuckets;
  private readonly txAbuse: TokenBuckets;
  private blocksInFlight = 0;
  private started = false;

  constructor(
    private readonly opts: GossipOptions,
    private readonly deps: GossipDeps,
  ) {
    const clock = deps.clock ?? systemClock;
    const { txBurst, txsPerSecond, floodFactor } = opts.rate;
    this.txThrottle = new TokenBuckets({ burst: txBurst, perSecond: txsPerSecond }, clock);
    this.txAbuse = new TokenBuckets(
      { burst: txBurst * floodFactor, perSecond: txsPerSecond * floodFactor },
      clock,
    );
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
    const outcome = kind === "tx" ? await this.admitTx(peerId, data) : await this.admitBlock(peerId, data);
    const verdict = gossipVerdict(outcome, {
      peerId,
      kind,
      data,
      reputation: this.deps.reputation,
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

  /** Every transaction draws on both buckets, so a throttled flood still counts towards abuse. */
  private async admitTx(peerId: string, data: Uint8Array): Promise<GossipOutcome> {
    if (!this.txAbuse.take(peerId)) {
      const why = `tx rate above ${this.opts.rate.floodFactor} times the throttle`;
      return { error: new NetworkError(NetworkErrorCode.FLOOD, why, "ignore") };
    }
    if (!this.txThrottle.take(peerId)) {
      // Not looked at: the message may be fine; an honest relay of a busy network gets here.
      return { error: new NetworkError(NetworkErrorCode.THROTTLED, "tx rate exceeded", "ignore") };
    }
    return this.run("tx", peerId, data);
  }

  private async admitBlock(peerId: string, data: Uint8Array): Promise<GossipOutcome> {
    if (this.blocksInFlight >= this.opts.rate.maxBlocksInFlight) {
      const why = `${this.blocksInFlight} blocks waiting for validation`;
      return { error: new NetworkError(NetworkErrorCode.BUSY, why, "ignore") };
    }
    this.blocksInFlight++;
    try {
      return await this.run("block", peerId, data);
    } finally {
      this.blocksInFlight--;
    }
  }

  private async run(kind: GossipKind, peerId: string, data: Uint8Array): Promise<GossipOutcome> {
    if (data.length > this.opts.maxMessageBytes) {
      return {
        error: new NetworkError(NetworkErrorCode.OVERSIZED, `${kind} message of ${data.length} bytes`),
      };
    }
    const handler = this.handlers[kind];
    if (!handler) return { ok: { result: "ignore", code: "NO_HANDLER" } };
    try {
      return { ok: await handler(data, peerId) };
    } catch (error) {
      return { error };
    }
  }
}
