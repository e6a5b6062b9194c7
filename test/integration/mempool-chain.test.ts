import { afterEach, describe, expect, it } from "vitest";
import type { ReorgEvent } from "../../src/chain/index.js";
import { REGTEST } from "../../src/consensus/params.js";
import { Mempool, type TxRemovedEvent } from "../../src/mempool/index.js";
import { blockEnvelope } from "../../src/primitives/block.js";
import { type TransferTx, toHex, transactionId } from "../../src/primitives/index.js";
import { ChainBuilder, testKey, transfer } from "../helpers/chain-builder.js";
import { type OpenedChain, openChain } from "../helpers/open-chain.js";
import { tempDir } from "../helpers/temp-dir.js";

const [alice, bob, carol, dave] = [testKey(1), testKey(2), testKey(3), testKey(4)];
const sink = testKey(99).address;
const id = (tx: TransferTx) => toHex(transactionId(tx));

/** A real chain over LevelDB wired to a mempool the way the composition root does it. */
async function setup() {
  const dir = tempDir();
  const opened: OpenedChain = await openChain(dir.path);
  const mempool = new Mempool({ expirySweepIntervalMs: 0 }, { params: REGTEST, state: opened.chain });
  const failures: unknown[] = [];
  const reorgs: ReorgEvent[] = [];
  opened.chain.on("blockConnected", (e) => {
    mempool.onBlockConnected(e.block).catch((err: unknown) => failures.push(err));
  });
  opened.chain.on("reorg", (e) => {
    reorgs.push(e);
    mempool.onReorg(e).catch((err: unknown) => failures.push(err));
  });
  const removed: TxRemovedEvent[] = [];
  mempool.on("txRemoved", (e) => removed.push(e));
  await mempool.start();
  // Funding: alice, bob and carol each mine one block (50 coins).
  const builder = ChainBuilder.create();
  for (const k of [alice, bob, carol]) await builder.mine({ miner: k.address });
  for (const block of builder.blocks.slice(1)) await opened.chain.processBlock(blockEnvelope(block));
  await mempool.settled();
  return {
    chain: opened.chain,
    mempool,
    builder,
    removed,
    reorgs,
    failures,
    close: async () => {
      await mempool.stop();
      await opened.close();
      dir.cleanup();
    },
  };
}

describe("mempool wired to a real chain", () => {
  let ctx: Awaited<ReturnType<typeof setup>> | undefined;
  afterEach(async () => {
    await ctx?.close();
    ctx = undefined;
  });

  it("blockConnected removes included transfers, a conflicting nonce, and what became unaffordable", async () => {
    ctx = await setup();
    const { chain, mempool, builder, removed } = ctx;
    const a0 = transfer(alice, sink, 100n, 0n, 10n);
    const a1 = transfer(alice, sink, 100n, 1n, 10n);
    const b0 = transfer(bob, sink, 100n, 0n, 10n);
    const b0Other = transfer(bob, sink, 7n, 0n, 1n); // mined elsewhere, conflicts with b0
    const carolBalance = builder.account(carol.address).balance;
    const c1 = transfer(carol, sink, 1000n, 1n, 10n); // waits for carol's nonce 0
    const c0Big = transfer(carol, sink, carolBalance - 500n, 0n, 1n); // not in our pool; leaves 499
    for (const tx of [a0, a1, b0, c1]) await mempool.add(tx);
    expect(mempool.size).toBe(4);

    const block = await builder.mine({ txs: [a0, b0Other, c0Big] });
    await chain.processBlock(blockEnvelope(block));
    await mempool.settled();
    expect(ctx.failures).toEqual([]);
    expect(mempool.ids()).toEqual([id(a1)]);
    expect(removed.map((e) => [e.id, e.reason])).toEqual([
      [id(a0), "included"],
      [id(b0), "nonce-too-low"],
      [id(c1), "unaffordable"],
    ]);
    // The template is valid on the new tip: it connects.
    const next = await builder.mine({
      txs: mempool.selectForBlock(REGTEST.maxBlockTxs, REGTEST.maxBlockBytes),
    });
    await chain.processBlock(blockEnvelope(next));
    await mempool.settled();
    expect(mempool.size).toBe(0);
  });

  it("tip accounts: an add made as a burst's funding block connects reads it funded while the rest of the burst moves the tip", async () => {
    ctx = await setup();
    const { chain, mempool, builder } = ctx;
    // dave is funded by the first block of a burst; four more follow before anyone awaits.
    const burst = [
      await builder.mine({ miner: dave.address }),
      ...(await builder.mineMany(4, { miner: sink })),
    ];
    const fundedAt = builder.height - 4;
    const d0 = transfer(dave, sink, 5n, 0n, 1_000n);
    const adds: Promise<unknown>[] = [];
    const heightsSeenByAdd: number[] = [];
    // Registered after the mempool's own listener (setup), as the node's other reactions are: the
    // chain has written the block and moved its tip, and the mempool has heard of it.
    chain.on("blockConnected", ({ height }) => {
      if (height !== fundedAt) return;
      heightsSeenByAdd.push(chain.height);
      adds.push(mempool.add(d0));
    });
    const imports = burst.map((block) => chain.processBlock(blockEnvelope(block)));
    await Promise.all(imports);
    expect(heightsSeenByAdd).toEqual([fundedAt]);
    await expect(adds[0]).resolves.toMatchObject({ id: id(d0), executable: true });
    await mempool.settled();
    expect(ctx.failures).toEqual([]);
    expect(chain.height).toBe(fundedAt + 4);
    // Still pooled after every block of the burst was revalidated.
    expect(mempool.ids()).toEqual([id(d0)]);
  });

  it("reorg: the losing branch's transfers return if still valid, the rest are dropped", async () => {
    ctx = await setup();
    const { chain, mempool, builder, reorgs } = ctx;
    const fork = builder.fork(builder.height);
    // Old branch: alice pays dave 1000 (t0), bob pays (b0); dave spends from it in the pool.
    const t0 = transfer(alice, dave.address, 1000n, 0n, 10n);
    const b0 = transfer(bob, sink, 5n, 0n, 10n);
    await mempool.add(t0);
    await mempool.add(b0);
    await chain.processBlock(blockEnvelope(await builder.mine({ txs: [t0, b0] })));
    await mempool.settled();
    expect(mempool.size).toBe(0);
    const t1 = transfer(alice, sink, 1n, 1n, 10n);
    const d0 = transfer(dave, sink, 500n, 0n, 10n);
    await mempool.add(t1);
    await mempool.add(d0);
    expect(mempool.selectForBlock(100, 1_000_000).map(id)).toEqual([t1, d0].map(id));

    // New branch, more work: includes b0 but not t0.
    await chain.processBlock(blockEnvelope(await fork.mine({ txs: [b0] })));
    await chain.processBlock(blockEnvelope(await fork.mine()));
    await mempool.settled();
    expect(ctx.failures).toEqual([]);
    expect(reorgs).toHaveLength(1);
    expect(reorgs[0]!.returnedTransactions.map(id)).toEqual([id(t0)]);

    // t0 is back, t1 waits behind it again, d0 went: dave has nothing on the new branch.
    expect(mempool.has(id(t0))).toBe(true);
    expect(mempool.has(id(t1))).toBe(true);
    expect(mempool.has(id(d0))).toBe(false);
    expect(mempool.has(id(b0))).toBe(false);
    expect(ctx.removed.find((e) => e.id === id(d0))?.reason).toBe("unaffordable");
    const template = mempool.selectForBlock(REGTEST.maxBlockTxs, REGTEST.maxBlockBytes);
    expect(template.map(id)).toEqual([t0, t1].map(id));
    await chain.processBlock(blockEnvelope(await fork.mine({ txs: template })));
    await mempool.settled();
    expect(mempool.size).toBe(0);
    expect((await chain.getAccounts([dave.address])).get(toHex(dave.address))?.balance).toBe(1000n);
  });
});
