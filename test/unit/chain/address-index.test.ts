import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkStoreRecords } from "../../../src/chain/verify-store.js";
import { type Block, blockEnvelope, toHex, transactionId } from "../../../src/primitives/index.js";
import {
  AddressDirection,
  type AddressIndexEntry,
  addressIndexKey,
  encodeAddressIndexValue,
} from "../../../src/store/address-index.js";
import { StoreBatch } from "../../../src/store/chain-store.js";
import { StoreError, StoreErrorCode } from "../../../src/store/errors.js";
import { Prefix } from "../../../src/store/layout.js";
import { ChainBuilder, testKey, transfer } from "../../helpers/chain-builder.js";
import { type OpenedChain, openChain } from "../../helpers/open-chain.js";
import { tempDir } from "../../helpers/temp-dir.js";

/**
 * The address index over a real LevelDB store: connect writes a block's entries, disconnect
 * deletes them in the same batch, so after any reorg the stored index equals one built from
 * scratch from the main chain's blocks; pages follow (height, position) order with a cursor;
 * "off" deletes it, "on" builds it on a store that lacks it, "follow" leaves the store as it is.
 */
const alice = testKey(1);
const bob = testKey(2);
const carol = testKey(3);

let dir: ReturnType<typeof tempDir>;
let opened: OpenedChain | undefined;

beforeEach(() => {
  dir = tempDir("quarry-addrindex-");
});

afterEach(async () => {
  await opened?.close();
  opened = undefined;
  dir.cleanup();
});

async function open(addressIndex: "on" | "off" | "follow"): Promise<OpenedChain> {
  await opened?.close();
  opened = await openChain(dir.path, { addressIndex });
  return opened;
}

async function feed(o: OpenedChain, blocks: readonly Block[]): Promise<void> {
  for (const block of blocks) await o.chain.processBlock(blockEnvelope(block));
}

/** Every 'A' record as hex key -> hex value, in key order. */
async function dumpIndex(o: OpenedChain): Promise<string[]> {
  const out: string[] = [];
  for await (const [key, value] of o.store.records(Prefix.addressIndex))
    out.push(`${toHex(key)}=${toHex(value)}`);
  return out;
}

async function history(o: OpenedChain, address: Uint8Array): Promise<AddressIndexEntry[]> {
  return o.chain.addressHistory(address, { reverse: false, limit: 1000 });
}

describe("address index", () => {
  it("connect writes sender, recipient and coinbase entries; a reorg leaves exactly the index a rebuild makes", async () => {
    const main = ChainBuilder.create();
    const o = await open("on");
    expect(o.chain.addressIndexEnabled).toBe(true);
    await feed(o, [await main.mine({ miner: alice.address })]);
    const side = main.fork(1);
    const pay = transfer(alice, bob.address, 100n, 0n, 3n);
    const self = transfer(alice, alice.address, 7n, 1n, 2n);
    await feed(o, [await main.mine({ txs: [pay, self], miner: carol.address })]);

    const aliceHistory = await history(o, alice.address);
    expect(aliceHistory.map((e) => [e.height, e.position, e.direction])).toEqual([
      [1, 0, AddressDirection.Coinbase],
      [2, 1, AddressDirection.Out],
      [2, 2, AddressDirection.Self],
    ]);
    expect(aliceHistory[1]).toMatchObject({ amount: 100n, fee: 3n, counterparty: bob.address });
    expect(toHex(aliceHistory[1]!.txId)).toBe(toHex(transactionId(pay)));
    const bobHistory = await history(o, bob.address);
    expect(bobHistory).toHaveLength(1);
    expect(bobHistory[0]).toMatchObject({
      direction: AddressDirection.In,
      amount: 100n,
      counterparty: alice.address,
    });
    expect((await history(o, carol.address)).map((e) => e.direction)).toEqual([AddressDirection.Coinbase]);

    // The side branch (two blocks paying bob's coinbase) wins: block 2's entries must go.
    await feed(o, await side.mineMany(2, { miner: bob.address }));
    expect(o.chain.height).toBe(3);
    expect((await history(o, alice.address)).map((e) => e.height)).toEqual([1]);
    expect((await history(o, bob.address)).map((e) => [e.height, e.direction])).toEqual([
      [2, AddressDirection.Coinbase],
      [3, AddressDirection.Coinbase],
    ]);
    expect(await history(o, carol.address)).toEqual([]);
    // The returned transfers go into the next block on the new branch: the index follows again.
    await feed(o, [await side.mine({ txs: [pay], miner: carol.address })]);
    expect((await history(o, bob.address)).map((e) => [e.height, e.direction])).toEqual([
      [2, AddressDirection.Coinbase],
      [3, AddressDirection.Coinbase],
      [4, AddressDirection.In],
    ]);

    const afterReorgs = await dumpIndex(o);
    // A fresh build from the stored main chain gives the same records, byte for byte.
    await open("off");
    expect(await dumpIndex(opened!)).toEqual([]);
    expect(await opened!.store.hasAddressIndex()).toBe(false);
    const rebuilt = await open("on");
    expect(await dumpIndex(rebuilt)).toEqual(afterReorgs);
    // genesis, block 1, bob at 2 and 3, block 4: its coinbase and the transfer (alice out, bob in)
    expect(afterReorgs.length).toBe(1 + 1 + 2 + 1 + 2);
  });

  it("pages oldest first after a cursor, newest first before one, without gaps or repeats", async () => {
    const main = ChainBuilder.create();
    const o = await open("on");
    await feed(o, await main.mineMany(12, { miner: alice.address }));
    const all = (await history(o, alice.address)).map((e) => `${e.height}:${e.position}`);
    expect(all).toHaveLength(12);
    const walk = async (reverse: boolean): Promise<string[]> => {
      const seen: string[] = [];
      let cursor: { height: number; position: number } | undefined;
      for (;;) {
        const page = await o.chain.addressHistory(alice.address, { cursor, reverse, limit: 5 });
        seen.push(...page.map((e) => `${e.height}:${e.position}`));
        if (page.length < 5) return seen;
        cursor = { height: page.at(-1)!.height, position: page.at(-1)!.position };
      }
    };
    expect(await walk(false)).toEqual(all);
    expect(await walk(true)).toEqual([...all].reverse());
    expect(await history(o, bob.address)).toEqual([]);
  });

  it("'on' builds the index for a chain stored without it; 'follow' keeps either state; 'off' deletes it", async () => {
    const main = ChainBuilder.create();
    let o = await open("follow");
    expect(o.chain.addressIndexEnabled).toBe(false);
    await feed(o, await main.mineMany(3, { miner: carol.address }));
    expect(await dumpIndex(o)).toEqual([]);
    await expect(o.chain.addressHistory(carol.address, { reverse: false, limit: 1 })).rejects.toThrow(
      RangeError,
    );

    o = await open("on");
    expect(await o.store.hasAddressIndex()).toBe(true);
    expect((await history(o, carol.address)).map((e) => e.height)).toEqual([1, 2, 3]);
    const built = await dumpIndex(o);

    o = await open("follow");
    expect(o.chain.addressIndexEnabled).toBe(true);
    await feed(o, [await main.mine({ miner: carol.address })]);
    expect((await history(o, carol.address)).map((e) => e.height)).toEqual([1, 2, 3, 4]);

    o = await open("off");
    expect(o.chain.addressIndexEnabled).toBe(false);
    expect(await dumpIndex(o)).toEqual([]);
    expect(await o.store.hasAddressIndex()).toBe(false);
    expect(built.length).toBe(4);
  });

  it("a build interrupted before its marker is redone from scratch, not trusted", async () => {
    const main = ChainBuilder.create();
    let o = await open("on");
    await feed(o, await main.mineMany(2, { miner: bob.address }));
    const good = await dumpIndex(o);
    // As if a build died after writing entries: the marker is gone, a stray entry is there.
    o = await open("off");
    await o.store.write(
      new StoreBatch().putAddressEntries([
        {
          address: alice.address,
          height: 9,
          position: 0,
          txId: new Uint8Array(32),
          direction: AddressDirection.Coinbase,
          amount: 1n,
          fee: 0n,
          counterparty: undefined,
        },
      ]),
    );
    expect(await o.store.hasAddressIndex()).toBe(false);
    o = await open("on");
    expect(await dumpIndex(o)).toEqual(good);
  });

  it("quarry verify checks the index against the main chain: an altered, missing or extra entry is STORE_CORRUPT", async () => {
    const main = ChainBuilder.create();
    const o = await open("on");
    await feed(o, [await main.mine({ miner: alice.address })]);
    await feed(o, [await main.mine({ txs: [transfer(alice, bob.address, 50n, 0n)], miner: carol.address })]);
    const report = await checkStoreRecords(o.store);
    expect(report.counts.addressIndexEntries).toBe(1 + 1 + 3);
    const [entry] = await o.chain.addressHistory(bob.address, { reverse: false, limit: 1 });
    const key = addressIndexKey(entry!.address, entry!.height, entry!.position);
    const expectCorrupt = async () => {
      const err = await checkStoreRecords(o.store).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as StoreError).type.code).toBe(StoreErrorCode.CORRUPT);
      expect((err as StoreError).message).toContain("address index");
    };
    const write = (op: (b: StoreBatch) => void) => {
      const b = new StoreBatch();
      op(b);
      return o.store.write(b);
    };
    // altered amount
    await write((b) => b.putAddressEntries([{ ...entry!, amount: 51n }]));
    await expectCorrupt();
    // missing
    await write((b) => b.delAddressEntries([entry!]));
    await expectCorrupt();
    // back as it was: clean again
    await write((b) => b.putAddressEntries([entry!]));
    expect((await checkStoreRecords(o.store)).counts.addressIndexEntries).toBe(5);
    // extra
    await write((b) => b.putAddressEntries([{ ...entry!, height: 7 }]));
    await expectCorrupt();
    expect(toHex(key)).toBe(toHex(addressIndexKey(bob.address, 2, 1)));
    expect(encodeAddressIndexValue(entry!).byteLength).toBe(32 + 1 + 8 + 8 + 20);
  });
});
