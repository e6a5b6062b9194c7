import { TopicValidatorResult } from "@libp2p/gossipsub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlockErrorCode } from "../../src/consensus/errors.js";
import { blockSubsidy, REGTEST } from "../../src/consensus/params.js";
import { NetworkErrorCode } from "../../src/network/index.js";
import type { QuarryNode } from "../../src/node.js";
import { type Block, blockHash, encodeBlock, encodeTransaction, toHex } from "../../src/primitives/index.js";
import { type GossipAttacker, gossipAttacker, withoutWork } from "../helpers/adversary-peer.js";
import { ChainBuilder, testKey, transfer } from "../helpers/chain-builder.js";
import { Cluster, feedBlocks } from "../helpers/multinode-cluster.js";
import { waitFor } from "../helpers/wait.js";

const PREFIX = 5;
const FUNDS = testKey(9);
const TO = testKey(3).address;
const noop = (): void => undefined;

/** One invalid block per consensus rule, each a child of the honest tip (height PREFIX). */
const INVALID_BLOCKS: [string, BlockErrorCode, (b: ChainBuilder) => Promise<Block>][] = [
  [
    "invalid PoW",
    BlockErrorCode.HIGH_HASH,
    async (b) => {
      const block = await b.mine();
      return { ...block, header: withoutWork(block.header) };
    },
  ],
  [
    "invalid merkle root",
    BlockErrorCode.BAD_MERKLE_ROOT,
    (b) => b.mine({ mutate: (x) => void x.header.merkleRoot.fill(1) }),
  ],
  [
    "invalid state root",
    BlockErrorCode.BAD_STATE_ROOT,
    (b) =>
      b.mine({
        mutate: (x) => {
          x.header.stateRoot = new Uint8Array(32).fill(7);
        },
      }),
  ],
  [
    "invalid tx signature",
    BlockErrorCode.BAD_TX,
    (b) => {
      const tx = transfer(FUNDS, TO, 1n, 0n, 10n);
      tx.signature = Uint8Array.from(tx.signature, (v, i) => (i === 5 ? v ^ 1 : v));
      return b.mine({ txs: [tx], mutate: noop });
    },
  ],
  [
    "timestamp below the median time past",
    BlockErrorCode.TIME_TOO_OLD,
    (b) => b.mine({ time: REGTEST.genesis.time, mutate: noop }),
  ],
  [
    "valid header, invalid body (coinbase overpays)",
    BlockErrorCode.BAD_COINBASE_AMOUNT,
    (b) => b.mine({ coinbaseAmount: blockSubsidy(PREFIX + 1, REGTEST) * 3n, mutate: noop }),
  ],
  [
    "duplicate txs in a block",
    BlockErrorCode.DUPLICATE_TX,
    (b) => {
      const tx = transfer(FUNDS, TO, 1n, 0n, 10n);
      return b.mine({ txs: [tx, tx], mutate: noop });
    },
  ],
];

describe("adversarial gossip peers (plain libp2p) against a createNode node", () => {
  const cluster = new Cluster();
  const attackers: GossipAttacker[] = [];
  const builder = ChainBuilder.create();
  let node: QuarryNode;
  let tipBefore: string;

  beforeAll(async () => {
    await builder.mineMany(PREFIX, { miner: FUNDS.address });
    node = await cluster.add({ minPeers: 0, maxPeers: 40 });
    await feedBlocks(node, builder.blocks.slice(1));
    tipBefore = node.chain.tip.hashHex;
  }, 20_000);

  afterAll(async () => {
    await Promise.allSettled(attackers.map((a) => a.stop()));
    await cluster.stopAll();
  }, 20_000);

  async function attacker(topic = REGTEST.blockTopic): Promise<GossipAttacker> {
    const a = await gossipAttacker(node, topic);
    attackers.push(a);
    return a;
  }

  function expectHonestStateIntact(): void {
    expect(node.chain.tip.hashHex).toBe(tipBefore);
    expect(node.chain.height).toBe(PREFIX);
    // Bounded: the orphan pool and the security log have ceilings whatever peers send.
    expect(node.chain.orphanCount).toBeLessThanOrEqual(256);
    expect(node.host.securityLog.size).toBeLessThanOrEqual(1000);
  }

  it.each(INVALID_BLOCKS)(
    "%s: %s, the sender is banned and logged, the tip is unchanged",
    async (_, code, make) => {
      const block = await make(builder.fork(PREFIX));
      const evil = await attacker();
      const id = evil.peerId.toString();
      await evil.services.pubsub.publish(REGTEST.blockTopic, encodeBlock(block));
      await waitFor(() => node.host.reputation.isBanned(id), 5_000, `${code}: sender banned`);
      await waitFor(() => !node.host.connectedPeers().includes(id), 5_000, "sender hung up");
      const log = node.host.securityLog.recent(1000).filter((e) => e.peerId === id);
      expect(log.map((e) => [e.kind, e.code])).toEqual(
        expect.arrayContaining([
          ["block", code],
          ["ban", code],
        ]),
      );
      expect(node.host.verdicts.total({ code, result: TopicValidatorResult.Reject })).toBeGreaterThan(0);
      expectHonestStateIntact();
    },
  );

  it("BLOCK_TIME_TOO_NEW: a block too far ahead of our clock is ignored without penalty (the sender's clock may differ)", async () => {
    const block = await builder
      .fork(PREFIX)
      .mine({ time: Math.floor(Date.now() / 1000) + 3 * 3600, mutate: noop });
    const evil = await attacker();
    await evil.services.pubsub.publish(REGTEST.blockTopic, encodeBlock(block));
    await waitFor(
      () => node.host.verdicts.total({ code: BlockErrorCode.TIME_TOO_NEW }) > 0,
      5_000,
      "verdict",
    );
    expect(node.host.reputation.score(evil.peerId.toString())).toBe(0);
    expectHonestStateIntact();
  });

  it("replayed old blocks are ignored as duplicates: no penalty, no relay, tip unchanged", async () => {
    const before = node.host.verdicts.total({ kind: "block", result: TopicValidatorResult.Ignore });
    const evil = await attacker();
    for (const old of builder.blocks.slice(1))
      await evil.services.pubsub.publish(REGTEST.blockTopic, encodeBlock(old));
    await waitFor(
      () =>
        node.host.verdicts.total({ kind: "block", result: TopicValidatorResult.Ignore }) >= before + PREFIX,
      5_000,
      "all replays judged",
    );
    expect(node.host.reputation.score(evil.peerId.toString())).toBe(0);
    expectHonestStateIntact();
  });

  it("a lighter branch of valid blocks within the low-work margin is stored on a side branch, uncharged, and never becomes the tip", async () => {
    const lowWork = builder.fork(0);
    const branch = await lowWork.mineMany(PREFIX - 2, { miner: new Uint8Array(20).fill(0x66) });
    const evil = await attacker();
    for (const b of branch) await evil.services.pubsub.publish(REGTEST.blockTopic, encodeBlock(b));
    await waitFor(
      () => node.chain.getEntry(toHex(blockHash(lowWork.tip))) !== undefined,
      5_000,
      "side branch stored",
    );
    expect(node.reorgs).toEqual([]);
    expect(node.host.reputation.score(evil.peerId.toString())).toBe(0);
    expectHonestStateIntact();
  });

  it("NET_THROTTLED: a tx flood past the per-peer rate is dropped unread and not charged (below ten times the rate); the mempool stays bounded", async () => {
    const evil = await attacker(REGTEST.txTopic);
    const id = evil.peerId.toString();
    // Valid, funded, distinct transfers (no consensus fault): only the rate is at stake. The
    // throttle holds 500 and refills 200/s; the abuse limit is ten times that (5000, 2000/s), which
    // 2000 messages cannot reach: NET_FLOOD and its ban are tested with small limits in
    // network-malicious.test.ts.
    const txs = Array.from({ length: 2_000 }, (_, i) => transfer(FUNDS, TO, 1n, BigInt(i), 10n));
    const before = node.host.verdicts.total({ kind: "tx" });
    for (const tx of txs)
      await evil.services.pubsub.publish(REGTEST.txTopic, encodeTransaction(tx)).catch(noop);
    await waitFor(
      () => node.host.verdicts.total({ kind: "tx" }) - before >= txs.length,
      20_000,
      "every tx seen by the validator",
    );
    expect(node.host.verdicts.total({ kind: "tx", code: NetworkErrorCode.THROTTLED })).toBeGreaterThan(0);
    expect(node.host.verdicts.total({ kind: "tx", code: NetworkErrorCode.FLOOD })).toBe(0);
    expect(node.host.reputation.score(id)).toBe(0);
    expect(node.host.reputation.isBanned(id)).toBe(false);
    // At most the per-sender limit of this sender's chain of nonces waits in the pool.
    expect(node.mempool.size).toBeLessThanOrEqual(64);
    expectHonestStateIntact();
  });
});
