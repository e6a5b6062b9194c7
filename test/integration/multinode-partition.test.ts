import { afterAll, describe, expect, it } from "vitest";
import { BlockErrorCode } from "../../src/consensus/errors.js";
import type { QuarryNode } from "../../src/node.js";
import { blockHash, toHex, transactionId } from "../../src/primitives/index.js";
import { ChainBuilder, testKey, transfer } from "../helpers/chain-builder.js";
import {
  addressOf,
  Cluster,
  dialNode,
  feedBlocks,
  mineBlocks,
  sameTip,
  waitForSameTip,
} from "../helpers/multinode-cluster.js";
import { waitFor } from "../helpers/wait.js";

const PREFIX = 10;
const FUNDS = testKey(9);
// The partition is made with each node's own connection gater: every node bans the other side's
// peers (libp2p then hangs up and refuses dials both ways) under a code that is not a real
// offence; healing lifts the bans and restores the links by dialling, as an operator would.
const PARTITION_CODE = "TEST_PARTITION";

function crossLinks(a: readonly QuarryNode[], b: readonly QuarryNode[]): number {
  const ids = new Set(b.map((n) => n.host.peerId));
  return a.reduce((sum, n) => sum + n.host.connectedPeers().filter((p) => ids.has(p)).length, 0);
}

function setPartition(a: readonly QuarryNode[], b: readonly QuarryNode[], on: boolean): void {
  for (const [mine, theirs] of [
    [a, b],
    [b, a],
  ] as const) {
    for (const n of mine)
      for (const other of theirs) {
        if (on) n.host.reputation.ban(other.host.peerId, PARTITION_CODE, "test partition", 120_000);
        else n.host.reputation.unban(other.host.peerId);
      }
  }
}

describe("partition and heal (createNode, real libp2p and LevelDB)", () => {
  const cluster = new Cluster();
  afterAll(() => cluster.stopAll(), 20_000);

  it("both sides mine apart; after the heal all converge on the most-work chain, the losers report the reorg depth and returned transactions, and nobody is charged BLOCK_LOW_WORK", async () => {
    // A shared prefix whose coinbases fund FUNDS, so the minority side can carry a transfer.
    const builder = ChainBuilder.create();
    await builder.mineMany(PREFIX, { miner: FUNDS.address });

    // The miners start idle: a producer running from start() until the test could stop it mines
    // blocks of its own (ten or more on a busy machine), and a branch of those outweighs the
    // prefix, so the whole cluster would settle on a tip where FUNDS has nothing.
    const a0 = await cluster.add({ minerKey: 1, minPeers: 3, startProducer: false });
    const boot = [addressOf(a0)];
    const a1 = await cluster.add({ bootstrap: boot, minPeers: 3 });
    const b0 = await cluster.add({ bootstrap: boot, minerKey: 2, minPeers: 3, startProducer: false });
    const b1 = await cluster.add({ bootstrap: boot, minPeers: 3 });
    const all = [a0, a1, b0, b1];
    const groupA = [a0, a1];
    const groupB = [b0, b1];
    // Blocks imported out of band are not announced (only mined blocks are): feed every node.
    await Promise.all(all.map((n) => feedBlocks(n, builder.blocks.slice(1))));
    await waitFor(() => all.every((n) => n.host.connectedPeers().length >= 3), 20_000, "full mesh of 4");
    await waitForSameTip(all, 20_000, "prefix everywhere");
    const prefixTip = a0.chain.tip;
    expect(prefixTip.hashHex).toBe(toHex(blockHash(builder.tip)));
    expect(prefixTip.height).toBe(PREFIX);

    // Partition.
    setPartition(groupA, groupB, true);
    await waitFor(() => crossLinks(groupA, groupB) === 0, 10_000, "no links across the partition");
    await waitFor(
      () =>
        a0.host.connectedPeers().includes(a1.host.peerId) &&
        b0.host.connectedPeers().includes(b1.host.peerId),
      10_000,
      "links inside each side",
    );

    // Side B (the minority) carries a transfer in its blocks.
    const tx = transfer(FUNDS, testKey(3).address, 5n, 0n, 1_000n);
    const txId = toHex(transactionId(tx));
    await b0.mempool.add(tx);
    const minedB = await mineBlocks(b0, 3, 15_000);
    const minedA = await mineBlocks(a0, minedB + 5, 15_000);
    await waitForSameTip(groupA, 10_000, "side A agrees");
    await waitForSameTip(groupB, 10_000, "side B agrees");
    expect(b0.mempool.has(txId)).toBe(false);
    expect(sameTip(all)).toBe(false);
    const winner = a0.chain.tip;
    const loser = b0.chain.tip;
    // Every regtest block here is at the pow limit (live times are far behind schedule): more
    // blocks is more work.
    expect(winner.chainWork).toBeGreaterThan(loser.chainWork);
    const depth = loser.height - prefixTip.height;

    // Heal.
    const reorgsBefore = all.map((n) => n.reorgs.length);
    const tHeal = performance.now();
    setPartition(groupA, groupB, false);
    for (const a of groupA) for (const b of groupB) await dialNode(a, b);
    await waitForSameTip(all, 20_000, "same tip after the heal");
    const convergeMs = performance.now() - tHeal;

    for (const n of all) expect(n.chain.tip.hashHex).toBe(winner.hashHex);
    // One reorg per losing node (onto the winner's branch), none on the winning side.
    expect(all.map((n, i) => n.reorgs.length - reorgsBefore[i]!)).toEqual([0, 0, 1, 1]);
    for (const n of groupB) {
      const report = n.reorgs.at(-1);
      expect(report!.depth).toBe(depth);
      expect(report!.forkPoint).toEqual({ hash: prefixTip.hashHex, height: prefixTip.height });
      expect(report!.oldTip.hash).toBe(loser.hashHex);
      expect(report!.returnedTransactions.map((t) => toHex(transactionId(t)))).toEqual([txId]);
    }
    // The losing side's blocks are stale, not low-work: nobody is charged for them (BLOCK_LOW_WORK).
    for (const n of all) {
      expect(n.host.verdicts.total({ code: BlockErrorCode.LOW_WORK })).toBe(0);
      expect(n.host.securityLog.recent(1000).filter((e) => e.code === BlockErrorCode.LOW_WORK)).toEqual([]);
    }
    // The returned transfer is valid on the winning chain too: it is back in the miner's mempool.
    await waitFor(() => b0.mempool.has(txId), 5_000, "returned tx in the mempool");
    console.log(
      `multinode: partition A mined ${minedA}, B mined ${minedB}; converged ${Math.round(convergeMs)} ms ` +
        `after the heal; reorg depth ${depth}, returned ${1} tx`,
    );
  }, 60_000);
});
