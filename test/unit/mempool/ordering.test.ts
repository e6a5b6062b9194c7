import { afterEach, describe, expect, it } from "vitest";
import type { Mempool } from "../../../src/mempool/index.js";
import { toHex, transactionId } from "../../../src/primitives/index.js";
import { testKey, transfer } from "../../helpers/chain-builder.js";
import { MapState, startedPool } from "./mempool-fixture.js";

const [a, b, c] = [testKey(1), testKey(2), testKey(3)];
const to = testKey(99).address;
const id = (tx: Parameters<typeof transactionId>[0]) => toHex(transactionId(tx));

describe("mempool block template ordering", () => {
  let pool: Mempool | undefined;
  afterEach(async () => {
    await pool?.stop();
    pool = undefined;
  });

  it("orders by fee rate across senders and keeps each sender's nonce order", async () => {
    pool = await startedPool(new MapState().set(a, 10_000n).set(b, 10_000n).set(c, 10_000n));
    const a0 = transfer(a, to, 1n, 0n, 5n);
    const a1 = transfer(a, to, 1n, 1n, 50n); // pays most, but only after a0
    const b0 = transfer(b, to, 1n, 0n, 20n);
    const c0 = transfer(c, to, 1n, 0n, 10n);
    const c1 = transfer(c, to, 1n, 1n, 1n);
    for (const tx of [c1, a1, c0, b0, a0]) await pool.add(tx);
    expect(pool.selectForBlock(100, 1_000_000).map(id)).toEqual([b0, c0, a0, a1, c1].map(id));
  });

  it("respects maxTxs and maxBytes", async () => {
    pool = await startedPool(new MapState().set(a, 10_000n).set(b, 10_000n));
    const txs = [transfer(a, to, 1n, 0n, 9n), transfer(b, to, 1n, 0n, 8n), transfer(a, to, 1n, 1n, 7n)];
    for (const tx of txs) await pool.add(tx);
    expect(pool.selectForBlock(2, 1_000_000).map(id)).toEqual([txs[0]!, txs[1]!].map(id));
    expect(pool.selectForBlock(100, 145 * 2 + 144).map(id)).toEqual([txs[0]!, txs[1]!].map(id));
    expect(pool.selectForBlock(0, 1_000_000)).toEqual([]);
  });

  it("equal fee rates: first come first served", async () => {
    pool = await startedPool(new MapState().set(a, 10_000n).set(b, 10_000n).set(c, 10_000n));
    const txs = [transfer(c, to, 1n, 0n, 3n), transfer(a, to, 1n, 0n, 3n), transfer(b, to, 1n, 0n, 3n)];
    for (const tx of txs) await pool.add(tx);
    expect(pool.selectForBlock(10, 1_000_000).map(id)).toEqual(txs.map(id));
  });

  it("a future nonce waits (not in templates) and is promoted when the gap is filled", async () => {
    pool = await startedPool(new MapState().set(a, 10_000n, 3n));
    const t5 = transfer(a, to, 1n, 5n, 9n);
    const t4 = transfer(a, to, 1n, 4n, 9n);
    const t3 = transfer(a, to, 1n, 3n, 9n);
    expect((await pool.add(t5)).executable).toBe(false);
    expect((await pool.add(t4)).executable).toBe(false);
    expect(pool.selectForBlock(10, 1_000_000)).toEqual([]);
    expect(pool.info()).toMatchObject({ size: 2, executable: 0, waiting: 2 });
    expect((await pool.add(t3)).executable).toBe(true);
    expect(pool.selectForBlock(10, 1_000_000).map(id)).toEqual([t3, t4, t5].map(id));
    expect(pool.info()).toMatchObject({ executable: 3, waiting: 0 });
  });
});
