import { afterAll, describe, expect, it } from "vitest";
import { REGTEST } from "../../src/consensus/params.js";
import { blockHash, toHex } from "../../src/primitives/index.js";
import { SyncErrorCode, syncProtocolIds } from "../../src/sync/index.js";
import { ChainBuilder } from "../helpers/chain-builder.js";
import { Cluster, feedBlocks } from "../helpers/multinode-cluster.js";
import type { TestLibp2p } from "../helpers/sync-libp2p.js";
import { createMaliciousPeer } from "../helpers/sync-malicious.js";
import { waitFor } from "../helpers/wait.js";

describe("a sync peer that lies about its work (slow)", () => {
  const cluster = new Cluster();
  let evil: (TestLibp2p & { served: Map<string, number> }) | undefined;
  afterAll(async () => {
    await evil?.libp2p.stop();
    await cluster.stopAll();
  }, 30_000);

  it("claims the most work but serves a valid lower-work chain: caught on its headers (SYNC_WORK_NOT_PROVEN), no body fetched or stored, the tip never moves", async () => {
    const honest = ChainBuilder.create();
    await honest.mineMany(300);
    const lowWork = ChainBuilder.create();
    // Same genesis, another branch, fewer blocks (every regtest block here is at the pow limit).
    await lowWork.mineMany(200, { miner: new Uint8Array(20).fill(0x77) });
    const node = await cluster.add({ minPeers: 0, maxPeers: 10 });
    await feedBlocks(node, honest.blocks.slice(1));
    const tip = node.chain.tip.hashHex;
    // Its status claims 2^200 work; its signed batches hold valid blocks of a weaker branch.
    evil = await createMaliciousPeer(REGTEST, lowWork.blocks.slice(1), "invalid-blocks", {
      claimedWork: 1n << 200n,
    });
    const started = performance.now();
    let rounds = 0;
    node.sync.on("syncComplete", () => rounds++);
    await evil.libp2p.dial(node.host.libp2p.getMultiaddrs());
    await waitFor(() => rounds > 0 && !node.sync.progress().syncing, 60_000, "sync gives up");
    const seconds = (performance.now() - started) / 1000;
    expect(node.chain.tip.hashHex).toBe(tip);
    expect(node.chain.height).toBe(300);
    expect(node.reorgs).toEqual([]);
    // Headers first: its whole header chain proves far less than it claimed, so no body was asked.
    expect(node.chain.getEntry(toHex(blockHash(lowWork.tip)))).toBeUndefined();
    const evilId = evil.libp2p.peerId.toString();
    const ids = syncProtocolIds(REGTEST.name);
    expect(evil.served.get(ids.blocksByHash) ?? 0).toBe(0);
    expect(evil.served.get(ids.blocksByRange) ?? 0).toBe(0);
    expect(
      node.host.securityLog
        .recent(1000)
        .some((e) => e.peerId === evilId && e.code === SyncErrorCode.WORK_NOT_PROVEN),
    ).toBe(true);
    // Disconnected (50 points), not banned: an operator's invalidateBlock is an honest way down.
    expect(node.host.reputation.isBanned(evilId)).toBe(false);
    console.log(`adversarial: lying peer (200 low-work blocks) given up on after ${seconds.toFixed(2)} s`);
  });
});
