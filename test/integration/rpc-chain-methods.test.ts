import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReorgEvent } from "../../src/chain/index.js";
import { merkleRoot } from "../../src/consensus/merkle.js";
import { REGTEST } from "../../src/consensus/params.js";
import { createNode, type QuarryNode } from "../../src/node.js";
import { type Block, blockEnvelope, blockHash } from "../../src/primitives/block.js";
import { toHex } from "../../src/primitives/bytes.js";
import {
  type CoinbaseTx,
  encodeTransaction,
  TRANSFER_SIZE,
  transactionId,
} from "../../src/primitives/transaction.js";
import { silentLogger } from "../../src/util/logger.js";
import { ChainBuilder, testAddress, testKey, transfer } from "../helpers/chain-builder.js";
import { Cluster, feedBlocks } from "../helpers/multinode-cluster.js";
import { callRpc, rpcOk } from "../helpers/node-rpc.js";

const [mainMiner, forkMiner] = [testKey(1), testKey(2)];
const hashOf = (b: Block) => toHex(blockHash(b));

interface Tip {
  height: number;
  hash: string;
  status: string;
  branchLength: number;
  forkHeight: number;
  invalidCode?: string;
}

/**
 * The operator's chain methods on a real node (createNode, LevelDB, the HTTP API): a main chain of
 * 5 blocks, a 2-block side branch from height 2, and a block refused for its coinbase at height 2.
 */
describe("operator chain methods over JSON-RPC", () => {
  const cluster = new Cluster();
  let node: QuarryNode;
  let main: Block[];
  let fork: Block[];
  let invalid: Block;
  let forkBuilder: ChainBuilder;
  let mainBuilder: ChainBuilder;

  beforeAll(async () => {
    node = await cluster.add();
    mainBuilder = ChainBuilder.create();
    main = await mainBuilder.mineMany(5, { miner: mainMiner.address });
    forkBuilder = mainBuilder.fork(2);
    fork = [
      await forkBuilder.mine({ miner: forkMiner.address }),
      await forkBuilder.mine({ miner: forkMiner.address }),
    ];
    // Refused on arrival for a stateless rule (its coinbase names another height): stored as invalid.
    invalid = await mainBuilder.fork(1).mine({
      mutate: (b) => {
        b.txs[0] = { ...(b.txs[0] as CoinbaseTx), height: 7 };
        b.header.merkleRoot = merkleRoot(b.txs.map(transactionId));
      },
    });
    await feedBlocks(node, [...main, ...fork]);
    await expect(node.chain.processBlock(blockEnvelope(invalid))).rejects.toThrow();
  }, 60_000);

  afterAll(() => cluster.stopAll());

  it("getBlockHash: the main-chain hash at a height; bad or missing height is -32602, above the tip -32004", async () => {
    expect(await rpcOk(node, "getBlockHash", [3])).toBe(hashOf(main[2]!));
    expect(await rpcOk(node, "getBlockHash", { height: "0" })).toBe(node.chain.entryAtHeight(0)!.hashHex);
    for (const bad of [[-1], ["x"], [1.5], []]) {
      const answer = await callRpc(node, "getBlockHash", bad);
      expect(answer.error?.code).toBe(-32602);
      expect(answer.error?.message).toContain("'height'");
    }
    expect((await callRpc(node, "getBlockHash", [99])).error?.code).toBe(-32004);
  });

  it("getBlockHeader: by height, hash or tip, side branches too; bad id -32602, unknown -32004", async () => {
    const byHeight = await rpcOk<{ hash: string; status: string; nextBlockHash: string }>(
      node,
      "getBlockHeader",
      ["3"],
    );
    expect(byHeight).toMatchObject({
      hash: hashOf(main[2]!),
      status: "active",
      nextBlockHash: hashOf(main[3]!),
    });
    const side = await rpcOk<{ height: number; status: string; mainChain: boolean; hex: string }>(
      node,
      "getBlockHeader",
      [hashOf(fork[1]!)],
    );
    expect(side).toMatchObject({ height: 4, status: "valid-headers", mainChain: false });
    expect(side.hex).toHaveLength(116 * 2);
    const refused = await rpcOk<{ status: string; invalidCode: string }>(node, "getBlockHeader", [
      hashOf(invalid),
    ]);
    expect(refused).toMatchObject({ status: "invalid", invalidCode: "BLOCK_BAD_COINBASE_HEIGHT" });
    expect((await rpcOk<{ height: number }>(node, "getBlockHeader", ["tip"])).height).toBe(5);
    const bad = await callRpc(node, "getBlockHeader", ["zz"]);
    expect(bad.error).toMatchObject({ code: -32602, data: { param: "id" } });
    expect((await callRpc(node, "getBlockHeader", ["ab".repeat(32)])).error?.code).toBe(-32004);
    // REST GET for the read-only method
    const rest = await fetch(`${node.api.url}/api/getBlockHeader?id=2`);
    expect(((await rest.json()) as { hash: string }).hash).toBe(hashOf(main[1]!));
  });

  it("getChainTips: the active tip, the side branch (valid-headers) and the refused block (invalid)", async () => {
    const tips = await rpcOk<Tip[]>(node, "getChainTips");
    expect(tips).toHaveLength(3);
    expect(tips[0]).toMatchObject({ height: 5, hash: hashOf(main[4]!), status: "active", branchLength: 0 });
    expect(tips.find((t) => t.hash === hashOf(fork[1]!))).toMatchObject({
      height: 4,
      status: "valid-headers",
      branchLength: 2,
      forkHeight: 2,
    });
    expect(tips.find((t) => t.hash === hashOf(invalid))).toMatchObject({
      height: 2,
      status: "invalid",
      branchLength: 1,
      forkHeight: 1,
      invalidCode: "BLOCK_BAD_COINBASE_HEIGHT",
    });
    expect((await callRpc(node, "getChainTips", [1])).error?.code).toBe(-32602);
  });

  it("getNetworkInfo: network, genesis, protocols, peer id, addresses, connections, relay fee and limits", async () => {
    const info = await rpcOk<Record<string, unknown>>(node, "getNetworkInfo");
    expect(info).toMatchObject({
      network: "regtest",
      genesis: node.chain.entryAtHeight(0)!.hashHex,
      peerId: node.host.peerId,
      connections: 0,
      announce: [],
      relay: { minFeePerKb: "1", maxBlockBytes: REGTEST.maxBlockBytes, maxBlockTxs: REGTEST.maxBlockTxs },
    });
    expect((info.protocols as { blocks: string }).blocks).toBe(REGTEST.blockTopic);
    expect((info.listen as string[])[0]).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//);
  });

  it("getMempoolEntry and estimateFee: a pooled transfer's fee, size and rate; fee estimates never below the relay minimum", async () => {
    const tx = transfer(mainMiner, forkMiner.address, 1000n, 0n, 29n);
    const sent = await rpcOk<{ id: string }>(node, "sendRawTransaction", [toHex(encodeTransaction(tx))]);
    expect(sent.id).toBe(toHex(transactionId(tx)));
    const entry = await rpcOk<Record<string, unknown>>(node, "getMempoolEntry", [sent.id]);
    expect(entry).toMatchObject({
      id: sent.id,
      size: TRANSFER_SIZE,
      fee: "29",
      feePerKb: "200",
      executable: true,
    });
    expect((await callRpc(node, "getMempoolEntry", ["nope"])).error).toMatchObject({
      code: -32602,
      data: { param: "id" },
    });
    expect((await callRpc(node, "getMempoolEntry", ["00".repeat(32)])).error?.code).toBe(-32004);

    // Blocks with room and a mempool far from filling a block: the relay minimum is enough.
    const estimate = await rpcOk<Record<string, unknown>>(node, "estimateFee", [2]);
    expect(estimate).toMatchObject({
      nBlocks: 2,
      feePerKb: "1",
      minFeePerKb: "1",
      blocksSampled: 5,
      transferFee: "1",
    });
    for (const bad of [[0], [101], ["two"], []]) {
      const answer = await callRpc(node, "estimateFee", bad);
      expect(answer.error).toMatchObject({ code: -32602 });
      expect(answer.error?.message).toContain("'nBlocks'");
    }
  });

  it("invalidateBlock/reconsiderBlock need the token (-32001); bad hash -32602, unknown -32004, genesis -32602", async () => {
    const denied = await callRpc(node, "invalidateBlock", [hashOf(main[4]!)], { token: false });
    expect(denied.status).toBe(401);
    expect(denied.error?.code).toBe(-32001);
    expect((await callRpc(node, "reconsiderBlock", ["xyz"])).error).toMatchObject({
      code: -32602,
      data: { param: "hash" },
    });
    expect((await callRpc(node, "invalidateBlock", ["cd".repeat(32)])).error?.code).toBe(-32004);
    const genesis = node.chain.entryAtHeight(0)!.hashHex;
    expect((await callRpc(node, "invalidateBlock", [genesis])).error).toMatchObject({ code: -32602 });
    expect(node.chain.height).toBe(5);
  });

  it("invalidateBlock reorgs to the side branch, reconsiderBlock back to the main chain; balances follow the branch", async () => {
    const reorgs: ReorgEvent[] = [];
    node.chain.on("reorg", (r) => reorgs.push(r));
    const balance = async (i: number) =>
      BigInt((await rpcOk<{ balance: string }>(node, "getAccount", [testAddress(i)])).balance);

    const invalidated = await rpcOk<{ tip: string; height: number }>(node, "invalidateBlock", [
      hashOf(main[2]!),
    ]);
    expect(invalidated).toMatchObject({ tip: hashOf(fork[1]!), height: 4 });
    expect(reorgs.at(-1)).toMatchObject({
      depth: 3,
      forkPoint: { height: 2 },
      newTip: { hash: hashOf(fork[1]!) },
    });
    expect(await balance(2)).toBe(forkBuilder.account(forkMiner.address).balance);
    expect(await balance(1)).toBe(forkBuilder.account(mainMiner.address).balance);
    const tips = await rpcOk<Tip[]>(node, "getChainTips");
    expect(tips.find((t) => t.hash === hashOf(main[4]!))).toMatchObject({
      status: "invalid",
      invalidCode: "OPERATOR_INVALIDATED",
    });
    // A block built on an invalidated one is refused like any invalid descendant.
    const child = await mainBuilder.mine({ miner: mainMiner.address });
    await expect(node.chain.processBlock(blockEnvelope(child))).rejects.toThrow(/invalid/);

    const reconsidered = await rpcOk<{ tip: string; height: number; cleared: number }>(
      node,
      "reconsiderBlock",
      [hashOf(main[3]!)],
    );
    // main 3, 4, 5 and the child at 6 had marks; the refused coinbase block is no ancestor of them
    expect(reconsidered).toMatchObject({ tip: hashOf(main[4]!), height: 5, cleared: 3 });
    expect(reorgs.at(-1)).toMatchObject({ depth: 2, newTip: { hash: hashOf(main[4]!) } });
    expect(await balance(2)).toBe(0n);
    expect(await balance(1)).toBe(mainBuilder.fork(5).account(mainMiner.address).balance);
  });

  it("an invalidation survives a restart; the restarted node's state matches its tip (Chain.open checks the root)", async () => {
    const invalidated = await rpcOk<{ tip: string; height: number }>(node, "invalidateBlock", [
      hashOf(main[4]!),
    ]);
    // The side branch at height 4 has the same work as main 4, which arrived first.
    expect(invalidated).toMatchObject({ tip: hashOf(main[3]!), height: 4 });
    await node.stop();
    node = await createNode(node.options, { log: silentLogger });
    cluster.nodes.push(node);
    await node.start();
    expect(node.chain.tip.hashHex).toBe(hashOf(main[3]!));
    expect(await rpcOk<{ status: string }>(node, "getBlockHeader", [hashOf(main[4]!)])).toMatchObject({
      status: "invalid",
    });
    const back = await rpcOk<{ tip: string }>(node, "reconsiderBlock", [hashOf(main[4]!)]);
    expect(back.tip).toBe(hashOf(main[4]!));
  });
});
