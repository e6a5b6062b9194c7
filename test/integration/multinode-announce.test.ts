import { afterAll, describe, expect, it } from "vitest";
import { blockHash, toHex } from "../../src/primitives/index.js";
import { ChainBuilder, testKey } from "../helpers/chain-builder.js";
import { addressOf, Cluster, feedBlocks, waitForSameTip } from "../helpers/multinode-cluster.js";
import { waitFor } from "../helpers/wait.js";

/**
 * Blocks that arrive out of band or by sync are not gossiped; a node that switches to a heavier
 * branch announces its new tip once, so the branch spreads hop by hop. Line A – B – C (A and C
 * refuse each other through their own gaters): a heavier branch given to A alone reaches C.
 */
describe("tip announcement after a reorg (createNode, real libp2p and LevelDB)", () => {
  const cluster = new Cluster();
  afterAll(() => cluster.stopAll(), 20_000);

  it("a branch that only A imported reaches C through B, and every node reports the reorg", async () => {
    const builder = ChainBuilder.create();
    const prefix = await builder.mineMany(5);
    const a = await cluster.add({ minPeers: 1 });
    const b = await cluster.add({ bootstrap: [addressOf(a)], minPeers: 1 });
    const c = await cluster.add({ bootstrap: [addressOf(b)], minPeers: 1 });
    a.host.reputation.ban(c.host.peerId, "TEST_TOPOLOGY", "line topology", 120_000);
    c.host.reputation.ban(a.host.peerId, "TEST_TOPOLOGY", "line topology", 120_000);
    for (const n of [a, b, c]) await feedBlocks(n, prefix);
    await waitFor(
      () =>
        b.host.connectedPeers().includes(a.host.peerId) && c.host.connectedPeers().includes(b.host.peerId),
      15_000,
      "line A - B - C",
    );
    expect(c.host.connectedPeers()).not.toContain(a.host.peerId);
    // gossipsub meshes form on the first heartbeats (~1 s)
    await waitFor(() => [a, b, c].every((n) => n.host.blockMeshPeers().length >= 1), 15_000, "block meshes");

    // Another coinbase recipient, so the branch's first block differs from the prefix's block 5;
    // its second block gives it more work: A reorganises (depth 1) on importing it.
    const heavier = await builder.fork(4).mineMany(2, { miner: testKey(7).address });
    await feedBlocks(a, heavier);
    expect(a.chain.tip.hashHex).toBe(toHex(blockHash(heavier[1]!)));
    await waitForSameTip([a, b, c], 20_000);
    for (const n of [a, b, c]) {
      expect(n.chain.tip.hashHex).toBe(toHex(blockHash(heavier[1]!)));
      expect(n.reorgs.some((r) => r.depth === 1 && r.forkPoint.height === 4)).toBe(true);
    }
  }, 60_000);
});
