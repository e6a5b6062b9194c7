import { type ChildProcess, spawn } from "node:child_process";
import type { TestbedHost } from "./netns.js";

/** What a `tip` event carries that the agent keeps. */
export interface TipSeen {
  height: number;
  /** ms since the epoch, taken by the testbed process when the event arrived */
  atMs: number;
}

/**
 * Records when each block first became a node's tip, from the node's own `GET /events?topics=tip`
 * stream (docs/API.md, "Events"): one event per block connected to the main chain, pushed the
 * moment it connects, so the time is the node's connect time plus a pipe's delay (the same for
 * every node) rather than a polling interval. The stream is read through curl inside the host's
 * namespace (the API listens on the namespace's 127.0.0.1). All namespaces share the machine's
 * clock, so times from different nodes compare directly.
 *
 * If the stream ends (the node restarted, curl died) the agent reconnects with `Last-Event-ID`, so
 * events kept by the node (the last 4096) are replayed rather than lost; after a restart ids begin
 * again at 1, and the node sends a `gap` frame, after which the agent just takes live events.
 */
export class TipAgent {
  /** block hash -> first time it became this node's tip */
  readonly seen = new Map<string, TipSeen>();
  private child: ChildProcess | undefined;
  private lastId: string | undefined;
  private stopped = false;
  private buffer = "";
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: TestbedHost,
    private readonly apiPort: number,
  ) {}

  start(): void {
    if (this.stopped || this.child) return;
    const headers = this.lastId === undefined ? [] : ["-H", `Last-Event-ID: ${this.lastId}`];
    const child = spawn(
      "ip",
      [
        "netns",
        "exec",
        this.host.ns,
        "curl",
        "-sN",
        ...headers,
        `http://127.0.0.1:${this.apiPort}/events?topics=tip`,
      ],
      { stdio: ["ignore", "pipe", "ignore"] },
    );
    this.child = child;
    this.buffer = "";
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => this.feed(chunk));
    // a spawn failure (no `ip` or `curl`: the testbed checks for both before it starts) must not
    // crash the run as an unhandled 'error' event; the node's blocks then count as not delivered
    child.once("error", () => {
      if (this.child === child) this.child = undefined;
    });
    child.once("exit", () => {
      if (this.child === child) this.child = undefined;
      // the node is restarting or not up yet: try again shortly (bounded by stop())
      if (!this.stopped) this.retry = setTimeout(() => this.start(), 500);
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.child?.kill("SIGKILL");
    this.child = undefined;
  }

  /** SSE frames are separated by a blank line; we take `id:` and the `data:` of `tip` events. */
  private feed(chunk: string): void {
    const atMs = Date.now();
    this.buffer += chunk;
    for (;;) {
      const end = this.buffer.indexOf("\n\n");
      if (end < 0) return;
      const frame = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = "message";
      let data = "";
      let id: string | undefined;
      for (const line of frame.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data = line.slice(6);
        else if (line.startsWith("id: ")) id = line.slice(4);
      }
      if (id !== undefined) this.lastId = id;
      if (event === "gap") this.lastId = undefined;
      if (event !== "tip" || data === "") continue;
      const tip = JSON.parse(data) as { height: number; hash: string };
      if (!this.seen.has(tip.hash)) this.seen.set(tip.hash, { height: tip.height, atMs });
    }
  }
}
