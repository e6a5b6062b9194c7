import { afterAll, describe, expect, it } from "vitest";
import { addressOf, Cluster, mineBlocks, sameTip, waitForSameTip } from "../helpers/multinode-cluster.js";
import { waitFor } from "../helpers/wait.js";

describe("5 Quarry nodes from createNode over 127.0.0.1", () => {
  const cluster = new Cluster();
  afterAll(() => cluster.stopAll(), 20_000);

  it("nodes that know only the bootstrap node all connect and reach the same tip while two of them mine", async () => {
    const t0 = performance.now();
    const boot = await cluster.add({ minPeers: 4 });
    const bootAddr = addressOf(boot);
    const others = await Promise.all(
      [undefined, 1, undefined, 2].map((minerKey) =>
        cluster.add({ bootstrap: [bootAddr], minPeers: 4, ...(minerKey === undefined ? {} : { minerKey }) }),
      ),
    );
    const nodes = [boot, ...others];
    const miners = others.filter((n) => n.producer !== undefined);
    expect(miners).toHaveLength(2);

    await waitFor(() => nodes.every((n) => n.host.connectedPeers().length >= 4), 20_000, "full mesh of 5");
    const tConnected = performance.now();
    // Both keep mining until each has found blocks after the mesh formed.
    const minedAtMesh = miners.map((m) => m.producer!.blocksMined);
    await waitFor(
      () => miners.every((m, i) => m.producer!.blocksMined >= minedAtMesh[i]! + 5),
      20_000,
      "both miners found 5 more blocks",
    );
    await Promise.all(miners.map((m) => m.producer!.stop()));
    // Two tips of equal work can remain (fork choice keeps the first seen: a tie splits the
    // network until the next block), so one miner finds one more block, as the network would.
    await mineBlocks(miners[0]!, 1, 10_000);
    const mined = miners.map((m) => m.producer!.blocksMined);
    await waitForSameTip(nodes, 20_000, "same tip on all 5");
    const tConverged = performance.now();

    const tip = boot.chain.tip;
    expect(sameTip(nodes)).toBe(true);
    for (const n of nodes) expect(n.chain.tip.chainWork).toBe(tip.chainWork);
    expect(tip.height).toBeGreaterThanOrEqual(Math.max(...mined));
    // Racing honest miners never cost each other reputation.
    for (const n of nodes) expect(n.host.reputation.bans()).toEqual([]);
    console.log(
      `multinode: mesh of 5 in ${Math.round(tConnected - t0)} ms; mined ${mined.join("+")} blocks; ` +
        `same tip (height ${tip.height}) ${Math.round(tConverged - tConnected)} ms after mesh; ` +
        `reorgs ${nodes.map((n) => n.reorgs.length).join(",")}`,
    );
  }, 60_000);
});
