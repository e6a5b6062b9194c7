import { afterAll, describe, expect, it } from "vitest";
import { REGTEST } from "../../src/consensus/params.js";
import { NetworkErrorCode } from "../../src/network/index.js";
import { encodeBlock } from "../../src/primitives/index.js";
import { type GossipAttacker, gossipAttacker } from "../helpers/adversary-peer.js";
import { ChainBuilder } from "../helpers/chain-builder.js";
import { Cluster, feedBlocks } from "../helpers/multinode-cluster.js";
import { waitFor } from "../helpers/wait.js";

const ATTACKERS = 8;
const ORPHANS_EACH = 150;

describe("a Sybil orphan flood (slow)", () => {
  const cluster = new Cluster();
  const attackers: GossipAttacker[] = [];
  afterAll(async () => {
    await Promise.allSettled(attackers.map((a) => a.stop()));
    await cluster.stopAll();
  }, 30_000);

  it("8 identities each flooding 150 valid-work orphans: never charged (the work pays for them), orphan pool and heap bounded, tip unchanged", async () => {
    const honest = ChainBuilder.create();
    await honest.mineMany(5);
    const node = await cluster.add({ minPeers: 0, maxPeers: 40 });
    await feedBlocks(node, honest.blocks.slice(1));
    const tip = node.chain.tip.hashHex;

    // One branch whose first block is never sent: every later block is an orphan with valid work.
    const source = ChainBuilder.create();
    await source.mine({ miner: new Uint8Array(20).fill(0x0f) });
    const orphans = await source.mineMany(ATTACKERS * ORPHANS_EACH);
    for (let i = 0; i < ATTACKERS; i++) attackers.push(await gossipAttacker(node, REGTEST.blockTopic));

    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    await Promise.all(
      attackers.map(async (a, i) => {
        for (const o of orphans.slice(i * ORPHANS_EACH, (i + 1) * ORPHANS_EACH))
          await a.services.pubsub.publish(REGTEST.blockTopic, encodeBlock(o)).catch(() => undefined);
      }),
    );
    // Every orphan reaches the validator: stored as an orphan, a duplicate, or dropped while busy.
    const seen = () =>
      ["ORPHAN", "DUPLICATE", NetworkErrorCode.BUSY].reduce(
        (sum, code) => sum + node.host.verdicts.total({ kind: "block", code }),
        0,
      );
    await waitFor(() => seen() >= orphans.length, 60_000, "every orphan seen");
    global.gc?.();
    const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;

    expect(node.chain.tip.hashHex).toBe(tip);
    expect(node.chain.orphanCount).toBeLessThanOrEqual(256);
    for (const a of attackers) expect(node.host.reputation.score(a.peerId.toString())).toBe(0);
    expect(node.host.reputation.bans()).toEqual([]);
    // Orphans are capped by count and bytes; the test process (attackers included) grows little.
    expect(heapGrowthMb).toBeLessThan(200);
    console.log(
      `adversarial: ${ATTACKERS}x${ORPHANS_EACH} orphans: orphan pool ${node.chain.orphanCount}, ` +
        `heap +${heapGrowthMb.toFixed(1)} MB, dropped busy ${node.host.verdicts.total({ code: NetworkErrorCode.BUSY })}`,
    );
  });
});
