import { TopicValidatorResult } from "@libp2p/gossipsub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Chain } from "../../src/chain/index.js";
import { BlockErrorCode } from "../../src/consensus/errors.js";
import { blockGossipHandler, type NetworkHost } from "../../src/network/index.js";
import { blockEnvelope } from "../../src/primitives/block.js";
import { blockHash, encodeBlock, toHex } from "../../src/primitives/index.js";
import { ChainBuilder } from "../helpers/chain-builder.js";
import { startLocalHost, stopAll } from "../helpers/network-helpers.js";
import { type OpenedChain, openChain } from "../helpers/open-chain.js";
import { tempDir } from "../helpers/temp-dir.js";
import { waitFor } from "../helpers/wait.js";

interface Node {
  host: NetworkHost;
  chain: Chain;
  opened: OpenedChain;
}

async function startNode(dir: string, init: Parameters<typeof startLocalHost>[0]): Promise<Node> {
  const opened = await openChain(dir);
  const { host } = await startLocalHost(init);
  host.setBlockHandler(blockGossipHandler(opened.chain));
  return { host, chain: opened.chain, opened };
}

describe("gossip (real libp2p and a real Chain behind every node)", () => {
  const tmp = tempDir("quarry-gossip-");
  const nodes: Node[] = [];
  const builder = ChainBuilder.create();

  beforeAll(async () => {
    const boot = await startNode(`${tmp.path}/n0`, { peers: { minPeers: 4, maxPeers: 10 } });
    nodes.push(boot);
    const addr = boot.host.multiaddrs()[0]!;
    const others = await Promise.all(
      [1, 2, 3, 4].map((i) =>
        startNode(`${tmp.path}/n${i}`, { bootstrap: [addr], peers: { minPeers: 4, maxPeers: 10 } }),
      ),
    );
    nodes.push(...others);
    await waitFor(() => nodes.every((n) => n.host.connectedPeers().length >= 4), 15_000, "full connectivity");
    // the mesh forms on the first heartbeats (~1 s)
    await waitFor(() => nodes.every((n) => n.host.blockMeshPeers().length >= 1), 10_000, "block-topic mesh");
  }, 30_000);

  afterAll(async () => {
    await stopAll(nodes.map((n) => n.host));
    await Promise.all(nodes.map((n) => n.opened.close()));
    tmp.cleanup();
  });

  it("a valid block published by one node is imported by all 5", async () => {
    const block = await builder.mine();
    const [publisher] = nodes;
    const started = Date.now();
    await publisher!.chain.processBlock(blockEnvelope(block));
    await publisher!.host.publishBlock(encodeBlock(block));
    await waitFor(() => nodes.every((n) => n.chain.height === 1), 5_000, "all nodes at height 1");
    console.log(`gossip: block imported by all 5 in ${Date.now() - started} ms`);
    const hash = toHex(blockHash(block));
    for (const n of nodes) expect(toHex(n.chain.tip.hash)).toBe(hash);
    for (const n of nodes.slice(1))
      expect(n.host.verdicts.total({ kind: "block", result: TopicValidatorResult.Accept })).toBe(1);
  });

  it("BLOCK_BAD_STATE_ROOT: an invalid block is rejected by every receiver, the sender is penalised, tips unchanged", async () => {
    const bad = await builder.fork(1).mine({
      mutate: (b) => {
        b.header.stateRoot = new Uint8Array(32).fill(7);
      },
    });
    const [publisher, ...receivers] = nodes;
    const tipBefore = receivers.map((n) => toHex(n.chain.tip.hash));
    await publisher!.host.publishBlock(encodeBlock(bad));
    await waitFor(
      () => receivers.every((n) => n.host.reputation.score(publisher!.host.peerId) > 0),
      5_000,
      "every receiver penalised the sender",
    );
    for (const [i, n] of receivers.entries()) {
      expect(toHex(n.chain.tip.hash)).toBe(tipBefore[i]);
      expect(n.chain.height).toBe(1);
      const entries = n.host.securityLog.recent(10).filter((e) => e.kind === "block");
      expect(entries[0]).toMatchObject({
        peerId: publisher!.host.peerId,
        code: BlockErrorCode.BAD_STATE_ROOT,
      });
      expect(n.host.verdicts.total({ code: BlockErrorCode.BAD_STATE_ROOT })).toBe(1);
    }
  });
  it("a burst of 60 valid blocks (a fresh chain mining fast) is imported everywhere with no NET_FLOOD penalty", async () => {
    // nodes[0] was banned (and so cut off) by the invalid-block test above: the other four take part
    const [publisher, ...receivers] = nodes.slice(1);
    const burst = await builder.mineMany(60);
    for (const block of burst) {
      await publisher!.chain.processBlock(blockEnvelope(block));
      await publisher!.host.publishBlock(encodeBlock(block));
    }
    const target = burst.length + 1;
    await waitFor(
      () => receivers.every((n) => n.chain.height === target),
      15_000,
      "receivers at the burst's tip",
    );
    for (const n of receivers) expect(n.host.reputation.score(publisher!.host.peerId)).toBe(0);
  });
});

describe("gossip relay on a line A – B – C", () => {
  const tmp = tempDir("quarry-relay-");
  const nodes: Node[] = [];

  afterAll(async () => {
    await stopAll(nodes.map((n) => n.host));
    await Promise.all(nodes.map((n) => n.opened.close()));
    tmp.cleanup();
  });

  it("B relays a block only after validating it: C gets the valid block, never the invalid one", async () => {
    const b = await startNode(`${tmp.path}/b`, { peers: { minPeers: 1, maxPeers: 10 } });
    const addr = b.host.multiaddrs()[0]!;
    // A and C stop at one peer each, so everything between them goes through B
    const a = await startNode(`${tmp.path}/a`, { bootstrap: [addr], peers: { minPeers: 1, maxPeers: 1 } });
    const c = await startNode(`${tmp.path}/c`, { bootstrap: [addr], peers: { minPeers: 1, maxPeers: 1 } });
    nodes.push(a, b, c);
    await waitFor(() => b.host.connectedPeers().length === 2, 10_000, "B connected to A and C");
    await waitFor(
      () => b.host.blockMeshPeers().length === 2 && a.host.blockMeshPeers().length === 1,
      10_000,
      "mesh",
    );
    await waitFor(() => c.host.blockMeshPeers().length === 1, 10_000, "mesh at C");
    expect(a.host.connectedPeers()).toEqual([b.host.peerId]);
    expect(c.host.connectedPeers()).toEqual([b.host.peerId]);

    const builder = ChainBuilder.create();
    const block1 = await builder.mine();
    await a.chain.processBlock(blockEnvelope(block1));
    await a.host.publishBlock(encodeBlock(block1));
    await waitFor(() => c.chain.height === 1, 5_000, "C imported block 1 through B");

    const bad = await builder.fork(1).mine({
      mutate: (blk) => {
        blk.header.merkleRoot = new Uint8Array(32).fill(9);
      },
    });
    await a.host.publishBlock(encodeBlock(bad));
    await waitFor(
      () => b.host.verdicts.total({ code: BlockErrorCode.BAD_MERKLE_ROOT }) === 1,
      5_000,
      "B rejected",
    );
    // A barrier: a block B publishes afterwards travels the same B -> C stream, so once C has it,
    // anything B had relayed before would have arrived too.
    const block2 = await builder.mine();
    await b.chain.processBlock(blockEnvelope(block2));
    await b.host.publishBlock(encodeBlock(block2));
    await waitFor(() => c.chain.height === 2, 5_000, "C imported block 2 from B");
    expect(c.host.verdicts.total({ code: BlockErrorCode.BAD_MERKLE_ROOT })).toBe(0);
    expect(b.host.reputation.isBanned(a.host.peerId)).toBe(true);
  });
});
