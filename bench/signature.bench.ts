import { availableParallelism } from "node:os";
import { SignatureVerifier } from "../src/chain/signature-verifier.js";
import { type TransferTx, transferSigningMessage, verifySignature } from "../src/primitives/index.js";
import { testKey, transfer } from "../test/helpers/chain-builder.js";
import { type BenchResult, type BenchSuite, opsPerSecond } from "./harness.js";
import { opensslEd25519VerifiesPerSecond } from "./openssl.js";

const TARGET_PER_CORE = 7000;
const MIN_MS = 1500;
const SENDERS = 200;

/** Two disjoint batches of `size` valid transfers from `SENDERS` senders. */
function batches(
  keys: ReturnType<typeof testKey>[],
  size: number,
  nonceBase: bigint,
): [TransferTx[], TransferTx[]] {
  const to = testKey(9999).address;
  const make = (offset: bigint) =>
    Array.from({ length: size }, (_, i) =>
      transfer(keys[i % keys.length]!, to, 1000n, nonceBase + offset + BigInt(i)),
    );
  return [make(0n), make(BigInt(size))];
}

/**
 * Verifies alternately batch A and batch B for at least MIN_MS; returns verifies/s, the main
 * thread's CPU microseconds per transfer and verifies per CPU-second of the whole process. The verifier's cache holds one id, and the two batches are
 * disjoint, so no verification is served from the cache.
 */
async function measure(
  verifier: SignatureVerifier,
  pair: [TransferTx[], TransferTx[]],
): Promise<{ perSecond: number; mainMicros: number; perCpuSecond: number }> {
  await verifier.verifyTransactions(pair[0]); // warm the per-thread KeyObject caches
  await verifier.verifyTransactions(pair[1]);
  let done = 0;
  const cpu = process.threadCpuUsage();
  const processCpu = process.cpuUsage();
  const start = performance.now();
  while (performance.now() - start < MIN_MS) {
    const batch = pair[done % 2 === 0 ? 0 : 1];
    const results = await verifier.verifyTransactions(batch);
    if (!results.every(Boolean)) throw new Error("bench batch failed to verify");
    done++;
  }
  const seconds = (performance.now() - start) / 1000;
  const used = process.threadCpuUsage(cpu);
  const all = process.cpuUsage(processCpu);
  const txs = done * pair[0].length;
  return {
    perSecond: txs / seconds,
    mainMicros: (used.user + used.system) / txs,
    // CPU time of every thread of this process: tells poor scaling (contention) from a busy machine.
    perCpuSecond: txs / ((all.user + all.system) / 1e6),
  };
}

export const signatureSuite: BenchSuite = {
  name: "signature",
  limitOf: ["consensus"],
  async run(): Promise<BenchResult[]> {
    const cores = availableParallelism();
    const keys = Array.from({ length: SENDERS }, (_, i) => testKey(i + 1));
    const sizes = [100, 1000];
    const pairs = sizes.map((size, i) => batches(keys, size, BigInt(i) * 10_000n));

    // The machine's ceiling on one core: `openssl speed ed25519` (the same OpenSSL code
    // node:crypto calls, without Node around it).
    const openssl = await opensslEd25519VerifiesPerSecond();
    const limitNote = openssl === undefined ? "openssl missing: no limit" : "limit = openssl speed ed25519";
    const limit = (n: number) => (openssl === undefined ? {} : { limit: openssl * n });
    // Bare verifySignature: message prebuilt, KeyObject cached.
    const one = pairs[0]![0][0]!;
    const message = transferSigningMessage(one);
    const bare = opsPerSecond(() => verifySignature(one.senderPublicKey, message, one.signature), MIN_MS);

    const loaded = "the machine may be loaded by other engineers' tests running at the same time";
    const results: BenchResult[] = [
      {
        name: "Ed25519 verifySignature bare, message prebuilt, KeyObject cached (1 core)",
        value: bare,
        unit: "verifies/s",
        target: TARGET_PER_CORE,
        ...limit(1),
        note: limitNote,
      },
    ];
    if (openssl !== undefined) {
      // Also the limit of the consensus suite's "Ed25519 verify, cached KeyObject (1 core)" row.
      results.push({
        name: "openssl speed ed25519, verify (1 core)",
        value: openssl,
        unit: "verifies/s",
        note: "the machine limit of the Ed25519 rows",
        limitFor: { suite: "consensus", rowPrefix: "Ed25519 verify" },
      });
    }
    const inline = new SignatureVerifier({ threads: 0, cacheSize: 1 });
    await inline.start();
    const pool = new SignatureVerifier({ threads: cores, cacheSize: 1 });
    await pool.start();
    try {
      if (pool.mode !== "workers") throw new Error("signature workers did not start (is dist/ built?)");
      for (const [i, size] of sizes.entries()) {
        const a = await measure(inline, pairs[i]!);
        results.push({
          name: `verify ${size}-transfer batches inline (1 core)`,
          value: a.perSecond,
          unit: "verifies/s",
          target: TARGET_PER_CORE,
          ...limit(1),
          note: `${limitNote}; includes encode + tx id; ${a.perCpuSecond.toFixed(0)} verifies per CPU-second; ${loaded}`,
        });
        const b = await measure(pool, pairs[i]!);
        results.push({
          name: `verify ${size}-transfer batches on the pool (${cores} workers)`,
          value: b.perSecond,
          unit: "verifies/s",
          target: TARGET_PER_CORE * cores,
          ...limit(cores),
          note: `${limitNote} × ${cores} cores; ${(b.perSecond / cores).toFixed(0)}/s per core; ${b.perCpuSecond.toFixed(0)} verifies per CPU-second of the process (all threads); main thread ${b.mainMicros.toFixed(1)} µs CPU per tx (encode, tx id, packing); ${loaded}`,
        });
      }
      // What block import pays once a sync prefetch has verified its transactions: a cache lookup.
      const cached = new SignatureVerifier({ threads: 0 });
      const batch = pairs[1]![0];
      await cached.verifyTransactions(batch);
      const hits = await measureHits(cached, batch);
      results.push({
        name: "verifyTransactions on 1000 cached transfers (main thread)",
        value: hits,
        unit: "tx/s",
        note: "cost per tx = encode + SHA-256d id + LRU lookup; isVerified(idHex) alone skips the first two",
      });
    } finally {
      await pool.stop();
      await inline.stop();
    }
    return results;
  },
};

async function measureHits(verifier: SignatureVerifier, batch: readonly TransferTx[]): Promise<number> {
  let done = 0;
  const start = performance.now();
  while (performance.now() - start < MIN_MS) {
    await verifier.verifyTransactions(batch);
    done++;
  }
  return (done * batch.length * 1000) / (performance.now() - start);
}
