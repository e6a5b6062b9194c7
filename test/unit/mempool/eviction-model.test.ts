import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MempoolError, MempoolErrorCode, type TxRemovedEvent } from "../../../src/mempool/index.js";
import type { TransferTx } from "../../../src/primitives/index.js";
import { testKey, transfer } from "../../helpers/chain-builder.js";
import { MapState, startedPool } from "./mempool-fixture.js";

const keys = [testKey(1), testKey(2), testKey(3), testKey(4)];
const to = testKey(99).address;
// Signing is the slow part: sign each (sender, nonce, fee) once.
const signed = new Map<string, TransferTx>();
function tx(sender: number, nonce: number, fee: number): TransferTx {
  const key = `${sender}/${nonce}/${fee}`;
  let t = signed.get(key);
  if (!t) {
    t = transfer(keys[sender]!, to, 1n, BigInt(nonce), BigInt(fee));
    signed.set(key, t);
  }
  return t;
}

// bigint min/max (Math.min/max take numbers only).
function sortedBig(values: bigint[]): bigint[] {
  return [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

describe("mempool eviction against a brute-force model (fast-check)", () => {
  it("never exceeds the limit, evicts only a sender's highest nonce, and only from the sender with the lowest cheapest fee", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ sender: fc.nat(3), nonce: fc.nat(3), fee: fc.integer({ min: 1, max: 6 }) }), {
          minLength: 1,
          maxLength: 30,
        }),
        async (ops) => {
          const state = new MapState();
          for (const k of keys) state.set(k, 1_000_000n);
          const pool = await startedPool(state, { maxTxs: 5 });
          try {
            for (const op of ops) {
              // The model: per sender, its pooled fees by nonce, before the add.
              const before = new Map<string, TransferTx[]>();
              for (const t of pool.all()) {
                const list = before.get(t.senderPublicKey.toString()) ?? [];
                list.push(t);
                before.set(t.senderPublicKey.toString(), list);
              }
              const evicted: TxRemovedEvent[] = [];
              const listener = (e: TxRemovedEvent) => {
                if (e.reason === "evicted") evicted.push(e);
              };
              pool.on("txRemoved", listener);
              try {
                await pool.add(tx(op.sender, op.nonce, op.fee));
              } catch (err) {
                if (!(err instanceof MempoolError)) throw err;
                expect(err.code).not.toBe(MempoolErrorCode.NOT_STARTED);
              }
              pool.off("txRemoved", listener);
              expect(pool.size).toBeLessThanOrEqual(5);
              for (const e of evicted) {
                const mine = before.get(e.tx.senderPublicKey.toString())!;
                // Only the sender's highest nonce (nothing kept depends on it) ...
                const maxNonce = sortedBig(mine.map((t) => t.nonce)).at(-1);
                expect(e.tx.nonce).toBe(maxNonce);
                // ... of a sender whose cheapest fee is the lowest of all senders.
                const cheapest = (list: TransferTx[]) => sortedBig(list.map((t) => t.fee))[0]!;
                const lowest = sortedBig([...before.values()].map(cheapest))[0];
                expect(cheapest(mine)).toBe(lowest);
              }
            }
          } finally {
            await pool.stop();
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
