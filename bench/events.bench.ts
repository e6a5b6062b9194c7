import { readFileSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { REGTEST } from "../src/consensus/params.js";
import { createNode, type QuarryNode } from "../src/node.js";
import { resolveNodeOptions } from "../src/options.js";
import { type Block, blockEnvelope } from "../src/primitives/block.js";
import { encodeAddress } from "../src/primitives/index.js";
import { silentLogger } from "../src/util/logger.js";
import { ChainBuilder, testKey } from "../test/helpers/chain-builder.js";
import { tempDir } from "../test/helpers/temp-dir.js";
import { waitFor } from "../test/helpers/wait.js";
import type { SubscriberCommand, SubscriberReply } from "./events-subscribers.js";
import type { BenchResult, BenchSuite } from "./harness.js";

/** Blocks timed for the one-subscriber latency rows. */
const LATENCY_BLOCKS = Number(process.env.QUARRY_BENCH_EVENTS_BLOCKS ?? 300);
/** Subscriber counts tried, and the blocks timed at each. */
const STEPS = (process.env.QUARRY_BENCH_EVENTS_STEPS ?? "10,100,500,1000,2000,4000").split(",").map(Number);
const STEP_BLOCKS = 30;
const P95_BOUND_MS = 100;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** The subscriber thread, driven by request/reply messages. */
class Subscribers {
  private readonly worker = new Worker(new URL("./events-subscribers.js", import.meta.url));
  private readonly tips = new Map<string, number[]>();
  private waiting: ((reply: SubscriberReply) => void) | undefined;

  constructor() {
    this.worker.on("message", (reply: SubscriberReply) => {
      if (reply.type === "tip") this.tips.set(reply.hash, reply.arrivals);
      else this.waiting?.(reply);
    });
  }

  ask(command: SubscriberCommand): Promise<SubscriberReply> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.worker.postMessage(command);
    });
  }

  /** Arrival times of `hash` at every subscriber, once all have it. */
  arrivals(hash: string): Promise<number[]> {
    return waitFor(() => this.tips.get(hash), 60_000, `tip ${hash.slice(0, 12)} at every subscriber`, {
      intervalMs: 1,
    });
  }

  stop(): Promise<number> {
    return this.worker.terminate();
  }
}

/**
 * Feeds `blocks` one at a time into the node's chain and returns, per block and subscriber, the
 * milliseconds from the chain's blockConnected (wall clock, on the node's thread) to the frame's
 * arrival at the subscriber (wall clock, on the subscriber thread).
 */
async function timeBlocks(node: QuarryNode, subs: Subscribers, blocks: readonly Block[]): Promise<number[]> {
  const connectedAt = new Map<string, number>();
  const onConnected = ({ hash }: { hash: string }) =>
    connectedAt.set(hash, performance.timeOrigin + performance.now());
  node.chain.on("blockConnected", onConnected);
  const latencies: number[] = [];
  try {
    for (const block of blocks) {
      const envelope = blockEnvelope(block);
      await node.chain.processBlock(envelope);
      const t0 = connectedAt.get(envelope.hashHex);
      if (t0 === undefined) throw new Error("block did not connect");
      for (const t of await subs.arrivals(envelope.hashHex)) latencies.push(t - t0);
    }
  } finally {
    node.chain.off("blockConnected", onConnected);
  }
  return latencies.sort((a, b) => a - b);
}

/** Blocks timed for the getBlockTemplate long-poll rows. */
const LONGPOLL_BLOCKS = Number(process.env.QUARRY_BENCH_LONGPOLL_BLOCKS ?? 100);

/**
 * getBlockTemplate long polls as an external miner makes them (JSON-RPC over HTTP with the
 * cookie token): per block, ask for a template, hold a long poll on its id, connect the block,
 * and time from the chain's blockConnected to the new template's arrival at the caller.
 */
async function longPollLatencies(node: QuarryNode, blocks: readonly Block[]): Promise<number[]> {
  const token = readFileSync(join(node.options.datadir, "api.cookie"), "utf8").trim();
  const address = encodeAddress(REGTEST.addressPrefix, testKey(1).address);
  const call = async (params: Record<string, unknown>) => {
    const res = await fetch(`${node.api.url}/rpc`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "getBlockTemplate", params }),
    });
    const body = (await res.json()) as { result?: { longpollid: string }; error?: unknown };
    if (!body.result) throw new Error(`getBlockTemplate failed: ${JSON.stringify(body.error)}`);
    return { result: body.result, at: performance.now() };
  };
  const latencies: number[] = [];
  for (const block of blocks) {
    const { result } = await call({ address });
    const polled = call({ address, longpollid: result.longpollid, maxWait: 60 });
    await waitFor(() => node.templates.waiting > 0, 10_000, "the long poll to be waiting", { intervalMs: 1 });
    const envelope = blockEnvelope(block);
    let connectedAt = 0;
    const onConnected = () => {
      connectedAt = performance.now();
    };
    node.chain.once("blockConnected", onConnected);
    await node.chain.processBlock(envelope);
    const answer = await polled;
    if (answer.result.longpollid === result.longpollid)
      throw new Error("long poll answered without a change");
    latencies.push(answer.at - connectedAt);
  }
  return latencies.sort((a, b) => a - b);
}

/**
 * The machine's floor for the latency rows: a bare node:http server on this thread writing one
 * tip-shaped frame to a subscriber on the worker thread, time from the write to its arrival.
 */
async function bareLatencies(subs: Subscribers, frames: number): Promise<number[]> {
  const open: ServerResponse[] = [];
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.flushHeaders();
    open.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await subs.ask({ type: "open", url, count: 1 });
    const latencies: number[] = [];
    for (let i = 0; i < frames; i++) {
      const hash = i.toString(16).padStart(64, "0");
      const t0 = performance.timeOrigin + performance.now();
      for (const res of open) res.write(`id: ${i}\nevent: tip\ndata: {"hash":"${hash}"}\n\n`);
      for (const t of await subs.arrivals(hash)) latencies.push(t - t0);
    }
    await subs.ask({ type: "close" });
    return latencies.sort((a, b) => a - b);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export const eventsSuite: BenchSuite = {
  name: "events",
  async run(): Promise<BenchResult[]> {
    const dir = tempDir("quarry-bench-events-");
    const builder = ChainBuilder.create(REGTEST);
    const blocks = await builder.mineMany(LATENCY_BLOCKS + LONGPOLL_BLOCKS + STEPS.length * STEP_BLOCKS);
    const options = resolveNodeOptions(
      { network: "regtest", datadir: dir.path, p2pHost: "127.0.0.1", p2pPort: 0, apiPort: 0 },
      {},
    );
    const maxSubscribers = Math.max(...STEPS);
    const node = await createNode(options, { log: silentLogger, eventOptions: { maxSubscribers } });
    await node.start();
    const subs = new Subscribers();
    const results: BenchResult[] = [];
    try {
      await subs.ask({ type: "open", url: node.api.url, count: 1 });
      const one = await timeBlocks(node, subs, blocks.slice(0, LATENCY_BLOCKS));
      await subs.ask({ type: "close" });
      const note = `block connected → SSE frame received, 1 subscriber, ${one.length} blocks`;
      results.push(
        {
          name: "event latency p50",
          value: percentile(one, 50),
          unit: "ms",
          target: 10,
          lowerIsBetter: true,
          note,
        },
        {
          name: "event latency p95",
          value: percentile(one, 95),
          unit: "ms",
          target: P95_BOUND_MS,
          lowerIsBetter: true,
          note,
        },
      );

      const bare = await bareLatencies(subs, LATENCY_BLOCKS);
      const bareNote = "machine floor: bare node:http write → frame received on the subscriber thread";
      results.push(
        {
          name: "bare HTTP frame p50",
          value: percentile(bare, 50),
          unit: "ms",
          note: bareNote,
          limitFor: { suite: "events", rowPrefix: "event latency p50" },
        },
        {
          name: "bare HTTP frame p95",
          value: percentile(bare, 95),
          unit: "ms",
          note: bareNote,
          limitFor: { suite: "events", rowPrefix: "event latency p95" },
        },
      );

      const polls = await longPollLatencies(
        node,
        blocks.slice(LATENCY_BLOCKS, LATENCY_BLOCKS + LONGPOLL_BLOCKS),
      );
      const pollNote = `block connected → new template received by a waiting getBlockTemplate long poll (HTTP, token), ${polls.length} blocks`;
      results.push(
        {
          name: "getBlockTemplate long poll p50",
          value: percentile(polls, 50),
          unit: "ms",
          lowerIsBetter: true,
          note: pollNote,
        },
        {
          name: "getBlockTemplate long poll p95",
          value: percentile(polls, 95),
          unit: "ms",
          lowerIsBetter: true,
          note: pollNote,
        },
      );

      let served = 0;
      let offset = LATENCY_BLOCKS + LONGPOLL_BLOCKS;
      const steps: string[] = [];
      for (const count of STEPS) {
        const opened = await subs.ask({ type: "open", url: node.api.url, count });
        if (opened.type !== "opened" || opened.ok !== count) {
          steps.push(`${count}: only ${opened.type === "opened" ? opened.ok : 0} opened`);
          await subs.ask({ type: "close" });
          break;
        }
        const latencies = await timeBlocks(node, subs, blocks.slice(offset, offset + STEP_BLOCKS));
        offset += STEP_BLOCKS;
        await subs.ask({ type: "close" });
        await waitFor(() => node.events.subscriberCount === 0, 30_000, "subscribers gone");
        const p95 = percentile(latencies, 95);
        steps.push(`${count}: p50 ${percentile(latencies, 50).toFixed(1)} / p95 ${p95.toFixed(1)} ms`);
        if (p95 >= P95_BOUND_MS) break;
        served = count;
      }
      results.push({
        name: `concurrent subscribers with p95 < ${P95_BOUND_MS} ms`,
        value: served,
        unit: "subscribers",
        target: 1000,
        note: `steps tried (${STEP_BLOCKS} blocks each): ${steps.join("; ")}`,
      });
      return results;
    } finally {
      await subs.stop();
      await node.stop();
      dir.cleanup();
    }
  },
};
