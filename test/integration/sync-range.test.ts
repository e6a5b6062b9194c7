import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChainBuilder } from "../helpers/chain-builder.js";
import { connect } from "../helpers/sync-libp2p.js";
import { createSyncNode, type SyncTestNode } from "../helpers/sync-node.js";
import { waitFor } from "../helpers/wait.js";

const TIMEOUT = 20_000;

function tipReached(node: SyncTestNode, hashHex: string) {
  return waitFor(() => node.chain.tip.hashHex === hashHex, TIMEOUT, `tip ${hashHex.slice(0, 12)}`, {
    wakeOn: (check) => {
      node.chain.on("blockConnected", check);
      return () => node.chain.off("blockConnected", check);
    },
  });
}

describe("sync over libp2p (127.0.0.1)", () => {
  let builder: ChainBuilder;
  const nodes: SyncTestNode[] = [];

  beforeAll(async () => {
    builder = ChainBuilder.create();
    await builder.mineMany(320);
  });

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.destroy()));
  });

  it("a fresh node syncs 320 blocks in batches from three peers and reaches the same tip", async () => {
    const blocks = builder.blocks.slice(1);
    const servers = await Promise.all([0, 1, 2].map(() => createSyncNode(blocks)));
    nodes.push(...servers);
    const fresh = await createSyncNode([], { maxBlocksPerBatch: 16 });
    nodes.push(fresh);
    const servedBy = new Set<string>();
    fresh.sync.on("batchProcessed", (e) => servedBy.add(e.peerId));
    const done = tipReached(fresh, servers[0]!.chain.tip.hashHex);
    for (const server of servers) await connect(fresh.libp2p, server.libp2p);
    await done;
    expect(fresh.chain.height).toBe(320);
    expect(servedBy.size).toBeGreaterThanOrEqual(2);
    expect(fresh.scorer.penalties).toEqual([]);
    const progress = fresh.sync.progress();
    expect(progress.height).toBe(320);
    expect(progress.targetHeight).toBe(320);
  });
});
