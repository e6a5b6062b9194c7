import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ReorgEvent } from "../../../src/chain/events.js";
import { verifyTipState } from "../../../src/chain/verify.js";
import { encodeAccount } from "../../../src/consensus/account.js";
import { BlockError, BlockErrorCode } from "../../../src/consensus/errors.js";
import { blockSubsidy, REGTEST } from "../../../src/consensus/params.js";
import { compactToTarget, hashToBigInt } from "../../../src/consensus/pow.js";
import { prepareBlock } from "../../../src/miner/block-template.js";
import {
  type Block,
  blockEnvelope,
  blockHash,
  headerHash,
  toHex,
  transactionId,
} from "../../../src/primitives/index.js";
import { ChainStore } from "../../../src/store/chain-store.js";
import { StoreError, StoreErrorCode } from "../../../src/store/errors.js";
import { keys, SCHEMA_VERSION } from "../../../src/store/layout.js";
import { BlockStatus } from "../../../src/store/records.js";
import { manualClock } from "../../../src/util/clock.js";
import { ChainBuilder, mineHeader, testKey, transfer } from "../../helpers/chain-builder.js";
import { type OpenedChain, openChain } from "../../helpers/open-chain.js";
import { tempDir } from "../../helpers/temp-dir.js";

const alice = testKey(1);
const bob = testKey(2);
const carol = testKey(3);

let dir: ReturnType<typeof tempDir>;
let opened: OpenedChain | undefined;

beforeEach(() => {
  dir = tempDir();
});

afterEach(async () => {
  await opened?.close();
  opened = undefined;
  dir.cleanup();
});

async function open(opts: Parameters<typeof openChain>[1] = {}): Promise<OpenedChain> {
  opened = await openChain(dir.path, opts);
  return opened;
}

async function feed(o: OpenedChain, blocks: readonly Block[]): Promise<void> {
  for (const block of blocks) await o.chain.processBlock(blockEnvelope(block));
}

function codeOf(err: unknown): string {
  if (err instanceof BlockError) return err.type.code;
  if (err instanceof StoreError) return err.code;
  throw err;
}

async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return codeOf(err);
  }
  throw new Error("expected a rejection");
}

describe("store and chain basics", () => {
  it("a fresh store starts at genesis and reopens at the same tip", async () => {
    const builder = ChainBuilder.create();
    let o = await open();
    expect(o.chain.height).toBe(0);
    expect(o.chain.tip.hashHex).toBe(toHex(blockHash(builder.tip)));
    await feed(o, await builder.mineMany(5));
    await o.close();
    o = await open();
    expect(o.chain.height).toBe(5);
    expect(o.chain.tip.hashHex).toBe(toHex(blockHash(builder.tip)));
  });

  it("connects transfers and keeps balances", async () => {
    const builder = ChainBuilder.create();
    const o = await open();
    await feed(o, [await builder.mine({ miner: alice.address })]);
    await feed(o, [await builder.mine({ txs: [transfer(alice, bob.address, 700n, 0n, 5n)] })]);
    const accounts = await o.chain.getAccounts([alice.address, bob.address]);
    expect(accounts.get(toHex(alice.address))).toEqual({
      balance: blockSubsidy(1, REGTEST) - 705n,
      nonce: 1n,
    });
    expect(accounts.get(toHex(bob.address))).toEqual({ balance: 700n, nonce: 0n });
  });

  it("refuses a store written by a newer schema (STORE_SCHEMA_TOO_NEW)", async () => {
    await (await open()).close();
    opened = undefined;
    const db = new ClassicLevel<Uint8Array, Uint8Array>(join(dir.path, "chain"), {
      keyEncoding: "view",
      valueEncoding: "view",
    });
    await db.put(keys.meta("schema"), Uint8Array.of(0, 0, 0, SCHEMA_VERSION + 1));
    await db.close();
    expect(await rejection(open())).toBe(StoreErrorCode.SCHEMA_TOO_NEW);
  });

  it("refuses another network's data dir (STORE_NETWORK_MISMATCH)", async () => {
    await (await open()).close();
    opened = undefined;
    const store = new ChainStore({ location: join(dir.path, "chain"), network: "devnet" });
    expect(await rejection(store.open())).toBe(StoreErrorCode.NETWORK_MISMATCH);
  });

  it("refuses to run on a tampered state (STORE_STATE_MISMATCH)", async () => {
    const builder = ChainBuilder.create();
    const o = await open();
    await feed(o, [await builder.mine({ miner: alice.address })]);
    await o.close();
    opened = undefined;
    const db = new ClassicLevel<Uint8Array, Uint8Array>(join(dir.path, "chain"), {
      keyEncoding: "view",
      valueEncoding: "view",
    });
    await db.put(keys.account(alice.address), encodeAccount({ balance: 1n, nonce: 0n }));
    await db.close();
    expect(await rejection(open())).toBe(StoreErrorCode.STATE_MISMATCH);
  });
});

describe("fork choice and reorgs", () => {
  it("reorg depth 1: a longer competing branch wins and the losing transfer is returned", async () => {
    const main = ChainBuilder.create();
    const o = await open();
    await feed(o, [await main.mine({ miner: alice.address })]);
    const side = main.fork(1);
    const tx = transfer(alice, bob.address, 100n, 0n);
    await feed(o, [await main.mine({ txs: [tx] })]);
    expect(await o.chain.getTransaction(toHex(transactionId(tx)))).toMatchObject({ height: 2, index: 1 });
    const reorgs: ReorgEvent[] = [];
    o.chain.on("reorg", (r) => reorgs.push(r));
    const [s2, s3] = await side.mineMany(2, { miner: carol.address });
    expect((await o.chain.processBlock(blockEnvelope(s2!))).status).toBe("side-branch");
    expect((await o.chain.processBlock(blockEnvelope(s3!))).status).toBe("connected");
    expect(o.chain.tip.hashHex).toBe(toHex(blockHash(s3!)));
    expect(reorgs).toHaveLength(1);
    expect(reorgs[0]!.depth).toBe(1);
    expect(reorgs[0]!.forkPoint.height).toBe(1);
    expect(reorgs[0]!.returnedTransactions.map((t) => t.signature)).toEqual([tx.signature]);
    const accounts = await o.chain.getAccounts([alice.address, bob.address, carol.address]);
    expect(accounts.get(toHex(alice.address))).toEqual({ balance: blockSubsidy(1, REGTEST), nonce: 0n });
    expect(accounts.has(toHex(bob.address))).toBe(false);
    expect(accounts.get(toHex(carol.address))?.balance).toBe(
      blockSubsidy(2, REGTEST) + blockSubsidy(3, REGTEST),
    );
  });

  it("equal-work tie: the first-seen branch stays", async () => {
    const main = ChainBuilder.create();
    const o = await open();
    await feed(o, await main.mineMany(3));
    const side = main.fork(2);
    const first = await main.mine({ miner: alice.address });
    const second = await side.mine({ miner: bob.address });
    await o.chain.processBlock(blockEnvelope(first));
    expect((await o.chain.processBlock(blockEnvelope(second))).status).toBe("side-branch");
    expect(o.chain.tip.hashHex).toBe(toHex(blockHash(first)));
  });

  it("a deep reorg (120 blocks) restores state exactly: undo gives the fork point's state root", async () => {
    const main = ChainBuilder.create();
    const o = await open();
    await feed(o, [await main.mine({ miner: alice.address })]);
    const side = main.fork(1);
    for (let i = 0n; i < 120n; i++) {
      await feed(o, [await main.mine({ txs: [transfer(alice, bob.address, 10n, i)], miner: bob.address })]);
    }
    expect(o.chain.height).toBe(121);
    const branch = await side.mineMany(121, { miner: carol.address });
    const reorgs: ReorgEvent[] = [];
    o.chain.on("reorg", (r) => reorgs.push(r));
    await feed(o, branch);
    expect(reorgs).toHaveLength(1);
    expect(reorgs[0]!.depth).toBe(120);
    expect(reorgs[0]!.returnedTransactions).toHaveLength(120);
    // returned in nonce order, oldest first
    expect(reorgs[0]!.returnedTransactions.map((t) => t.nonce)).toEqual(
      Array.from({ length: 120 }, (_, i) => BigInt(i)),
    );
    expect(o.chain.tip.hashHex).toBe(toHex(blockHash(side.tip)));
    expect(toHex(o.chain.tip.header.stateRoot)).toBe(toHex(side.tip.header.stateRoot));
    await verifyTipState(o.store, o.chain.tip);
    const accounts = await o.chain.getAccounts([alice.address, bob.address]);
    expect(accounts.get(toHex(alice.address))).toEqual(side.account(alice.address));
    expect(accounts.has(toHex(bob.address))).toBe(false);
  });

  it("a branch that fails mid-way: stays on the old chain, marks the bad block and its descendants invalid", async () => {
    const main = ChainBuilder.create();
    const o = await open();
    await feed(o, [await main.mine({ miner: alice.address })]);
    const side = main.fork(1);
    await feed(o, await main.mineMany(2));
    const oldTip = o.chain.tip.hashHex;
    const invalidEvents: string[] = [];
    o.chain.on("invalidBlock", (e) => invalidEvents.push(e.code));
    const s2 = await side.mine();
    // Overspends: passes header and body checks, fails only when applied to the state.
    const overspend = transfer(alice, bob.address, blockSubsidy(1, REGTEST) * 2n, 0n);
    const s3 = await side.mine({ txs: [overspend], mutate: () => {} });
    const [s4, s5] = await side.mineMany(2);
    await o.chain.processBlock(blockEnvelope(s2));
    await o.chain.processBlock(blockEnvelope(s3));
    // s4 completes the branch with more work: connecting it reaches s3, which fails.
    expect(await rejection(o.chain.processBlock(blockEnvelope(s4!)))).toBe(BlockErrorCode.INVALID_ANCESTOR);
    expect(o.chain.tip.hashHex).toBe(oldTip);
    expect(o.chain.getEntry(toHex(blockHash(s3)))?.status).toBe(BlockStatus.Invalid);
    expect(o.chain.getEntry(toHex(blockHash(s4!)))?.status).toBe(BlockStatus.InvalidChild);
    expect(invalidEvents).toContain(BlockErrorCode.BAD_TX);
    // Descendants and re-sends are refused without work.
    expect(await rejection(o.chain.processBlock(blockEnvelope(s5!)))).toBe(BlockErrorCode.INVALID_ANCESTOR);
    expect(await rejection(o.chain.processBlock(blockEnvelope(s3)))).toBe(BlockErrorCode.KNOWN_INVALID);
    await verifyTipState(o.store, o.chain.tip);
    // The marks survive a restart.
    await o.close();
    const again = await open();
    expect(again.chain.tip.hashHex).toBe(oldTip);
    expect(await rejection(again.chain.processBlock(blockEnvelope(s3)))).toBe(BlockErrorCode.KNOWN_INVALID);
  });

  it("a block with a wrong state root is BLOCK_BAD_STATE_ROOT and the tip does not move", async () => {
    const main = ChainBuilder.create();
    const o = await open();
    const tip = o.chain.tip.hashHex;
    const bad = await main.mine({ mutate: (b) => (b.header.stateRoot = new Uint8Array(32).fill(7)) });
    expect(await rejection(o.chain.processBlock(blockEnvelope(bad)))).toBe(BlockErrorCode.BAD_STATE_ROOT);
    expect(o.chain.tip.hashHex).toBe(tip);
  });
});

describe("block templates", () => {
  it("prepareBlock builds a block that connects, leaving out transfers that do not apply", async () => {
    const builder = ChainBuilder.create();
    const o = await open();
    await feed(o, [await builder.mine({ miner: alice.address })]);
    const good = transfer(alice, bob.address, 500n, 0n, 7n);
    const gap = transfer(alice, bob.address, 1n, 5n); // nonce gap: does not apply yet
    const broke = transfer(carol, bob.address, 1n, 0n); // carol has nothing
    const next = transfer(alice, carol.address, 100n, 1n, 3n);
    const template = await prepareBlock(o.chain, carol.address, [good, gap, broke, next]);
    expect(template.txs.slice(1)).toEqual([good, next]);
    expect(template.txs[0]).toMatchObject({ height: 2, amount: blockSubsidy(2, REGTEST) + 10n });
    const result = await o.chain.processBlock(
      blockEnvelope({ ...template, header: mineHeader(template.header) }),
    );
    expect(result.status).toBe("connected");
    const accounts = await o.chain.getAccounts([carol.address]);
    expect(accounts.get(toHex(carol.address))?.balance).toBe(blockSubsidy(2, REGTEST) + 10n + 100n);
  });
});

describe("orphans", () => {
  it("keeps a block with an unknown parent and connects it when the parent arrives", async () => {
    const main = ChainBuilder.create();
    const o = await open();
    const [b1, b2, b3] = await main.mineMany(3);
    const orphanEvents: string[] = [];
    o.chain.on("orphan", (e) => orphanEvents.push(e.missingAncestor));
    expect((await o.chain.processBlock(blockEnvelope(b3!))).status).toBe("orphan");
    expect((await o.chain.processBlock(blockEnvelope(b2!))).status).toBe("orphan");
    expect(orphanEvents).toEqual([toHex(blockHash(b2!)), toHex(blockHash(b1!))]);
    expect((await o.chain.processBlock(blockEnvelope(b1!))).status).toBe("connected");
    expect(o.chain.height).toBe(3);
    expect(o.chain.orphanCount).toBe(0);
  });

  it("is bounded by count, evicting the oldest", async () => {
    const main = ChainBuilder.create();
    const o = await open({ orphanPool: { maxCount: 3, maxBytes: 1 << 20, expirySeconds: 60 } });
    const blocks = await main.mineMany(8);
    for (const block of blocks.slice(1)) await o.chain.processBlock(blockEnvelope(block));
    expect(o.chain.orphanCount).toBe(3);
  });

  it("is bounded by bytes", async () => {
    const main = ChainBuilder.create();
    const o = await open({ orphanPool: { maxCount: 100, maxBytes: 400, expirySeconds: 60 } });
    const blocks = await main.mineMany(8);
    for (const block of blocks.slice(1)) await o.chain.processBlock(blockEnvelope(block));
    // an empty block is 157 bytes: two fit in 400
    expect(o.chain.orphanCount).toBe(2);
  });

  it("expires orphans", async () => {
    const clock = manualClock(2_000_000_000_000);
    const main = ChainBuilder.create();
    const o = await open({
      clock,
      orphanPool: { maxCount: 100, maxBytes: 1 << 20, expirySeconds: 60 },
    });
    const blocks = await main.mineMany(4);
    await o.chain.processBlock(blockEnvelope(blocks[2]!));
    clock.advanceMs(61_000);
    await o.chain.processBlock(blockEnvelope(blocks[3]!));
    expect(o.chain.orphanCount).toBe(1);
  });

  it("rejects an orphan below the minimum difficulty (BLOCK_HIGH_HASH) without keeping it", async () => {
    const main = ChainBuilder.create();
    const o = await open();
    const [, b2] = await main.mineMany(2);
    const limit = compactToTarget(REGTEST.powLimitBits).target;
    let header = b2!.header;
    for (let nonce = 0n; hashToBigInt(headerHash(header)) <= limit; nonce++)
      header = { ...b2!.header, nonce };
    expect(await rejection(o.chain.processBlock(blockEnvelope({ ...b2!, header })))).toBe(
      BlockErrorCode.HIGH_HASH,
    );
    expect(o.chain.orphanCount).toBe(0);
  });
});
