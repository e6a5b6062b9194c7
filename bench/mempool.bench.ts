import { join } from "node:path";
import type { Account } from "../src/consensus/account.js";
import { REGTEST } from "../src/consensus/params.js";
import { LevelMempoolStore, Mempool } from "../src/mempool/index.js";
import { blockEnvelope } from "../src/primitives/block.js";
import { type TransferTx, toHex } from "../src/primitives/index.js";
import { ChainBuilder, type TestKey, testKey, transfer } from "../test/helpers/chain-builder.js";
import { openChain } from "../test/helpers/open-chain.js";
import { tempDir } from "../test/helpers/temp-dir.js";
import type { BenchResult, BenchSuite } from "./harness.js";

const SENDERS = 200;
const TXS_PER_SENDER = 50;
/** adds in flight at once, as a burst of gossip would deliver them */
const CONCURRENCY = 200;

const FULL_POOL = 20_000;
const EXTRA = 2_000;

/** Fills a pool with FULL_POOL senders' transfers, then times EXTRA better-paying ones that each evict. */
async function fullPoolAdmission(): Promise<number> {
  const state = {
    async getAccounts(addresses: readonly Uint8Array[]): Promise<Map<string, Account>> {
      return new Map(addresses.map((a) => [toHex(a), { balance: 10n ** 15n, nonce: 0n }]));
    },
  };
  const mempool = new Mempool({ maxTxs: FULL_POOL, expirySweepIntervalMs: 0 }, { params: REGTEST, state });
  await mempool.start();
  const to = testKey(99).address;
  const txs = Array.from({ length: FULL_POOL + EXTRA }, (_, i) =>
    transfer(testKey(5000 + i), to, 1n, 0n, 1n + BigInt(i)),
  );
  for (let i = 0; i < FULL_POOL; i += CONCURRENCY) {
    await Promise.all(txs.slice(i, i + CONCURRENCY).map((tx) => mempool.add(tx)));
  }
  const start = performance.now();
  for (let i = FULL_POOL; i < txs.length; i += CONCURRENCY) {
    await Promise.all(txs.slice(i, i + CONCURRENCY).map((tx) => mempool.add(tx)));
  }
  const rate = EXTRA / ((performance.now() - start) / 1000);
  if (mempool.size !== FULL_POOL) throw new Error("full-pool bench: wrong size");
  await mempool.stop();
  return rate;
}

/**
 * Admission rate of a mempool over a real chain (LevelDB tip state) with LevelDB persistence:
 * decode-free path from a TransferTx to "persisted", i.e. id, stateless rules (Ed25519 verify),
 * tip account read, nonce/funds/limits, group-committed write. Runs on the main thread: one core.
 */
export const mempoolSuite: BenchSuite = {
  name: "mempool",
  async run(): Promise<BenchResult[]> {
    const keys: TestKey[] = Array.from({ length: SENDERS }, (_, i) => testKey(3000 + i));
    const builder = ChainBuilder.create(REGTEST);
    for (const key of keys) await builder.mine({ miner: key.address });
    const to = testKey(99).address;
    const txs: TransferTx[] = [];
    // Nonce-major order: every transfer is executable when it arrives.
    for (let n = 0; n < TXS_PER_SENDER; n++) {
      for (const [i, key] of keys.entries())
        txs.push(transfer(key, to, 1000n, BigInt(n), 1n + BigInt((i * 7 + n) % 13)));
    }

    const dir = tempDir("quarry-bench-");
    const opened = await openChain(dir.path);
    try {
      for (const block of builder.blocks.slice(1)) await opened.chain.processBlock(blockEnvelope(block));
      const mempool = new Mempool(
        { maxTxs: txs.length, maxBytes: txs.length * 145, expirySweepIntervalMs: 0 },
        {
          params: REGTEST,
          state: opened.chain,
          store: new LevelMempoolStore({ location: join(dir.path, "mempool") }),
        },
      );
      await mempool.start();
      const start = performance.now();
      for (let i = 0; i < txs.length; i += CONCURRENCY) {
        await Promise.all(txs.slice(i, i + CONCURRENCY).map((tx) => mempool.add(tx)));
      }
      const seconds = (performance.now() - start) / 1000;
      if (mempool.size !== txs.length) throw new Error(`bench admitted ${mempool.size} of ${txs.length}`);

      const selectStart = performance.now();
      const rounds = 20;
      for (let r = 0; r < rounds; r++) mempool.selectForBlock(REGTEST.maxBlockTxs, REGTEST.maxBlockBytes);
      const selectMs = (performance.now() - selectStart) / rounds;

      const restartStart = performance.now();
      await mempool.stop();
      await mempool.start();
      const restartSeconds = (performance.now() - restartStart) / 1000;
      if (mempool.size !== txs.length) throw new Error("bench restart lost transactions");
      await mempool.stop();
      const fullRate = await fullPoolAdmission();
      return [
        {
          name: `admission: sig + tip state + LevelDB persist, ${txs.length} transfers (1 core)`,
          value: txs.length / seconds,
          unit: "tx/s",
          target: 5000,
          note: "main thread only; Ed25519 verify (~7k/s/core) dominates",
        },
        {
          name: `selectForBlock(6000) from ${txs.length} transfers`,
          value: selectMs,
          unit: "ms",
          lowerIsBetter: true,
        },
        {
          name: `restart: load + re-verify ${txs.length} transfers`,
          value: restartSeconds,
          unit: "s",
          lowerIsBetter: true,
        },
        {
          name: `admission into a full pool of ${FULL_POOL} single-tx senders, every add evicts (1 core)`,
          value: fullRate,
          unit: "tx/s",
          target: 5000,
          note: "in-memory tip state, no store: isolates eviction",
        },
      ];
    } finally {
      await opened.close();
      dir.cleanup();
    }
  },
};
