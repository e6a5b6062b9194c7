import { multiaddr } from "@multiformats/multiaddr";
import { afterAll, describe, expect, it } from "vitest";
import { BlockErrorCode } from "../../src/consensus/errors.js";
import { REGTEST } from "../../src/consensus/params.js";
import type { QuarryNode } from "../../src/node.js";
import { type Block, blockHash, encodeBlock, toHex } from "../../src/primitives/index.js";
import { type GossipAttacker, gossipAttacker } from "../helpers/adversary-peer.js";
import { ChainBuilder } from "../helpers/chain-builder.js";
import { Cluster, dialNode, feedBlocks, waitForSameTip } from "../helpers/multinode-cluster.js";
import type { TestLibp2p } from "../helpers/sync-libp2p.js";
import { createMaliciousPeer } from "../helpers/sync-malicious.js";
import { waitFor } from "../helpers/wait.js";

// Regtest's margin is 144 blocks' work at the tip's target; every block here is at the pow limit
// (ChainBuilder stamps them on schedule), so "more blocks" is "more work".
const MARGIN = REGTEST.lowWorkMarginBlocks;
const HONEST = MARGIN + 20;
const DEEP = 300;
/** 1,024 (16 batches × 64, the old proving window) + more than the margin. */
const VERY_DEEP = 1_200;

const hexOf = (b: Block): string => toHex(blockHash(b));

function lowWorkCharges(node: QuarryNode): number {
  return node.host.securityLog.recent(10_000).filter((e) => e.code === BlockErrorCode.LOW_WORK).length;
}

/** `count` distinct blocks at height 1, each a couple of hashes' work on regtest. */
async function genesisForks(count: number): Promise<Block[]> {
  const blocks: Block[] = [];
  for (let i = 0; i < count; i++) {
    const miner = new Uint8Array(20);
    new DataView(miner.buffer).setUint32(0, i + 1);
    blocks.push(await ChainBuilder.create().mine({ miner }));
  }
  return blocks;
}

/** Dials `node` again and waits for the topic mesh; false when the node refuses (banned). */
async function rejoin(client: GossipAttacker, node: QuarryNode): Promise<boolean> {
  const id = client.peerId.toString();
  if (node.host.reputation.isBanned(id)) return false;
  try {
    // The hang-up reaches the client a moment later: dial once its side has closed too.
    await waitFor(
      () => client.getConnections().every((c) => c.remotePeer.toString() !== node.host.peerId),
      5_000,
      "old connection closed",
    );
    await client.dial(multiaddr(node.host.multiaddrs()[0]!));
    await waitFor(
      () =>
        node.host.libp2p.services.pubsub
          .getSubscribers(REGTEST.blockTopic)
          .some((p) => p.toString() === id) &&
        client.services.pubsub
          .getSubscribers(REGTEST.blockTopic)
          .some((p) => p.toString() === node.host.peerId),
      5_000,
      "attacker meshed again",
    );
    return true;
  } catch {
    return false;
  }
}

describe("BLOCK_LOW_WORK over real libp2p (createNode nodes)", () => {
  const cluster = new Cluster();
  const attackers: GossipAttacker[] = [];
  let liar: TestLibp2p | undefined;
  afterAll(async () => {
    await Promise.allSettled(attackers.map((a) => a.stop()));
    await liar?.libp2p.stop();
    await cluster.stopAll();
  }, 30_000);

  it("a gossip flood of 300 genesis-fork blocks: none stored, none relayed to an observer, the sender charged and banned", async () => {
    const honest = ChainBuilder.create();
    await honest.mineMany(HONEST);
    const victim = await cluster.add({ minPeers: 0, maxPeers: 10 });
    const observer = await cluster.add({ minPeers: 0, maxPeers: 10 });
    await Promise.all([victim, observer].map((n) => feedBlocks(n, honest.blocks.slice(1))));
    await dialNode(observer, victim);
    await waitFor(
      () =>
        victim.host.libp2p.services.pubsub
          .getSubscribers(REGTEST.blockTopic)
          .some((p) => p.toString() === observer.host.peerId),
      10_000,
      "observer in the victim's block mesh",
    );
    const observerBlocksBefore = observer.host.verdicts.total({ kind: "block" });

    const flood = await genesisForks(300);
    const evil = await gossipAttacker(victim, REGTEST.blockTopic);
    attackers.push(evil);
    const id = evil.peerId.toString();
    let delivered = 0;
    let reconnects = 0;
    // One at a time, each judged before the next (the node's in-flight limit would otherwise drop
    // some unread as NET_BUSY, which costs nothing and proves nothing here). Disconnected at 50
    // points, the flooder dials again, as an attacker would, until the ban refuses it.
    for (const block of flood) {
      if (!victim.host.connectedPeers().includes(id)) {
        if (!(await rejoin(evil, victim))) break;
        reconnects++;
      }
      const judged = victim.host.verdicts.total({ kind: "block" });
      await evil.services.pubsub.publish(REGTEST.blockTopic, encodeBlock(block));
      delivered++;
      await waitFor(
        () =>
          victim.host.verdicts.total({ kind: "block" }) > judged ||
          !victim.host.connectedPeers().includes(id),
        5_000,
        "the block judged",
        { intervalMs: 2 },
      );
    }
    await waitFor(() => victim.host.reputation.isBanned(id), 10_000, "flooder banned");
    // 2 points a block and a ban at 100: about fifty blocks, then the connection is refused.
    const lowWork = victim.host.verdicts.total({ code: BlockErrorCode.LOW_WORK });
    expect(lowWork).toBeGreaterThanOrEqual(50);
    expect(lowWork).toBeLessThanOrEqual(delivered);
    expect(delivered).toBeLessThan(flood.length);
    expect(reconnects).toBeGreaterThan(0);
    for (const block of flood) {
      expect(victim.chain.getEntry(hexOf(block))).toBeUndefined();
      expect(observer.chain.getEntry(hexOf(block))).toBeUndefined();
    }
    // Not relayed: the observer's validator never saw a block message.
    expect(observer.host.verdicts.total({ kind: "block" })).toBe(observerBlocksBefore);
    expect(victim.chain.height).toBe(HONEST);
    expect(victim.reorgs).toEqual([]);
    const log = victim.host.securityLog.recent(10_000).filter((e) => e.peerId === id);
    expect(log.some((e) => e.kind === "ban")).toBe(true);
    console.log(
      `low-work: ${delivered} of ${flood.length} genesis-fork blocks delivered (${reconnects} reconnects) before the ban, ${lowWork} judged BLOCK_LOW_WORK, 0 stored, 0 relayed`,
    );
  }, 60_000);

  it("a sync peer claiming more work and serving a branch far behind our tip: nothing stored, nothing charged for the blocks", async () => {
    const honest = ChainBuilder.create();
    await honest.mineMany(HONEST + 100);
    const far = ChainBuilder.create();
    // fork at genesis: its best block has 101 blocks of work, our tip 265, the floor 265 − 144.
    await far.mineMany(100, { miner: new Uint8Array(20).fill(0x77) });
    const node = await cluster.add({ minPeers: 0, maxPeers: 10 });
    await feedBlocks(node, honest.blocks.slice(1));
    liar = await createMaliciousPeer(REGTEST, far.blocks.slice(1), "invalid-blocks", {
      claimedWork: 1n << 200n,
    });
    let rounds = 0;
    node.sync.on("syncComplete", () => rounds++);
    await liar.libp2p.dial(node.host.libp2p.getMultiaddrs());
    await waitFor(() => rounds > 0 && !node.sync.progress().syncing, 60_000, "sync gives up on the liar");
    for (const block of far.blocks.slice(1)) expect(node.chain.getEntry(hexOf(block))).toBeUndefined();
    expect(node.chain.tip.hashHex).toBe(hexOf(honest.tip));
    // We asked for those blocks: serving them is not proof of anything (its empty claim is judged
    // by sync's own rule for peers that do not deliver).
    expect(lowWorkCharges(node)).toBe(0);
  }, 90_000);

  it("a heavier branch forking deeper than the margin syncs in (its downloaded headers prove its work) and nobody is charged", async () => {
    const ours = ChainBuilder.create();
    await ours.mineMany(DEEP);
    const theirs = ChainBuilder.create();
    // Forks at genesis: its first 156 blocks each trail our tip (301 blocks' work) by more than the
    // margin, more than two batches of 64: only the downloaded run of later batches proves them.
    await theirs.mineMany(DEEP + 30, { miner: new Uint8Array(20).fill(0x55) });
    const a = await cluster.add({ minPeers: 0, maxPeers: 10 });
    const b = await cluster.add({ minPeers: 0, maxPeers: 10 });
    await feedBlocks(a, ours.blocks.slice(1));
    await feedBlocks(b, theirs.blocks.slice(1));
    await dialNode(a, b);
    await waitForSameTip([a, b], 60_000, "a adopts the heavier deep branch");
    expect(a.chain.tip.hashHex).toBe(hexOf(theirs.tip));
    expect(a.reorgs.at(-1)?.depth).toBe(DEEP);
    for (const n of [a, b]) {
      expect(lowWorkCharges(n)).toBe(0);
      expect(n.host.verdicts.total({ code: BlockErrorCode.LOW_WORK })).toBe(0);
    }
    expect(a.host.reputation.score(b.host.peerId)).toBe(0);
    expect(b.host.reputation.score(a.host.peerId)).toBe(0);
  }, 90_000);

  it("a heavier branch forking deeper than the old 1,024-block download window syncs in: its checked headers prove its work before the first body", async () => {
    const ours = ChainBuilder.create();
    await ours.mineMany(VERY_DEEP);
    const theirs = ChainBuilder.create();
    // Forks at genesis: its first 1,024 blocks (the most sync held downloaded before headers-first)
    // trail our tip by more than the margin; only its whole header chain proves it heavier.
    await theirs.mineMany(VERY_DEEP + 40, { miner: new Uint8Array(20).fill(0x56) });
    const a = await cluster.add({ minPeers: 0, maxPeers: 10 });
    const b = await cluster.add({ minPeers: 0, maxPeers: 10 });
    await feedBlocks(a, ours.blocks.slice(1));
    await feedBlocks(b, theirs.blocks.slice(1));
    await dialNode(a, b);
    await waitForSameTip([a, b], 120_000, "a adopts the heavier branch forking 1,200 blocks deep");
    expect(a.chain.tip.hashHex).toBe(hexOf(theirs.tip));
    expect(a.reorgs.at(-1)?.depth).toBe(VERY_DEEP);
    expect(lowWorkCharges(a)).toBe(0);
    expect(a.host.reputation.score(b.host.peerId)).toBe(0);
  }, 180_000);
});
