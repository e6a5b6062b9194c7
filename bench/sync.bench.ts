import type { Block } from "../src/primitives/index.js";
import { SyncManager } from "../src/sync/sync-manager.js";
import { ChainBuilder, type TestKey, testKey, transfer } from "../test/helpers/chain-builder.js";
import { openChain } from "../test/helpers/open-chain.js";
import { connect, createTestLibp2p, waitFor } from "../test/helpers/sync-libp2p.js";
import {
  createSyncNode,
  RecordingScorer,
  RecordingSecurityLog,
  type SyncTestNode,
} from "../test/helpers/sync-node.js";
import { tempDir } from "../test/helpers/temp-dir.js";
import type { BenchResult, BenchSuite } from "./harness.js";

/**
 * The syncing node as `createNode` builds it: signatures verify on a worker pool (sync prefetches
 * each downloaded batch into it). createSyncNode verifies inline, which would measure a node
 * without its verifier.
 */
async function createSyncingNode(blocks: readonly Block[]): Promise<SyncTestNode> {
  const dir = tempDir("quarry-sync-");
  const opened = await openChain(dir.path, { signatureWorkers: true });
  for (const block of blocks) await opened.chain.processBlock(block);
  const net = await createTestLibp2p();
  const scorer = new RecordingScorer();
  const securityLog = new RecordingSecurityLog();
  const sync = new SyncManager(
    {},
    { libp2p: net.libp2p, chain: opened.chain, privateKey: net.privateKey, scorer, securityLog },
  );
  await sync.start();
  return {
    ...net,
    ...opened,
    sync,
    scorer,
    securityLog,
    id: net.libp2p.peerId.toString(),
    destroy: async () => {
      await sync.stop();
      await net.libp2p.stop();
      await opened.close();
      dir.cleanup();
    },
  };
}

/** Seconds for a node holding `have` to sync `want` from `peers` serving nodes over 127.0.0.1. */
async function syncSeconds(have: readonly Block[], want: readonly Block[], peers: number): Promise<number> {
  const nodes: SyncTestNode[] = [];
  try {
    for (let i = 0; i < peers; i++) nodes.push(await createSyncNode(want));
    const fresh = await createSyncingNode(have);
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

/** `funding` blocks paying one key each, then `blocks` blocks of `txsPerBlock` transfers. */
async function loadedChain(senders: number, blocks: number, txsPerBlock: number) {
  const builder = ChainBuilder.create();
  const keys: TestKey[] = Array.from({ length: senders }, (_, i) => testKey(i + 1));
  for (const key of keys) await builder.mine({ miner: key.address });
  const nonces = keys.map(() => 0n);
  for (let b = 0; b < blocks; b++) {
    const txs = Array.from({ length: txsPerBlock }, (_, t) => {
      const s = (b * txsPerBlock + t) % senders;
      return transfer(keys[s]!, testKey(10_000 + ((b * 31 + t) % 4000)).address, 1000n, nonces[s]!++);
    });
    await builder.mine({ txs });
  }
  return { all: builder.blocks.slice(1), funding: senders };
}

export const syncSuite: BenchSuite = {
  name: "sync",
  async run(): Promise<BenchResult[]> {
    const empty = ChainBuilder.create();
    await empty.mineMany(2000);
    const emptyBlocks = empty.blocks.slice(1);
    const one = await syncSeconds([], emptyBlocks, 1);
    const four = await syncSeconds([], emptyBlocks, 4);

    const { all, funding } = await loadedChain(200, 100, 100);
    const loaded = await syncSeconds(all.slice(0, funding), all, 1);
    return [
      {
        name: "sync empty blocks from 1 peer (2000 blocks, 127.0.0.1)",
        value: 2000 / one,
        unit: "blocks/s",
        target: 500,
      },
      {
        name: "sync empty blocks from 4 peers (2000 blocks)",
        value: 2000 / four,
        unit: "blocks/s",
        target: 500,
        note: "4 serving nodes + the syncing node in one process, 127.0.0.1",
      },
      {
        name: "sync 100-tx blocks from 1 peer (100 blocks)",
        value: 100 / loaded,
        unit: "blocks/s",
        target: 50,
      },
    ];
  },
};
