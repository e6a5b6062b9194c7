import { type ClientRequest, request } from "node:http";
import { parentPort } from "node:worker_threads";

/**
 * The subscribers of bench/events.bench.ts, on their own thread (and event loop) so that parsing
 * a thousand streams does not run on the node's loop. Each `tip` frame's arrival is stamped with
 * the wall clock (performance.timeOrigin + now, comparable across threads); once every open
 * subscriber has a block, its arrival times go back to the main thread.
 */

export type SubscriberCommand = { type: "open"; url: string; count: number } | { type: "close" };
export type SubscriberReply =
  | { type: "opened"; ok: number; refused: number }
  | { type: "tip"; hash: string; arrivals: number[] }
  | { type: "closed" };

const port = parentPort;
if (!port) throw new Error("events-subscribers runs as a worker thread");

let requests: ClientRequest[] = [];
let open = 0;
const arrivals = new Map<string, number[]>();
const send = (reply: SubscriberReply) => port.postMessage(reply);
const wallNow = () => performance.timeOrigin + performance.now();

function subscribe(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${url}/events?topics=tip`, { agent: false }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        resolve(false);
        return;
      }
      res.setEncoding("utf8");
      let buffer = "";
      res.on("data", (chunk: string) => {
        const at = wallNow();
        buffer += chunk;
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame.indexOf("\ndata: ");
          if (!frame.includes("event: tip") || data < 0) continue;
          const { hash } = JSON.parse(frame.slice(data + 7)) as { hash: string };
          const times = arrivals.get(hash) ?? [];
          times.push(at);
          arrivals.set(hash, times);
          if (times.length === open) {
            arrivals.delete(hash);
            send({ type: "tip", hash, arrivals: times });
          }
        }
      });
      resolve(true);
    });
    req.on("error", () => resolve(false));
    req.end();
    requests.push(req);
  });
}

port.on("message", async (command: SubscriberCommand) => {
  if (command.type === "open") {
    const results = [];
    // in slices, so the listen backlog is not flooded
    for (let i = 0; i < command.count; i += 50) {
      const slice = Math.min(50, command.count - i);
      results.push(...(await Promise.all(Array.from({ length: slice }, () => subscribe(command.url)))));
    }
    open = results.filter(Boolean).length;
    send({ type: "opened", ok: open, refused: results.length - open });
  } else {
    for (const req of requests) req.destroy();
    requests = [];
    open = 0;
    arrivals.clear();
    send({ type: "closed" });
  }
});
