import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { EventHub, type EventHubOptions } from "../../../src/api/event-hub.js";
import { ApiServer } from "../../../src/api/server.js";
import { SseClient } from "../../helpers/sse-client.js";
import { tempDir } from "../../helpers/temp-dir.js";
import { waitFor } from "../../helpers/wait.js";

/**
 * The event stream's rules on the real HTTP server (ApiServer, real sockets on 127.0.0.1), with
 * the hub's own `publish` as the producer: the bounds here need more events than a node makes in
 * a test (test/integration/events.test.ts covers the node's emitters).
 */
let dir: ReturnType<typeof tempDir> | undefined;
let server: ApiServer | undefined;
const clients: SseClient[] = [];
const sockets: Socket[] = [];

async function serve(opts: Partial<EventHubOptions> = {}): Promise<{ hub: EventHub; url: string }> {
  dir = tempDir();
  const hub = new EventHub(opts);
  server = new ApiServer({ host: "127.0.0.1", port: 0, datadir: dir.path }, { methods: {}, events: hub });
  await server.start();
  return { hub, url: server.url };
}

async function open(url: string, query = "", headers: Record<string, string> = {}): Promise<SseClient> {
  const client = await SseClient.open(url, query, headers);
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of sockets.splice(0)) s.destroy();
  await server?.stop();
  server = undefined;
  dir?.cleanup();
});

const ids = (client: SseClient) => client.events.filter((e) => e.id !== undefined).map((e) => e.id);

describe("GET /events on the API server", () => {
  it("EVENTS_SLOW_CONSUMER: a socket that never reads is dropped with a reason; its queue stays bounded and a reading subscriber gets every event", async () => {
    const maxQueueBytes = 64 * 1024;
    const { hub, url } = await serve({ maxQueueEvents: 10_000, maxQueueBytes, dropGraceMs: 60_000 });
    const reader = await open(url);
    // the slow consumer: sends its request, then never reads a byte
    const slow = connect(Number(new URL(url).port), "127.0.0.1");
    sockets.push(slow);
    slow.pause();
    slow.write("GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    await waitFor(() => hub.subscriberCount === 2 || undefined, 10_000, "both subscribers registered");

    // ~1 KiB events in rounds; each round waits for the reading subscriber, so only the slow one
    // falls behind. The kernel takes a few MiB for a socket that is not read before the node's
    // own queue grows, so this runs until the drop (bounded by the round count).
    const filler = "x".repeat(1000);
    let maxQueued = 0;
    let published = 0;
    for (let round = 0; round < 400 && hub.droppedCounts()[0]!.count === 0; round++) {
      for (let i = 0; i < 100; i++) {
        hub.publish("tx", { filler, n: published++ });
        maxQueued = Math.max(maxQueued, hub.queuedBytes);
      }
      const last = hub.lastId;
      await reader.until((events) => events.some((e) => e.id === last), `the reader to get event ${last}`);
    }
    expect(hub.droppedCounts()).toEqual([{ reason: "slow-consumer", count: 1 }]);
    // bounded: each subscriber's queue at most the bound (the frame that would pass it drops
    // instead), so the hub's total for these two at most twice it
    expect(maxQueued).toBeLessThanOrEqual(2 * maxQueueBytes);
    expect(hub.queuedBytes).toBe(0);
    expect(hub.subscriberCount).toBe(1);

    // the reader is unaffected: every id, in order, no gap or drop
    hub.publish("tip", { height: 1 });
    await reader.until((events) => events.some((e) => e.event === "tip"), "the tip after the drop");
    expect(ids(reader)).toEqual(Array.from({ length: published + 1 }, (_, i) => i + 1));
    expect(reader.of("dropped")).toEqual([]);

    // the slow consumer, reading at last, finds the reason as the stream's last frame, then its end
    let received = "";
    slow.setEncoding("utf8");
    slow.on("data", (chunk: string) => {
      received += chunk;
    });
    slow.resume();
    await waitFor(() => received.endsWith("0\r\n\r\n") || undefined, 30_000, "the slow stream's end");
    const frames = received.split("\n\n");
    const dropped = frames.find((f) => f.includes("event: dropped"));
    expect(dropped).toBeDefined();
    const data = JSON.parse(dropped!.split("data: ")[1]!.split("\r\n")[0]!) as Record<string, unknown>;
    expect(data.reason).toBe("slow-consumer");
    expect(data.maxQueueBytes).toBe(maxQueueBytes);
    expect(Number(data.queuedBytes)).toBeLessThanOrEqual(maxQueueBytes);
  }, 120_000);

  it("EVENTS_TOO_MANY_SUBSCRIBERS: one subscriber past the cap is answered 503; a freed place is taken again", async () => {
    const { hub, url } = await serve({ maxSubscribers: 2 });
    const a = await open(url);
    await open(url);
    const third = await open(url);
    expect(third.status).toBe(503);
    expect(third.refusal?.error).toMatch(/too many event subscribers/);
    a.close();
    await waitFor(() => hub.subscriberCount === 1 || undefined, 10_000, "the closed subscriber gone");
    expect((await open(url)).status).toBe(200);
  });

  it("EVENTS_BAD_REQUEST: unknown topics, empty topics, unknown parameters and malformed cursors are 400; a foreign Host 403", async () => {
    const { hub, url } = await serve();
    const unknown = await open(url, "?topics=tip,blocks");
    expect(unknown.status).toBe(400);
    expect(unknown.refusal?.error).toContain("unknown event topic 'blocks'");
    expect(unknown.refusal?.data).toEqual({ topic: "blocks" });
    expect((await open(url, "?topics=tip,,peer")).status).toBe(400);
    expect((await open(url, "?topics=")).status).toBe(400);
    expect((await open(url, "?topic=tip")).refusal?.error).toContain("unknown query parameter 'topic'");
    expect((await open(url, "?since=-1")).status).toBe(400);
    expect((await open(url, "?since=1e3")).status).toBe(400);
    expect((await open(url, "", { "last-event-id": "abc" })).status).toBe(400);
    // the same access rule as every read: a Host the node does not answer is 403
    const rebound = await open(url, "", { host: "rebind.example" });
    expect(rebound.status).toBe(403);
    expect(hub.subscriberCount).toBe(0);
    const post = await fetch(`${url}/events`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET");
  });

  it("EVENTS_GAP: a cursor older than the ring gets a gap naming the first id kept, then the kept events", async () => {
    const { hub, url } = await serve({ ringEvents: 5 });
    for (let i = 1; i <= 12; i++) hub.publish("tip", { height: i });
    const client = await open(url, "?since=3");
    const gap = await client.until((events) => events.find((e) => e.event === "gap"), "the gap");
    expect(gap.data).toEqual({ reason: "evicted", lastEventId: 3, firstAvailableId: 8, latestId: 12 });
    expect(gap.id).toBeUndefined();
    await client.until((events) => events.some((e) => e.id === 12), "the replay up to 12");
    expect(ids(client)).toEqual([8, 9, 10, 11, 12]);
    // a cursor this process never issued (the node restarted): said so as well
    const future = await open(url, "", { "last-event-id": "99" });
    const unknown = await future.until((events) => events.find((e) => e.event === "gap"), "the gap");
    expect(unknown.data).toEqual({
      reason: "unknown-cursor",
      lastEventId: 99,
      firstAvailableId: 8,
      latestId: 12,
    });
  });

  it("EVENTS_HEARTBEAT: an idle stream gets comment lines", async () => {
    const { url } = await serve({ heartbeatMs: 50 });
    const client = await open(url);
    await client.until(() => client.comments >= 2 || undefined, "two heartbeats");
    expect(client.events).toEqual([]);
  });

  it("EVENTS_SHUTDOWN: stopping the server ends each stream with a shutdown frame", async () => {
    const { url } = await serve();
    const client = await open(url);
    await server!.stop();
    server = undefined;
    await client.untilClosed("the stream to close");
    expect(client.ended).toBe(true);
    expect(client.of("shutdown")).toHaveLength(1);
  });
});
