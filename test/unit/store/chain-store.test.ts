import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { toHex } from "../../../src/primitives/bytes.js";
import { ChainStore, StoreBatch } from "../../../src/store/chain-store.js";
import { tempDir } from "../../helpers/temp-dir.js";

const address = (i: number): Uint8Array => new Uint8Array(20).fill(i);
const hash = (i: number): Uint8Array => new Uint8Array(32).fill(i);

describe("ChainStore: batches in flight", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  async function openStore(): Promise<ChainStore> {
    const dir = tempDir("quarry-store-");
    const store = new ChainStore({ location: join(dir.path, "chain"), network: "regtest" });
    await store.open();
    cleanups.push(async () => {
      await store.close();
      dir.cleanup();
    });
    return store;
  }

  it("reads issued right after write() see the batch before it is awaited", async () => {
    const store = await openStore();
    const first = new StoreBatch().putAccount(address(1), { balance: 5n, nonce: 1n }).putTip(hash(1));
    const second = new StoreBatch()
      .putAccount(address(1), { balance: 0n, nonce: 0n })
      .putAccount(address(2), { balance: 7n, nonce: 0n })
      .putTip(hash(2));
    const writes = [store.write(first), store.write(second)];
    const accounts = await store.getAccounts([address(1), address(2), address(3)]);
    // address 1 was emptied by the second batch (deleted), address 3 was never written.
    expect([...accounts.keys()]).toEqual([toHex(address(2))]);
    expect(accounts.get(toHex(address(2)))).toEqual({ balance: 7n, nonce: 0n });
    expect(toHex((await store.getTip())!)).toBe(toHex(hash(2)));
    await Promise.all(writes);
    const landed = await store.getAccounts([address(1), address(2)]);
    expect([...landed.keys()]).toEqual([toHex(address(2))]);
  });

  it("applies batches in the order write() was called", async () => {
    const store = await openStore();
    const writes: Promise<void>[] = [];
    for (let i = 1; i <= 20; i++) {
      writes.push(
        store.write(
          new StoreBatch().putAccount(address(9), { balance: BigInt(i), nonce: 0n }).putTip(hash(i)),
        ),
      );
    }
    await Promise.all(writes);
    expect(toHex((await store.getTip())!)).toBe(toHex(hash(20)));
    expect((await store.getAccounts([address(9)])).get(toHex(address(9)))).toEqual({
      balance: 20n,
      nonce: 0n,
    });
  });
});
