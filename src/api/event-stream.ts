import type { ServerResponse } from "node:http";

/** How much one subscriber may have waiting while its socket does not take more. */
export interface SubscriberLimits {
  /** frames waiting beyond what the socket accepted */
  maxQueueEvents: number;
  /** bytes of those frames */
  maxQueueBytes: number;
  /**
   * After a drop or a shutdown the final frame is written and the response ended; a client that
   * still reads nothing keeps the socket this long before it is destroyed.
   */
  dropGraceMs: number;
}

/** Why a subscriber was closed by the server (the `reason` label of quarry_events_dropped_total). */
export type DropReason = "slow-consumer";

/** One SSE frame: `id:` (omitted for control frames), `event:`, one `data:` line of JSON. */
export function sseFrame(event: string, data: unknown, id?: number): string {
  const head = id === undefined ? "" : `id: ${id}\n`;
  // JSON.stringify escapes line breaks inside strings, so the data is always one line.
  return `${head}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * One Server-Sent Events response. Frames go straight to the socket while it takes them; once a
 * write reports back-pressure (Node's buffer above its high-water mark), further frames wait in a
 * queue bounded by count and bytes until `drain`. A queue that would pass either bound drops the
 * subscriber: the queue is discarded, a final `event: dropped` frame names the reason, and the
 * response ends, so a client that stopped reading costs the node at most its bound, not unbounded
 * memory.
 */
export class SseSubscriber {
  private queue: string[] = [];
  private queuedBytesNow = 0;
  private blocked = false;
  private finished = false;
  private graceTimer: NodeJS.Timeout | undefined;

  constructor(
    /** the topics it asked for; undefined: all */
    readonly topics: ReadonlySet<string> | undefined,
    private readonly res: ServerResponse,
    private readonly limits: SubscriberLimits,
    private readonly onDrop: (reason: DropReason) => void,
  ) {
    res.on("drain", () => this.flush());
    res.on("close", () => {
      this.finished = true;
      this.queue = [];
      this.queuedBytesNow = 0;
      if (this.graceTimer) clearTimeout(this.graceTimer);
    });
  }

  /** Bytes waiting in this subscriber's queue (not yet handed to the socket). */
  get queuedBytes(): number {
    return this.queuedBytesNow;
  }

  get closed(): boolean {
    return this.finished;
  }

  wants(topic: string): boolean {
    return this.topics === undefined || this.topics.has(topic);
  }

  /** Writes or queues one frame; drops the subscriber if the queue would pass its bounds. */
  send(frame: string, bytes: number): void {
    if (this.finished) return;
    if (!this.blocked) {
      if (!this.res.write(frame)) this.blocked = true;
      return;
    }
    if (
      this.queue.length + 1 > this.limits.maxQueueEvents ||
      this.queuedBytesNow + bytes > this.limits.maxQueueBytes
    ) {
      this.drop("slow-consumer");
      return;
    }
    this.queue.push(frame);
    this.queuedBytesNow += bytes;
  }

  /** Ends the response after `frame` (best effort: a client that does not read may never see it). */
  end(frame: string): void {
    if (this.finished) return;
    this.finished = true;
    this.queue = [];
    this.queuedBytesNow = 0;
    this.res.end(frame);
    if (this.res.writableFinished) return;
    this.graceTimer = setTimeout(() => this.res.destroy(), this.limits.dropGraceMs);
    this.graceTimer.unref();
    this.res.once("finish", () => clearTimeout(this.graceTimer));
  }

  private drop(reason: DropReason): void {
    const detail = {
      reason,
      queuedEvents: this.queue.length,
      queuedBytes: this.queuedBytesNow,
      maxQueueEvents: this.limits.maxQueueEvents,
      maxQueueBytes: this.limits.maxQueueBytes,
    };
    this.onDrop(reason);
    this.end(sseFrame("dropped", detail));
  }

  private flush(): void {
    if (this.finished) return;
    this.blocked = false;
    if (this.queue.length === 0) return;
    const pending = this.queue.join("");
    this.queue = [];
    this.queuedBytesNow = 0;
    if (!this.res.write(pending)) this.blocked = true;
  }
}
