import { describe, expect, it } from "vitest";
import type { Account } from "../../../src/consensus/account.js";
import { type AccountReader, MempoolErrorCode } from "../../../src/mempool/index.js";
import { toHex } from "../../../src/primitives/index.js";
import { ChainBuilder, testKey, transfer } from "../../helpers/chain-builder.js";
import { codeOf, startedPool } from "./mempool-fixture.js";

/** Reads the builder's tip when called, but answers only when released. */
class GatedState implements AccountReader {
  gated = false;
  private readonly held: (() => void)[] = [];
  constructor(private readonly builder: ChainBuilder) {}

  getAccounts(addresses: readonly Uint8Array[]): Promise<Map<string, Account>> {
    const snapshot = new Map(addresses.map((a) => [toHex(a), this.builder.account(a)]));
    if (!this.gated) return Promise.resolve(snapshot);
    return new Promise((resolve) => this.held.push(() => resolve(snapshot)));
  }

  release(): void {
    this.gated = false;
    for (const r of this.held.splice(0)) r();
  }
}

describe("mempool: a tip change while an add reads state", () => {
  it("MEMPOOL_NONCE_TOO_LOW: an account read before blockConnected is stale, so the add reads again", async () => {
    const alice = testKey(1);
    const to = testKey(99).address;
    const builder = ChainBuilder.create();
    await builder.mine({ miner: alice.address });
    const state = new GatedState(builder);
    const pool = await startedPool(state);
    try {
      state.gated = true;
      const pending = codeOf(pool.add(transfer(alice, to, 5n, 0n, 9n)));
      // Let the add issue its read (at the old tip), then move the tip before it answers.
      await Promise.resolve();
      await Promise.resolve();
      const block = await builder.mine({ txs: [transfer(alice, to, 7n, 0n, 1n)] });
      const connected = pool.onBlockConnected(block);
      state.release();
      expect(await pending).toBe(MempoolErrorCode.NONCE_TOO_LOW);
      await connected;
      expect(pool.size).toBe(0);
    } finally {
      await pool.stop();
    }
  });
});
