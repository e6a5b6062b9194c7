import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BatchDownloadedEvent } from "../../src/sync/index.js";
import { ChainBuilder } from "../helpers/chain-builder.js";
import { connect } from "../helpers/sync-libp2p.js";
import { createSyncNode, type SyncTestNode } from "../helpers/sync-node.js";
import { waitFor } from "../helpers/wait.js";

const TIMEOUT = 20_000;
const BATCH = 16;

/** Lets every pending promise callback run (a dial is started a few microtasks after its batch). */
const flushMicrotasks = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("sync download window bounded by bytes (real libp2p and LevelDB)", () => {
  let builder: ChainBuilder;
  const nodes: SyncTestNode[] = [];

  beforeAll(async () => {
    builder = ChainBuilder.create();
    await builder.mineMany(160);
  });

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.destroy()));
  });

  it("requests no batch past the next one while downloaded blocks waiting for import fill maxBufferedBatchBytes", async () => {
    const server = await createSyncNode(builder.blocks.slice(1));
    nodes.push(server);
    const fresh = await createSyncNode([], {
      maxBlocksPerBatch: BATCH,
      maxConcurrentDownloads: 1,
      maxBufferedBatchBytes: 1,
    });
    nodes.push(fresh);

    // Count the batch requests the node makes, and hold its first import until we have looked.
    const rangeProtocol = `/quarry/${fresh.chain.networkParams.name}/blocks-by-range/1`;
    let rangeRequests = 0;
    const dial = fresh.libp2p.dialProtocol.bind(fresh.libp2p);
    fresh.libp2p.dialProtocol = ((peer, protocols, options) => {
      if ([protocols].flat().includes(rangeProtocol)) rangeRequests++;
      return dial(peer, protocols, options);
    }) as typeof fresh.libp2p.dialProtocol;
    let releaseImports!: () => void;
    const importsReleased = new Promise<void>((resolve) => {
      releaseImports = resolve;
    });
    let importStarted = false;
    const processBlocks = fresh.chain.processBlocks.bind(fresh.chain);
    fresh.chain.processBlocks = (async (...args: Parameters<typeof processBlocks>) => {
      importStarted = true;
      await importsReleased;
      return processBlocks(...args);
    }) as typeof fresh.chain.processBlocks;

    const downloaded: BatchDownloadedEvent[] = [];
    fresh.sync.on("batchDownloaded", (e) => downloaded.push(e));
    await connect(fresh.libp2p, server.libp2p);
    await waitFor(() => importStarted, TIMEOUT, "the first batch's import to start");
    await flushMicrotasks();
    // The first batch waits for import and holds more than the budget: no second request.
    expect(downloaded).toHaveLength(1);
    expect(downloaded[0]!.bufferedBytes).toBe(downloaded[0]!.bytes);
    expect(fresh.sync.progress().bufferedBytes).toBe(downloaded[0]!.bytes);
    expect(rangeRequests).toBe(1);

    releaseImports();
    await waitFor(() => fresh.chain.tip.hashHex === server.chain.tip.hashHex, TIMEOUT, "the server's tip");
    expect(fresh.chain.height).toBe(160);
    expect(downloaded).toHaveLength(160 / BATCH);
    // One download at a time and a budget of one byte: never more than the batch next in line
    // plus the one being imported.
    const largest = Math.max(...downloaded.map((e) => e.bytes));
    expect(Math.max(...downloaded.map((e) => e.bufferedBytes))).toBeLessThanOrEqual(2 * largest);
    expect(fresh.sync.progress().bufferedBytes).toBe(0);
    expect(fresh.scorer.penalties).toEqual([]);
  }, 60_000);
});
