import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LevelMempoolStore, type Mempool } from "../../../src/mempool/index.js";
import { type TransferTx, toHex, transactionId } from "../../../src/primitives/index.js";
import { testKey, transfer } from "../../helpers/chain-builder.js";
import { tempDir } from "../../helpers/temp-dir.js";
import { MapState, startedPool, testClock } from "./mempool-fixture.js";

const [a, b] = [testKey(1), testKey(2)];
const to = testKey(99).address;
const id = (tx: TransferTx) => toHex(transactionId(tx));

describe("mempool persistence (LevelDB at <datadir>/mempool)", () => {
  const dirs: ReturnType<typeof tempDir>[] = [];
  let pool: Mempool | undefined;
  afterEach(async () => {
    await pool?.stop();
    pool = undefined;
    for (const d of dirs.splice(0)) d.cleanup();
  });

  function location(): string {
    const d = tempDir();
    dirs.push(d);
    return join(d.path, "mempool");
  }

  it("a restart keeps accepted transactions and forgets removed ones", async () => {
    const where = location();
    const state = new MapState().set(a, 10_000n).set(b, 10_000n);
    const clock = testClock();
    pool = await startedPool(state, {}, { clock, store: new LevelMempoolStore({ location: where }) });
    const a0 = transfer(a, to, 1n, 0n, 10n);
    const a1 = transfer(a, to, 1n, 1n, 10n);
    const b0 = transfer(b, to, 1n, 0n, 10n);
    for (const tx of [a0, a1, b0]) await pool.add(tx);
    const a1r = transfer(a, to, 1n, 1n, 20n);
    await pool.add(a1r);
    await pool.stop();
    expect(pool.size).toBe(0);

    pool = await startedPool(state, {}, { clock, store: new LevelMempoolStore({ location: where }) });
    expect(pool.ids().sort()).toEqual([a0, a1r, b0].map(id).sort());
    expect(pool.selectForBlock(10, 1_000_000).map(id)).toEqual([a0, a1r, b0].map(id));
  });

  it("start() checks loaded transactions against the current tip and drops expired ones, for good", async () => {
    const where = location();
    const state = new MapState().set(a, 10_000n).set(b, 10_000n);
    const clock = testClock();
    pool = await startedPool(
      state,
      { expirySeconds: 3600 },
      { clock, store: new LevelMempoolStore({ location: where }) },
    );
    const a0 = transfer(a, to, 1n, 0n, 10n);
    const a1 = transfer(a, to, 1n, 1n, 10n);
    await pool.add(a0);
    await pool.add(a1);
    clock.advanceMs(1800_000);
    const b0 = transfer(b, to, 1n, 0n, 10n);
    await pool.add(b0);
    await pool.stop();

    // Meanwhile a0 was mined (a's nonce is 1) and half an hour passed: a1 expired, b0 did not.
    state.set(a, 9_989n, 1n);
    clock.advanceMs(1800_000);
    pool = await startedPool(
      state,
      { expirySeconds: 3600 },
      { clock, store: new LevelMempoolStore({ location: where }) },
    );
    expect(pool.ids()).toEqual([id(b0)]);
    await pool.stop();

    // And they do not come back on the next start.
    clock.advanceMs(-1800_000);
    pool = await startedPool(
      state,
      { expirySeconds: 3600 },
      { clock, store: new LevelMempoolStore({ location: where }) },
    );
    expect(pool.ids()).toEqual([id(b0)]);
  });

  it("the store refuses writes when closed and drains queued writes on close", async () => {
    const store = new LevelMempoolStore({ location: location() });
    await store.open();
    const tx = transfer(a, to, 1n, 0n);
    const writes = [
      store.put(transactionId(tx), tx, 5),
      store.del(transactionId(tx)),
      store.put(transactionId(tx), tx, 7),
    ];
    await store.close();
    await Promise.all(writes);
    await expect(store.put(transactionId(tx), tx, 1)).rejects.toThrow();
    await store.open();
    expect(await store.load()).toEqual([{ tx, addedAtMs: 7 }]);
    await store.close();
  });
});
