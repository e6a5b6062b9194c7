import type { IncomingMessage, ServerResponse } from "node:http";
import { type DropReason, SseSubscriber, type SubscriberLimits, sseFrame } from "./event-stream.js";
import { HttpError } from "./request-guards.js";

/** The topics of `GET /events` (docs/API.md, "Events"). */
export const EVENT_TOPICS = ["tip", "reorg", "tx", "peer", "halt"] as const;
export type EventTopic = (typeof EVENT_TOPICS)[number];

export interface EventHubOptions extends SubscriberLimits {
  /** recent events kept for resuming with Last-Event-ID / `since` (count) */
  ringEvents: number;
  /** ... and their bytes; the oldest go first when either bound is passed */
  ringBytes: number;
  /** concurrent subscribers; one more is answered 503 */
  maxSubscribers: number;
  /** a comment line to every subscriber this often, so proxies keep idle streams open */
  heartbeatMs: number;
}

export const DEFAULT_EVENT_HUB_OPTIONS: EventHubOptions = {
  ringEvents: 4096,
  ringBytes: 4 * 1024 * 1024,
  maxSubscribers: 1000,
  maxQueueEvents: 4096,
  maxQueueBytes: 1024 * 1024,
  dropGraceMs: 10_000,
  heartbeatMs: 15_000,
};

/** How long a browser's EventSource waits before reconnecting (the `retry:` field). */
const RETRY_MS = 2_000;
const CURSOR_RE = /^\d{1,15}$/;
const QUERY_NAMES = new Set(["topics", "since"]);

interface RetainedEvent {
  id: number;
  topic: EventTopic;
  frame: string;
  bytes: number;
}

/**
 * The node's live event stream, served as Server-Sent Events at `GET /events`. The composition
 * root publishes what the services emit (`publish(topic, data)`); each event gets the next id of a
 * sequence that starts at 1 with the process, is serialised once, kept in a bounded ring of recent
 * events for resuming, and written to every subscriber whose topic filter matches.
 *
 * A subscriber resumes with `Last-Event-ID` (or `?since=`): the events after that id are replayed
 * from the ring first. A cursor older than the ring, or one this process never issued (the node
 * restarted), gets an explicit `event: gap` naming the first id still available before the
 * replay, never a silent skip.
 */
export class EventHub {
  private readonly opts: EventHubOptions;
  private readonly subscribers = new Set<SseSubscriber>();
  private ring: RetainedEvent[] = [];
  private ringStart = 0;
  private ringBytesNow = 0;
  private lastIdNow = 0;
  private readonly dropped = new Map<DropReason, number>();
  private heartbeat: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(opts: Partial<EventHubOptions> = {}) {
    this.opts = { ...DEFAULT_EVENT_HUB_OPTIONS, ...opts };
    this.dropped.set("slow-consumer", 0);
  }

  /** The id of the newest event published (0 before the first). */
  get lastId(): number {
    return this.lastIdNow;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Bytes waiting in all subscribers' queues (bounded by maxQueueBytes each). */
  get queuedBytes(): number {
    let total = 0;
    for (const s of this.subscribers) total += s.queuedBytes;
    return total;
  }

  /** Subscribers closed by the server, by reason, since start. */
  droppedCounts(): { reason: DropReason; count: number }[] {
    return [...this.dropped].map(([reason, count]) => ({ reason, count }));
  }

  /** Numbers the event, keeps it for resuming and writes it to every matching subscriber. */
  publish(topic: EventTopic, data: unknown): number {
    const id = ++this.lastIdNow;
    const frame = sseFrame(topic, data, id);
    const event = { id, topic, frame, bytes: Buffer.byteLength(frame) };
    this.retain(event);
    for (const s of this.subscribers) if (s.wants(topic)) s.send(frame, event.bytes);
    return id;
  }

  /**
   * Serves `GET /events`: checks the filter, cursor and cap (an HttpError for 400 or 503),
   * then writes the stream headers, any replay, and keeps the response open.
   */
  subscribe(req: IncomingMessage, res: ServerResponse, query: Record<string, string>): void {
    for (const name of Object.keys(query)) {
      if (!QUERY_NAMES.has(name)) throw new HttpError(400, `unknown query parameter '${name.slice(0, 64)}'`);
    }
    const topics = parseTopics(query.topics);
    const header = req.headers["last-event-id"];
    const cursor = parseCursor(typeof header === "string" && header !== "" ? header : query.since);
    if (this.stopped) throw new HttpError(503, "the node is stopping");
    if (this.subscribers.size >= this.opts.maxSubscribers) {
      res.setHeader("retry-after", "5");
      throw new HttpError(503, `too many event subscribers (at most ${this.opts.maxSubscribers})`);
    }
    const subscriber: SseSubscriber = new SseSubscriber(topics, res, this.opts, (reason) => {
      this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
      this.subscribers.delete(subscriber);
    });
    this.subscribers.add(subscriber);
    res.on("close", () => this.subscribers.delete(subscriber));
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      // nginx buffers proxied responses unless told not to
      "x-accel-buffering": "no",
    });
    res.write(`retry: ${RETRY_MS}\n\n`);
    if (cursor !== undefined) this.replay(subscriber, cursor);
    this.startHeartbeat();
  }

  /** Accepts subscribers again after `close` (a server started again). */
  open(): void {
    this.stopped = false;
  }

  /** Ends every stream with `event: shutdown` and refuses new ones until `open`. */
  close(): void {
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    const frame = sseFrame("shutdown", { reason: "the node is stopping" });
    for (const s of this.subscribers) s.end(frame);
    this.subscribers.clear();
  }

  private replay(subscriber: SseSubscriber, cursor: number): void {
    const first = this.ring[this.ringStart];
    const firstAvailableId = first?.id ?? this.lastIdNow + 1;
    const reason =
      cursor > this.lastIdNow ? "unknown-cursor" : cursor < firstAvailableId - 1 ? "evicted" : undefined;
    if (reason !== undefined) {
      const gap = { reason, lastEventId: cursor, firstAvailableId, latestId: this.lastIdNow };
      const frame = sseFrame("gap", gap);
      subscriber.send(frame, Buffer.byteLength(frame));
    }
    const from = reason === undefined ? cursor + 1 - firstAvailableId : 0;
    for (let i = this.ringStart + from; i < this.ring.length; i++) {
      const event = this.ring[i]!;
      if (subscriber.wants(event.topic)) subscriber.send(event.frame, event.bytes);
    }
  }

  private retain(event: RetainedEvent): void {
    this.ring.push(event);
    this.ringBytesNow += event.bytes;
    while (
      this.ring.length - this.ringStart > this.opts.ringEvents ||
      (this.ringBytesNow > this.opts.ringBytes && this.ring.length - this.ringStart > 1)
    ) {
      this.ringBytesNow -= this.ring[this.ringStart]!.bytes;
      this.ringStart++;
    }
    // compact once the evicted prefix is as long as what is kept
    if (this.ringStart > 1024 && this.ringStart * 2 > this.ring.length) {
      this.ring = this.ring.slice(this.ringStart);
      this.ringStart = 0;
    }
  }

  private startHeartbeat(): void {
    if (this.heartbeat) return;
    this.heartbeat = setInterval(() => {
      for (const s of this.subscribers) s.send(": keep-alive\n\n", 14);
    }, this.opts.heartbeatMs);
    this.heartbeat.unref();
  }
}

/** `topics=tip,reorg`: every name known, none empty; absent means all. */
function parseTopics(value: string | undefined): ReadonlySet<EventTopic> | undefined {
  if (value === undefined) return undefined;
  const known: readonly string[] = EVENT_TOPICS;
  const topics = new Set<EventTopic>();
  for (const raw of value.split(",")) {
    const name = raw.trim();
    if (!known.includes(name)) {
      throw new HttpError(
        400,
        name === ""
          ? "empty event topic in 'topics'"
          : `unknown event topic '${name.slice(0, 64)}' (topics: ${EVENT_TOPICS.join(", ")})`,
        { topic: name.slice(0, 64) },
      );
    }
    topics.add(name as EventTopic);
  }
  return topics;
}

/** An event id: a decimal integer (the last one the client has). */
function parseCursor(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!CURSOR_RE.test(value))
    throw new HttpError(400, "Last-Event-ID / since must be an event id (a decimal integer)");
  return Number(value);
}
