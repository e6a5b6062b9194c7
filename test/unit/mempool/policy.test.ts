import { afterEach, describe, expect, it } from "vitest";
import { TxErrorCode } from "../../../src/consensus/errors.js";
import {
  type Mempool,
  MempoolError,
  MempoolErrorCode,
  type TxRemovedEvent,
} from "../../../src/mempool/index.js";
import { type TransferTx, toHex, transactionId } from "../../../src/primitives/index.js";
import { testKey, transfer } from "../../helpers/chain-builder.js";
import { codeOf, MapState, startedPool, testClock } from "./mempool-fixture.js";

const [a, b, c, d] = [testKey(1), testKey(2), testKey(3), testKey(4)];
const to = testKey(99).address;
const id = (tx: TransferTx) => toHex(transactionId(tx));
const HOUR = 3_600_000;

function funded(...keys: ReturnType<typeof testKey>[]): MapState {
  const state = new MapState();
  for (const k of keys) state.set(k, 1_000_000n);
  return state;
}

describe("mempool replacement", () => {
  let pool: Mempool | undefined;
  afterEach(async () => {
    await pool?.stop();
    pool = undefined;
  });

  it("MEMPOOL_REPLACEMENT_UNDERPRICED: a 9 % fee bump is refused, 10 % replaces", async () => {
    pool = await startedPool(funded(a));
    const removed: TxRemovedEvent[] = [];
    pool.on("txRemoved", (e) => removed.push(e));
    const original = transfer(a, to, 1n, 0n, 100n);
    await pool.add(original);
    expect(await codeOf(pool.add(transfer(a, to, 2n, 0n, 109n)))).toBe(
      MempoolErrorCode.REPLACEMENT_UNDERPRICED,
    );
    expect(await codeOf(pool.add(transfer(a, to, 2n, 0n, 100n)))).toBe(
      MempoolErrorCode.REPLACEMENT_UNDERPRICED,
    );
    expect(pool.has(id(original))).toBe(true);
    const replacement = transfer(a, to, 2n, 0n, 110n);
    const result = await pool.add(replacement);
    expect(result.replaced).toBe(id(original));
    expect(pool.has(id(original))).toBe(false);
    expect(pool.has(id(replacement))).toBe(true);
    expect(pool.size).toBe(1);
    expect(removed).toEqual([{ id: id(original), tx: original, reason: "replaced" }]);
  });

  it("a replacement must still be affordable with the sender's other transfers", async () => {
    pool = await startedPool(new MapState().set(a, 300n));
    await pool.add(transfer(a, to, 100n, 0n, 10n));
    await pool.add(transfer(a, to, 100n, 1n, 10n));
    // 110 (nonce 1) + 180 + 20 > 300
    expect(await codeOf(pool.add(transfer(a, to, 180n, 0n, 20n)))).toBe(TxErrorCode.INSUFFICIENT_FUNDS);
    await pool.add(transfer(a, to, 100n, 0n, 11n));
  });

  it("a fee of 0 is replaced only by a higher fee", async () => {
    pool = await startedPool(funded(a), { minFeePerKb: 0n });
    await pool.add(transfer(a, to, 1n, 0n, 0n));
    expect(await codeOf(pool.add(transfer(a, to, 2n, 0n, 0n)))).toBe(
      MempoolErrorCode.REPLACEMENT_UNDERPRICED,
    );
    await pool.add(transfer(a, to, 2n, 0n, 1n));
  });
});

describe("mempool per-sender bounds", () => {
  let pool: Mempool | undefined;
  afterEach(async () => {
    await pool?.stop();
    pool = undefined;
  });

  it("MEMPOOL_NONCE_GAP_TOO_LARGE: at most maxNonceGap past the next executable nonce", async () => {
    pool = await startedPool(funded(a), { maxNonceGap: 16 });
    expect(await codeOf(pool.add(transfer(a, to, 1n, 17n)))).toBe(MempoolErrorCode.NONCE_GAP_TOO_LARGE);
    await pool.add(transfer(a, to, 1n, 16n));
    await pool.add(transfer(a, to, 1n, 0n));
    // The next executable nonce is now 1, so 17 is within the gap.
    await pool.add(transfer(a, to, 1n, 17n));
    expect(await codeOf(pool.add(transfer(a, to, 1n, 18n)))).toBe(MempoolErrorCode.NONCE_GAP_TOO_LARGE);
  });

  it("MEMPOOL_SENDER_FULL: at most maxTxsPerSender per sender; others unaffected", async () => {
    pool = await startedPool(funded(a, b), { maxTxsPerSender: 4 });
    for (let n = 0n; n < 4n; n++) await pool.add(transfer(a, to, 1n, n));
    expect(await codeOf(pool.add(transfer(a, to, 1n, 4n)))).toBe(MempoolErrorCode.SENDER_FULL);
    // A replacement does not add a transaction, so it is still allowed.
    await pool.add(transfer(a, to, 1n, 3n, 5n));
    await pool.add(transfer(b, to, 1n, 0n));
  });
});

describe("mempool limits and eviction", () => {
  let pool: Mempool | undefined;
  afterEach(async () => {
    await pool?.stop();
    pool = undefined;
  });

  it("count limit: the lowest fee rate goes; MEMPOOL_FULL when the newcomer pays no more", async () => {
    pool = await startedPool(funded(a, b, c, d), { maxTxs: 3 });
    const [ta, tb, tc] = [
      transfer(a, to, 1n, 0n, 5n),
      transfer(b, to, 1n, 0n, 3n),
      transfer(c, to, 1n, 0n, 7n),
    ];
    for (const tx of [ta, tb, tc]) await pool.add(tx);
    expect(await codeOf(pool.add(transfer(d, to, 1n, 0n, 3n)))).toBe(MempoolErrorCode.FULL);
    const err = await pool.add(transfer(d, to, 1n, 0n, 2n)).catch((e: unknown) => e);
    expect((err as MempoolError).action).toBe("ignore");
    const td = transfer(d, to, 1n, 0n, 4n);
    const result = await pool.add(td);
    expect(result.evicted).toEqual([id(tb)]);
    expect(pool.ids().sort()).toEqual([ta, tc, td].map(id).sort());
  });

  it("byte limit: evicts by fee rate until the bytes fit", async () => {
    pool = await startedPool(funded(a, b, c, d), { maxBytes: 3 * 145 });
    for (const [k, fee] of [
      [a, 5n],
      [b, 3n],
      [c, 7n],
    ] as const)
      await pool.add(transfer(k, to, 1n, 0n, fee));
    const result = await pool.add(transfer(d, to, 1n, 0n, 6n));
    expect(result.evicted).toHaveLength(1);
    expect(pool.bytes).toBe(3 * 145);
    expect(
      pool
        .all()
        .map((t) => t.fee)
        .sort(),
    ).toEqual([5n, 6n, 7n]);
  });

  it("dependants respected: evicts the highest nonce of the cheapest sender, never a nonce a kept one needs", async () => {
    pool = await startedPool(funded(a, b, c), { maxTxs: 3 });
    const a0 = transfer(a, to, 1n, 0n, 1n);
    const a1 = transfer(a, to, 1n, 1n, 100n);
    const b0 = transfer(b, to, 1n, 0n, 5n);
    for (const tx of [a0, a1, b0]) await pool.add(tx);
    // a's cheapest transfer pays 1, so a's tail (a1) goes, not a0 that a1 depends on.
    const c0 = transfer(c, to, 1n, 0n, 10n);
    expect((await pool.add(c0)).evicted).toEqual([id(a1)]);
    const c1 = transfer(c, to, 1n, 1n, 10n);
    expect((await pool.add(c1)).evicted).toEqual([id(a0)]);
    expect(pool.ids().sort()).toEqual([b0, c0, c1].map(id).sort());
  });

  it("MEMPOOL_FULL: a newcomer gated by its own sender's cheap nonce cannot evict", async () => {
    pool = await startedPool(funded(a, b), { maxTxs: 2 });
    await pool.add(transfer(a, to, 1n, 0n, 2n));
    await pool.add(transfer(b, to, 1n, 0n, 3n));
    // Pays 50, but cannot be mined before a0 (2): its effective rate is 2, the cheapest already.
    expect(await codeOf(pool.add(transfer(a, to, 1n, 1n, 50n)))).toBe(MempoolErrorCode.FULL);
    expect(pool.size).toBe(2);
    expect(
      pool
        .all()
        .map((t) => t.fee)
        .sort(),
    ).toEqual([2n, 3n]);
  });

  it("a refused newcomer leaves the pool exactly as it was (no partial eviction)", async () => {
    pool = await startedPool(funded(a, b, c), { maxBytes: 2 * 145, maxTxs: 10 });
    const before = [transfer(a, to, 1n, 0n, 4n), transfer(b, to, 1n, 0n, 4n)];
    for (const tx of before) await pool.add(tx);
    expect(await codeOf(pool.add(transfer(c, to, 1n, 0n, 4n)))).toBe(MempoolErrorCode.FULL);
    expect(pool.ids()).toEqual(before.map(id));
    expect(pool.bytes).toBe(2 * 145);
  });
});

describe("mempool expiry (injected clock)", () => {
  let pool: Mempool | undefined;
  afterEach(async () => {
    await pool?.stop();
    pool = undefined;
  });

  it("removes transactions older than expirySeconds, with their sender's higher nonces", async () => {
    const clock = testClock();
    pool = await startedPool(funded(a, b), { expirySeconds: 3 * 3600 }, { clock });
    const removed: TxRemovedEvent[] = [];
    pool.on("txRemoved", (e) => removed.push(e));
    const a0 = transfer(a, to, 1n, 0n);
    await pool.add(a0);
    clock.advanceMs(HOUR);
    const a1 = transfer(a, to, 1n, 1n);
    const b0 = transfer(b, to, 1n, 0n);
    await pool.add(a1);
    await pool.add(b0);
    clock.advanceMs(2 * HOUR - 1);
    expect(pool.expire()).toBe(0);
    clock.advanceMs(1);
    expect(pool.expire()).toBe(2);
    expect(removed.map((e) => [e.id, e.reason])).toEqual([
      [id(a0), "expired"],
      [id(a1), "expired"],
    ]);
    expect(pool.ids()).toEqual([id(b0)]);
    clock.advanceMs(HOUR);
    // selectForBlock sweeps too.
    expect(pool.selectForBlock(10, 1_000_000)).toEqual([]);
    expect(pool.size).toBe(0);
  });
});

describe("mempool per-peer rate limiting", () => {
  let pool: Mempool | undefined;
  afterEach(async () => {
    await pool?.stop();
    pool = undefined;
  });

  it("a relayed transaction is not rate-limited again by the mempool (the gossip layer charged it once)", async () => {
    pool = await startedPool(funded(a, b), {});
    // More than any old per-peer burst, from one peer, at one instant: all admitted.
    for (let n = 0n; n < 40n; n++) await pool.add(transfer(a, to, 1n, n), "peer-1");
    expect(pool.size).toBe(40);
  });

  it("every MempoolError is action ignore: pool policy never proves a transaction invalid", () => {
    for (const code of Object.values(MempoolErrorCode))
      expect(new MempoolError({ code }).action).toBe("ignore");
  });
});
