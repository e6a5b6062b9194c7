import { afterEach, describe, expect, it } from "vitest";
import { SignatureVerifier } from "../../../src/chain/signature-verifier.js";
import { TxErrorCode } from "../../../src/consensus/errors.js";
import { DEVNET } from "../../../src/consensus/params.js";
import {
  type Mempool,
  type MempoolError,
  MempoolErrorCode,
  type TxAddedEvent,
} from "../../../src/mempool/index.js";
import { type CoinbaseTx, TxType, toHex, transactionId } from "../../../src/primitives/index.js";
import { testKey, transfer } from "../../helpers/chain-builder.js";
import { codeOf, MapState, startedPool } from "./mempool-fixture.js";

const alice = testKey(1);
const bob = testKey(2);
const to = testKey(99).address;

describe("mempool admission", () => {
  let pool: Mempool | undefined;
  afterEach(async () => {
    await pool?.stop();
    pool = undefined;
  });

  it("accepts a valid transfer, indexes it by id and emits txAdded", async () => {
    pool = await startedPool(new MapState().set(alice, 1000n));
    const added: TxAddedEvent[] = [];
    pool.on("txAdded", (e) => added.push(e));
    const tx = transfer(alice, to, 10n, 0n, 2n);
    const result = await pool.add(tx);
    const id = toHex(transactionId(tx));
    expect(result).toEqual({ id, executable: true, evicted: [] });
    expect(pool.has(id)).toBe(true);
    expect(pool.get(id)).toBe(tx);
    expect(pool.size).toBe(1);
    expect(pool.bytes).toBe(145);
    expect(pool.all()).toEqual([tx]);
    expect(pool.ids()).toEqual([id]);
    expect(added.map((e) => e.id)).toEqual([id]);
    expect(pool.info()).toMatchObject({ size: 1, bytes: 145, executable: 1, waiting: 0, senders: 1 });
  });

  it("MEMPOOL_DUPLICATE: the same transaction twice (also when both arrive at once)", async () => {
    pool = await startedPool(new MapState().set(alice, 1000n));
    const tx = transfer(alice, to, 10n, 0n);
    const [first, second] = await Promise.allSettled([pool.add(tx), pool.add(tx)]);
    expect(first.status).toBe("fulfilled");
    expect(second.status === "rejected" && (second.reason as MempoolError).code).toBe(
      MempoolErrorCode.DUPLICATE,
    );
    expect(await codeOf(pool.add(tx))).toBe(MempoolErrorCode.DUPLICATE);
    expect(pool.size).toBe(1);
  });

  it("TX_BAD_SIGNATURE (action reject): a tampered amount", async () => {
    pool = await startedPool(new MapState().set(alice, 1000n));
    const tx = { ...transfer(alice, to, 10n, 0n), amount: 11n };
    const err = await pool.add(tx).catch((e: unknown) => e);
    expect((err as MempoolError).code).toBe(TxErrorCode.BAD_SIGNATURE);
    expect((err as MempoolError).action).toBe("reject");
    expect(pool.size).toBe(0);
  });

  it("TX_WRONG_NETWORK: a transfer signed for devnet", async () => {
    pool = await startedPool(new MapState().set(alice, 1000n));
    expect(await codeOf(pool.add(transfer(alice, to, 10n, 0n, 1n, DEVNET)))).toBe(TxErrorCode.WRONG_NETWORK);
  });

  it("TX_COINBASE_OUTSIDE_BLOCK: a coinbase is refused", async () => {
    pool = await startedPool(new MapState());
    const coinbase: CoinbaseTx = {
      type: TxType.Coinbase,
      networkId: 0,
      height: 1,
      recipient: to,
      amount: 5n,
    };
    expect(await codeOf(pool.add(coinbase))).toBe(TxErrorCode.COINBASE_OUTSIDE_BLOCK);
  });

  it("MEMPOOL_NONCE_TOO_LOW: a nonce below the account nonce", async () => {
    pool = await startedPool(new MapState().set(alice, 1000n, 5n));
    expect(await codeOf(pool.add(transfer(alice, to, 1n, 4n)))).toBe(MempoolErrorCode.NONCE_TOO_LOW);
    await pool.add(transfer(alice, to, 1n, 5n));
  });

  it("TX_INSUFFICIENT_FUNDS (action ignore): one transfer, and the sender's pooled transfers together", async () => {
    pool = await startedPool(new MapState().set(alice, 100n).set(bob, 0n));
    const err = await pool.add(transfer(alice, to, 100n, 0n, 1n)).catch((e: unknown) => e);
    expect((err as MempoolError).code).toBe(TxErrorCode.INSUFFICIENT_FUNDS);
    expect((err as MempoolError).action).toBe("ignore");
    await pool.add(transfer(alice, to, 59n, 0n, 1n));
    // 60 already committed; 40 + 1 more would need 101.
    expect(await codeOf(pool.add(transfer(alice, to, 40n, 1n, 1n)))).toBe(TxErrorCode.INSUFFICIENT_FUNDS);
    await pool.add(transfer(alice, to, 39n, 1n, 1n));
    // An account that does not exist has nothing.
    expect(await codeOf(pool.add(transfer(bob, to, 0n, 0n, 1n)))).toBe(TxErrorCode.INSUFFICIENT_FUNDS);
  });

  it("MEMPOOL_FEE_TOO_LOW: below the minimum fee rate (default: no free transfers)", async () => {
    pool = await startedPool(new MapState().set(alice, 1000n));
    expect(await codeOf(pool.add(transfer(alice, to, 1n, 0n, 0n)))).toBe(MempoolErrorCode.FEE_TOO_LOW);
    await pool.stop();
    // 1000 units per 1000 bytes: a 145-byte transfer needs a fee of 145.
    pool = await startedPool(new MapState().set(alice, 1000n), { minFeePerKb: 1000n });
    expect(await codeOf(pool.add(transfer(alice, to, 1n, 0n, 144n)))).toBe(MempoolErrorCode.FEE_TOO_LOW);
    await pool.add(transfer(alice, to, 1n, 0n, 145n));
  });

  it("MEMPOOL_NOT_STARTED: add before start and after stop", async () => {
    pool = await startedPool(new MapState().set(alice, 1000n));
    await pool.stop();
    await pool.stop(); // idempotent
    expect(await codeOf(pool.add(transfer(alice, to, 1n, 0n)))).toBe(MempoolErrorCode.NOT_STARTED);
    await pool.start();
    await pool.start(); // idempotent
    await pool.add(transfer(alice, to, 1n, 0n));
  });

  it("boundary: a non-string peer id is a TypeError", async () => {
    pool = await startedPool(new MapState().set(alice, 1000n));
    const badPeer: unknown = 42;
    await expect(pool.add(transfer(alice, to, 1n, 0n), badPeer as string)).rejects.toBeInstanceOf(TypeError);
  });

  it("coalesces the account reads of a burst into one getAccounts call", async () => {
    const state = new MapState();
    const keys = Array.from({ length: 20 }, (_, i) => testKey(100 + i));
    for (const k of keys) state.set(k, 1000n);
    pool = await startedPool(state);
    const before = state.reads;
    await Promise.all(keys.map((k) => pool!.add(transfer(k, to, 1n, 0n))));
    expect(state.reads - before).toBe(1);
    expect(pool.size).toBe(20);
  });

  it("one signature check: a transfer admitted through the shared verifier is in the cache the chain reads", async () => {
    const signatures = new SignatureVerifier({ threads: 0 });
    pool = await startedPool(new MapState().set(alice, 1000n), {}, { signatures });
    const tx = transfer(alice, to, 10n, 0n, 2n);
    const id = toHex(transactionId(tx));
    expect(signatures.isVerified(id)).toBe(false);
    await pool.add(tx);
    expect(signatures.isVerified(id)).toBe(true);
  });

  it("TX_BAD_SIGNATURE through the shared verifier: refused and not cached", async () => {
    const signatures = new SignatureVerifier({ threads: 0 });
    pool = await startedPool(new MapState().set(alice, 1000n), {}, { signatures });
    const tx = { ...transfer(alice, to, 10n, 0n, 2n), amount: 11n };
    expect(await codeOf(pool.add(tx))).toBe(TxErrorCode.BAD_SIGNATURE);
    expect(signatures.isVerified(toHex(transactionId(tx)))).toBe(false);
    expect(signatures.cacheSize).toBe(0);
  });
});
