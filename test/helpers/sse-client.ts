import { type ClientRequest, type IncomingMessage, request } from "node:http";
import { waitFor } from "./wait.js";

/** One parsed Server-Sent Events frame. */
export interface SseEvent {
  /** the `id:` field, when the frame had one */
  id?: number;
  event: string;
  data: unknown;
  /** performance.now() when the frame was parsed */
  receivedAt: number;
}

/**
 * A GET /events subscriber over plain node:http that parses the SSE stream (`id:`, `event:`,
 * `data:`, comments) into `events`, as a browser's EventSource would, without reconnecting.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  status = 0;
  /** the JSON body of a refused subscription (400, 503) */
  refusal: { error: string; data?: Record<string, unknown> } | undefined;
  /** true once the response ended cleanly (the server finished it) */
  ended = false;
  /** true once the connection closed, cleanly or not */
  closed = false;
  comments = 0;
  private buffer = "";
  private req: ClientRequest | undefined;
  private res: IncomingMessage | undefined;
  private listeners: (() => void)[] = [];

  private constructor() {}

  /** Opens `/events<query>` and resolves once the status line and headers arrived. */
  static async open(baseUrl: string, query = "", headers: Record<string, string> = {}): Promise<SseClient> {
    const client = new SseClient();
    await new Promise<void>((resolve, reject) => {
      const req = request(`${baseUrl}/events${query}`, { headers, agent: false }, (res) => {
        client.res = res;
        client.status = res.statusCode ?? 0;
        res.setEncoding("utf8");
        if (client.status !== 200) {
          let body = "";
          res.on("data", (chunk: string) => {
            body += chunk;
          });
          res.on("end", () => {
            client.refusal = JSON.parse(body) as SseClient["refusal"];
            client.ended = true;
            client.closed = true;
            resolve();
          });
          return;
        }
        res.on("data", (chunk: string) => client.feed(chunk));
        res.on("end", () => {
          client.ended = true;
          client.notify();
        });
        res.on("close", () => {
          client.closed = true;
          client.notify();
        });
        resolve();
      });
      req.on("error", (err) => {
        client.closed = true;
        client.notify();
        reject(err);
      });
      req.end();
      client.req = req;
    });
    return client;
  }

  /** The events of one SSE type (`tip`, `gap`, …). */
  of(event: string): SseEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  /** Waits (bounded) until `check` over the events so far returns a value. */
  until<T>(
    check: (events: SseEvent[]) => T | undefined | false,
    what: string,
    timeoutMs = 20_000,
  ): Promise<T> {
    return waitFor(() => check(this.events), timeoutMs, what, {
      wakeOn: (wake) => {
        this.listeners.push(wake);
        return () => {
          this.listeners = this.listeners.filter((l) => l !== wake);
        };
      },
    });
  }

  /** Resolves when the connection has closed. */
  untilClosed(what: string, timeoutMs = 20_000): Promise<true> {
    return this.until(() => this.closed || undefined, what, timeoutMs);
  }

  close(): void {
    this.res?.destroy();
    this.req?.destroy();
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    for (let end = this.buffer.indexOf("\n\n"); end >= 0; end = this.buffer.indexOf("\n\n")) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      this.parse(block);
    }
    this.notify();
  }

  private parse(block: string): void {
    let id: number | undefined;
    let event = "message";
    let data: string | undefined;
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) {
        this.comments++;
        continue;
      }
      const colon = line.indexOf(": ");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 2);
      if (field === "id") id = Number(value);
      else if (field === "event") event = value;
      else if (field === "data") data = value;
    }
    if (data === undefined) return; // retry: or a comment
    this.events.push({
      ...(id === undefined ? {} : { id }),
      event,
      data: JSON.parse(data),
      receivedAt: performance.now(),
    });
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }
}
