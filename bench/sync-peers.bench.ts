import type { Block } from "../src/primitives/index.js";
import { ChainBuilder } from "../test/helpers/chain-builder.js";
import { connect, waitFor } from "../test/helpers/sync-libp2p.js";
import { createSyncNode, type SyncTestNode } from "../test/helpers/sync-node.js";
import type { BenchResult, BenchSuite } from "./harness.js";

/**
 * Sync from four peers, the fan-out (bench/sync.bench.ts, owned with the sync code,
 * measures one peer, three peers and loaded blocks). Same method as there: `PEERS` serving nodes
 * hold the chain, a fresh node connects to all of them and the clock runs until it has the tip.
 * Registered under the suite name "sync", so `npm run bench -- sync` runs both.
 */
const PEERS = 4;
const BLOCKS = 2000;

async function syncSeconds(want: readonly Block[], peers: number): Promise<number> {
  const nodes: SyncTestNode[] = [];
  try {
    for (let i = 0; i < peers; i++) nodes.push(await createSyncNode(want));
    const fresh = await createSyncNode([]);
    nodes.push(fresh);
    const target = nodes[0]!.chain.tip.hashHex;
    const reached = waitFor(
      () => fresh.chain.tip.hashHex === target,
      (check) => {
        fresh.chain.on("blockConnected", check);
        return () => fresh.chain.off("blockConnected", check);
      },
      600_000,
      "synced tip",
    );
    const start = performance.now();
    for (const server of nodes.slice(0, peers)) await connect(fresh.libp2p, server.libp2p);
    await reached;
    return (performance.now() - start) / 1000;
  } finally {
    await Promise.all(nodes.map((n) => n.destroy()));
  }
}

export const syncPeersSuite: BenchSuite = {
  name: "sync",
  async run(): Promise<BenchResult[]> {
    const empty = ChainBuilder.create();
    await empty.mineMany(BLOCKS);
    const seconds = await syncSeconds(empty.blocks.slice(1), PEERS);
    return [
      {
        name: `sync empty blocks from ${PEERS} peers (${BLOCKS} blocks)`,
        value: BLOCKS / seconds,
        unit: "blocks/s",
        target: 500,
        note: `${PEERS} serving nodes + the syncing node in one process, 127.0.0.1`,
      },
    ];
  },
};
