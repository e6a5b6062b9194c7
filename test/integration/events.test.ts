import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QuarryNode } from "../../src/node.js";
import { type Block, blockHash } from "../../src/primitives/block.js";
import { toHex } from "../../src/primitives/bytes.js";
import { encodeTransaction, transactionId } from "../../src/primitives/transaction.js";
import { StoreErrorCode } from "../../src/store/index.js";
import { ChainBuilder, testKey, transfer } from "../helpers/chain-builder.js";
import { Cluster, dialNode, feedBlocks } from "../helpers/multinode-cluster.js";
import { rpcOk } from "../helpers/node-rpc.js";
import { SseClient, type SseEvent } from "../helpers/sse-client.js";
import { waitFor } from "../helpers/wait.js";

const [miner, other] = [testKey(1), testKey(2)];
const hashOf = (b: Block) => toHex(blockHash(b));
const RING = 8;

/**
 * GET /events on a real node (createNode: LevelDB, libp2p on 127.0.0.1, the HTTP API): each topic
 * comes from the service that emits it, filters, resume and gaps work on those events, and the
 * stream ends cleanly when the node stops. One subscriber (`all`) listens from start to end and is
 * the record the others are compared with.
 */
describe("GET /events on a node", () => {
  const cluster = new Cluster();
  let node: QuarryNode;
  let url: string;
  let all: SseClient;
  let filtered: SseClient;
  const clients: SseClient[] = [];
  let builder: ChainBuilder;

  const open = async (query = "", headers: Record<string, string> = {}) => {
    const client = await SseClient.open(url, query, headers);
    clients.push(client);
    return client;
  };
  const idsOf = (events: SseEvent[]) => events.map((e) => e.id);

  beforeAll(async () => {
    node = await cluster.add({ events: { ringEvents: RING, maxSubscribers: 6 } });
    url = node.api.url;
    all = await open();
    filtered = await open("?topics=peer,halt");
    builder = ChainBuilder.create();
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster.stopAll();
  });

  it("EVENTS_TIP_REORG: a tip per connected block, then the reorg with its report", async () => {
    const main = await builder.mineMany(3, { miner: miner.address });
    await feedBlocks(node, main);
    const tips = await all.until((events) => {
      const t = events.filter((e) => e.event === "tip");
      return t.length >= 3 && t;
    }, "three tips");
    expect(tips.map((t) => t.data)).toEqual(
      main.map((b, i) => ({
        height: i + 1,
        hash: hashOf(b),
        prevHash: toHex(b.header.prevHash),
        time: b.header.time,
        bits: `0x${b.header.bits.toString(16).padStart(8, "0")}`,
        txs: 1,
      })),
    );
    expect(idsOf(tips)).toEqual([1, 2, 3]);

    // the fork becomes the main chain: later blocks extend it
    builder = builder.fork(1);
    const fork = await builder.mineMany(3, { miner: other.address });
    await feedBlocks(node, fork);
    const reorg = await all.until((events) => events.find((e) => e.event === "reorg"), "the reorg");
    expect(reorg.data).toMatchObject({
      depth: 2,
      forkPoint: { height: 1, hash: hashOf(main[0]!) },
      oldTip: { height: 3, hash: hashOf(main[2]!) },
      newTip: { height: 4, hash: hashOf(fork[2]!) },
      connected: fork.map((b, i) => ({ height: i + 2, hash: hashOf(b) })),
      returnedTransactions: [],
    });
    // the new branch's tips come first, the report after them
    const forkTips = all.of("tip").slice(3);
    expect(forkTips.map((t) => (t.data as { hash: string }).hash)).toEqual(fork.map(hashOf));
    expect(Math.max(...idsOf(forkTips).map(Number))).toBeLessThan(reorg.id!);
  });

  it("EVENTS_TX: a transaction the mempool accepted", async () => {
    const tx = transfer(other, miner.address, 1000n, 0n, 29n);
    const id = toHex(transactionId(tx));
    await rpcOk(node, "sendRawTransaction", [toHex(encodeTransaction(tx))]);
    const event = await all.until((events) => events.find((e) => e.event === "tx"), "the tx event");
    expect(event.data).toMatchObject({
      id,
      type: "transfer",
      amount: "1000",
      fee: "29",
      nonce: "0",
      executable: true,
    });
  });

  it("EVENTS_PEER_HALT: peer connect and disconnect, chain halt and resume; a filter gets only its topics", async () => {
    const peer = await cluster.add();
    await dialNode(peer, node);
    const connected = await all.until(
      (events) =>
        events.find((e) => e.event === "peer" && (e.data as { status: string }).status === "connected"),
      "the peer connected",
    );
    expect(connected.data).toEqual({ peerId: peer.host.peerId, status: "connected" });
    await peer.stop();
    const disconnected = await all.until(
      (events) =>
        events.find((e) => e.event === "peer" && (e.data as { status: string }).status === "disconnected"),
      "the peer disconnected",
    );
    expect(disconnected.data).toEqual({ peerId: peer.host.peerId, status: "disconnected" });

    node.chain.halt(StoreErrorCode.DISK_LOW, "free space below --min-free-space");
    const halted = await all.until((events) => events.find((e) => e.event === "halt"), "the halt");
    expect(halted.data).toMatchObject({
      status: "halted",
      code: "STORE_DISK_LOW",
      reason: "free space below --min-free-space",
    });
    expect(await node.chain.resume()).toBe(true);
    const resumed = await all.until((events) => events.filter((e) => e.event === "halt")[1], "the resume");
    expect(resumed.data).toMatchObject({ status: "resumed", code: "STORE_DISK_LOW" });

    // the filtered subscriber: exactly the peer and halt events, with the same ids
    const wanted = all.events.filter((e) => e.event === "peer" || e.event === "halt");
    await filtered.until((events) => events.length >= wanted.length, "the filtered events");
    expect(filtered.events.map((e) => [e.id, e.event, e.data])).toEqual(
      wanted.map((e) => [e.id, e.event, e.data]),
    );
  }, 60_000);

  it("EVENTS_RESUME: Last-Event-ID and ?since= replay exactly the events missed while away", async () => {
    expect(builder.height).toBe(node.chain.height);
    const away = await open("?topics=tip");
    const [first] = await builder.mineMany(1);
    await feedBlocks(node, [first!]);
    const seen = await away.until((events) => events[0], "the first tip");
    away.close();
    const missed = await builder.mineMany(2);
    await feedBlocks(node, missed);
    const expected = await all.until((events) => {
      const after = events.filter((e) => e.event === "tip" && e.id! > seen.id!);
      return after.length === 2 && after;
    }, "the two tips in the record");

    for (const resumed of [
      await open("?topics=tip", { "last-event-id": String(seen.id) }),
      await open(`?topics=tip&since=${seen.id}`),
    ]) {
      await resumed.until((events) => events.length >= 2, "the replay");
      expect(resumed.events.map((e) => [e.id, e.data])).toEqual(expected.map((e) => [e.id, e.data]));
      expect(resumed.of("gap")).toEqual([]);
    }
  });

  it("EVENTS_GAP: a cursor older than the node's ring gets a gap event first", async () => {
    const latest = node.events.lastId;
    expect(latest).toBeGreaterThan(RING + 1);
    const client = await open("?since=0");
    await client.until((events) => events.some((e) => e.id === latest), "the replay");
    expect(client.events[0]).toMatchObject({
      event: "gap",
      data: { reason: "evicted", lastEventId: 0, firstAvailableId: latest - RING + 1, latestId: latest },
    });
    expect(idsOf(client.events.slice(1))).toEqual(
      Array.from({ length: RING }, (_, i) => latest - RING + 1 + i),
    );
  });

  it("EVENTS_BAD_FILTER and EVENTS_TOO_MANY_SUBSCRIBERS: unknown topic 400, the cap's next subscriber 503, metrics count them", async () => {
    const bad = await open("?topics=tip,blocks");
    expect(bad.status).toBe(400);
    expect(bad.refusal).toMatchObject({ data: { topic: "blocks" } });
    expect(bad.refusal?.error).toContain("'blocks'");
    for (const c of clients) if (c !== all && c !== filtered) c.close();
    await waitFor(() => node.events.subscriberCount === 2 || undefined, 10_000, "two subscribers left");
    const extra = [];
    for (let i = 0; i < 4; i++) extra.push(await open());
    expect(extra.every((c) => c.status === 200)).toBe(true);
    const refused = await open();
    expect(refused.status).toBe(503);
    expect(refused.refusal?.error).toContain("at most 6");
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^quarry_events_subscribers\{network="regtest"\} 6$/m);
    expect(metrics).toMatch(/^quarry_events_dropped_total\{reason="slow-consumer",network="regtest"\} 0$/m);
    for (const c of extra) c.close();
  });

  it("EVENTS_SHUTDOWN: stopping the node ends every stream cleanly", async () => {
    await node.stop();
    for (const client of [all, filtered]) {
      await client.untilClosed("the stream to close");
      expect(client.ended).toBe(true);
      expect(client.events.at(-1)?.event).toBe("shutdown");
    }
  });
});
