import type { Stream } from "@libp2p/interface";
import { afterAll, describe, expect, it } from "vitest";
import type { QuarryNode } from "../../src/node.js";
import { ChainBuilder } from "../helpers/chain-builder.js";
import { addressOf, Cluster, feedBlocks } from "../helpers/multinode-cluster.js";
import { waitFor } from "../helpers/wait.js";

const CHAIN_LENGTH = 600;

describe("a node that joins late (createNode, real libp2p and LevelDB)", () => {
  const cluster = new Cluster();
  afterAll(() => cluster.stopAll(), 20_000);

  it("syncs hundreds of blocks in batches from several peers, and a server that dies mid-request is replaced without a stall", async () => {
    const builder = ChainBuilder.create();
    await builder.mineMany(CHAIN_LENGTH);
    const blocks = builder.blocks.slice(1);
    const servers = await Promise.all([0, 1, 2].map(() => cluster.add({ minPeers: 2 })));
    await Promise.all(servers.map((s) => feedBlocks(s, blocks)));
    for (const s of servers) expect(s.chain.height).toBe(CHAIN_LENGTH);

    // The victim's process "dies" on the first batch it is asked for: its batch handlers are
    // replaced (public libp2p API) by one that stops the whole node without answering.
    const victim = servers[2]!;
    let victimAsked = false;
    const die = async (stream: Stream): Promise<void> => {
      victimAsked = true;
      stream.abort(new Error("node is going down"));
      await victim.stop();
    };
    for (const protocol of [victim.sync.protocols.blocksByRange, victim.sync.protocols.blocksByHash])
      await victim.host.libp2p.handle(protocol, die, { force: true });

    const started = performance.now();
    const late = await cluster.add({ bootstrap: servers.map(addressOf), minPeers: 3 });
    const servedBy = new Map<string, number>();
    late.sync.on("batchProcessed", ({ peerId, count }) =>
      servedBy.set(peerId, (servedBy.get(peerId) ?? 0) + count),
    );
    await waitFor(() => late.chain.height === CHAIN_LENGTH, 20_000, "late node at the servers' tip");
    const seconds = (performance.now() - started) / 1000;

    expect(late.chain.tip.hashHex).toBe(servers[0]!.chain.tip.hashHex);
    expect(victimAsked).toBe(true);
    const liveIds = servers.slice(0, 2).map((s: QuarryNode) => s.host.peerId);
    // Several peers served batches; the dead one served none; every block came in a batch.
    expect([...servedBy.keys()].sort()).toEqual([...liveIds].sort());
    expect([...servedBy.values()].reduce((a, b) => a + b, 0)).toBe(CHAIN_LENGTH);
    // A dead peer is a stream failure, retried at once elsewhere: far below the 10 s stall deadline.
    expect(seconds).toBeLessThan(10);
    // Losing a peer is not misbehaviour.
    expect(late.host.reputation.score(victim.host.peerId)).toBe(0);
    console.log(
      `multinode: late node synced ${CHAIN_LENGTH} blocks in ${seconds.toFixed(2)} s ` +
        `(${Math.round(CHAIN_LENGTH / seconds)} blocks/s) from ${servedBy.size} peers ` +
        `(${[...servedBy.values()].join("+")}) after one died mid-request`,
    );
  }, 60_000);
});
