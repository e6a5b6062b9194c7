import { checkHeaderRun } from "../src/consensus/index.js";
import { type Block, blockEnvelope, toHex } from "../src/primitives/index.js";
import { syncProtocolIds } from "../src/sync/index.js";
import { requestHeaders } from "../src/sync/protocols/headers.js";
import { nowSeconds, systemClock } from "../src/util/index.js";
import { ChainBuilder } from "../test/helpers/chain-builder.js";
import { openChain } from "../test/helpers/open-chain.js";
import { connect } from "../test/helpers/sync-libp2p.js";
import { createSyncNode, type SyncTestNode } from "../test/helpers/sync-node.js";
import { tempDir } from "../test/helpers/temp-dir.js";
import { waitFor } from "../test/helpers/wait.js";
import { loadedChain } from "./chains.js";
import type { BenchResult, BenchSuite } from "./harness.js";

/** Seconds for a node holding `have` to sync `want` from `peers` serving nodes over 127.0.0.1. */
async function syncSeconds(have: readonly Block[], want: readonly Block[], peers: number): Promise<number> {
  const nodes: SyncTestNode[] = [];
  try {
    for (let i = 0; i < peers; i++) nodes.push(await createSyncNode(want));
    // verifying on a worker pool, as createNode builds it
    const fresh = await createSyncNode(have, {}, { signatureWorkers: true });
    nodes.push(fresh);
    const target = nodes[0]!.chain.tip.hashHex;
    const reached = waitFor(() => fresh.chain.tip.hashHex === target, 600_000, "synced tip", {
      wakeOn: (check) => {
        fresh.chain.on("blockConnected", check);
        return () => fresh.chain.off("blockConnected", check);
      },
    });
    const start = performance.now();
    for (const server of nodes.slice(0, peers)) await connect(fresh.libp2p, server.libp2p);
    await reached;
    return (performance.now() - start) / 1000;
  } finally {
    await Promise.all(nodes.map((n) => n.destroy()));
  }
}

/**
 * Sync's ceiling on this machine: seconds to import `want` past `have` in process, no network,
 * signature workers verifying each run of 64 ahead and runs pipelined, as sync imports a batch.
 */
async function importSeconds(have: readonly Block[], want: readonly Block[]): Promise<number> {
  const dir = tempDir("quarry-bench-sync-limit-");
  const opened = await openChain(dir.path, { signatureWorkers: true });
  try {
    for (const block of have) await opened.chain.processBlock(blockEnvelope(block));
    const start = performance.now();
    for (let i = 0; i < want.length; i += 64) {
      const run = want.slice(i, i + 64).map(blockEnvelope);
      opened.chain.prefetchSignatures(run);
      const outcomes = await opened.chain.processBlocks(run);
      if (!outcomes.every((o) => o.ok && o.result.status === "connected")) throw new Error("import failed");
    }
    return (performance.now() - start) / 1000;
  } finally {
    await opened.close();
    dir.cleanup();
  }
}

/**
 * Headers/s of headers-first sync's first stage from one peer over 127.0.0.1: the headers request
 * (up to 2,048 per answer) and `checkHeaderRun` on each answer, as `SyncManager` runs them, from the
 * genesis fork point to the server's tip, `rounds` times over.
 */
async function headerRate(want: readonly Block[], rounds: number): Promise<number> {
  const server = await createSyncNode(want);
  const client = await createSyncNode([]);
  try {
    await connect(client.libp2p, server.libp2p);
    const protocol = syncProtocolIds(client.chain.networkParams.name).headers;
    const genesisHex = client.chain.tip.hashHex;
    const genesis = client.chain.headerChainTip(genesisHex)!;
    let headers = 0;
    const start = performance.now();
    for (let r = 0; r < rounds; r++) {
      let from = genesis;
      for (;;) {
        const answer = await requestHeaders(
          client.libp2p,
          server.libp2p.peerId,
          protocol,
          [toHex(from.hash), genesisHex],
          2048,
          {
            timeoutMs: 10_000,
            signal: AbortSignal.timeout(60_000),
          },
        );
        if (answer.headers.length === 0) break;
        const run = checkHeaderRun(answer.headers, from, nowSeconds(systemClock), client.chain.networkParams);
        if (run.failure) throw run.failure.error;
        headers += run.hashes.length;
        from = run.tip;
      }
    }
    return headers / ((performance.now() - start) / 1000);
  } finally {
    await client.destroy();
    await server.destroy();
  }
}

export const syncSuite: BenchSuite = {
  name: "sync",
  async run(): Promise<BenchResult[]> {
    const empty = ChainBuilder.create();
    await empty.mineMany(2000);
    const emptyBlocks = empty.blocks.slice(1);
    const one = await syncSeconds([], emptyBlocks, 1);
    const four = await syncSeconds([], emptyBlocks, 4);
    const headersPerSecond = await headerRate(emptyBlocks, 10);

    const { funding, loaded: transfers } = await loadedChain(200, 100, 100);
    const loaded = await syncSeconds(funding, [...funding, ...transfers], 1);
    const loadedFour = await syncSeconds(funding, [...funding, ...transfers], 4);
    // best of 2: the first also pays for starting the workers and compiling the import path
    const limit = Math.min(await importSeconds(funding, transfers), await importSeconds(funding, transfers));
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
        name: "headers-first: fetch + check headers from 1 peer (2000 headers × 10, 127.0.0.1)",
        value: headersPerSecond,
        unit: "headers/s",
        target: 10_000,
        note: "headers request (≤ 2,048 per answer) + checkHeaderRun: linkage, ASERT bits, PoW, MTP, future limit",
      },
      {
        name: "sync 100-tx blocks from 1 peer (100 blocks)",
        value: 100 / loaded,
        unit: "blocks/s",
        target: 100,
        limit: 100 / limit,
        note: "limit: the same blocks imported in process (workers, pipelined), no network",
      },
      {
        name: "sync 100-tx blocks from 4 peers (100 blocks)",
        value: 100 / loadedFour,
        unit: "blocks/s",
        target: 150,
        limit: 100 / limit,
        note: "4 serving nodes + the syncing node in one process",
      },
    ];
  },
};
