import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  SIGNATURE_CHUNK_SIZE,
  SignatureVerifier,
  SignatureVerifierErrorCode,
  type SignatureVerifierEvents,
  signatureWorkerUrl,
  verifyEncodedTransfers,
} from "../../../src/chain/signature-verifier.js";
import { REGTEST } from "../../../src/consensus/params.js";
import {
  type CoinbaseTx,
  encodeTransaction,
  type Transaction,
  type TransferTx,
  TxType,
  toHex,
  transactionId,
  transferSigningMessage,
  verifySignature,
} from "../../../src/primitives/index.js";
import { testKey, transfer } from "../../helpers/chain-builder.js";
import { waitFor } from "../../helpers/wait.js";

const keys = Array.from({ length: 8 }, (_, i) => testKey(i + 1));
const to = testKey(99).address;

/** A pool of valid transfers from several senders (signing is the slow part, so do it once). */
const valid: TransferTx[] = Array.from({ length: 200 }, (_, i) =>
  transfer(keys[i % keys.length]!, to, BigInt(1 + i), BigInt(i), 1n),
);

const coinbase: CoinbaseTx = {
  type: TxType.Coinbase,
  networkId: REGTEST.networkId,
  height: 7,
  recipient: to,
  amount: 50n,
};

const idOf = (tx: Transaction) => toHex(transactionId(tx));
const inline = (tx: TransferTx) =>
  verifySignature(tx.senderPublicKey, transferSigningMessage(tx), tx.signature);

type Tamper = "signature" | "amount" | "recipient" | "publicKey" | "network" | "none";

/** The transfer with one bit flipped in the named field (or unchanged for "none"). */
function tamper(tx: TransferTx, what: Tamper, bit: number): TransferTx {
  const flip = (bytes: Uint8Array) => {
    const copy = new Uint8Array(bytes);
    copy[(bit >> 3) % copy.length]! ^= 1 << (bit & 7);
    return copy;
  };
  switch (what) {
    case "signature":
      return { ...tx, signature: flip(tx.signature) };
    case "amount":
      return { ...tx, amount: tx.amount ^ (1n << BigInt(bit % 64)) };
    case "recipient":
      return { ...tx, recipient: flip(tx.recipient) };
    case "publicKey":
      return { ...tx, senderPublicKey: flip(tx.senderPublicKey) };
    case "network":
      return { ...tx, networkId: (tx.networkId ^ (1 << (bit % 32))) >>> 0 };
    case "none":
      return tx;
  }
}

const arbTx = fc
  .record({
    index: fc.nat({ max: valid.length - 1 }),
    what: fc.constantFrom<Tamper>("signature", "amount", "recipient", "publicKey", "network", "none"),
    bit: fc.nat({ max: 511 }),
  })
  .map(({ index, what, bit }) => tamper(valid[index]!, what, bit));

/** The next `event` of the verifier; fails after 10 s (a bounded wait, not a sleep). */
function nextEvent<K extends keyof SignatureVerifierEvents>(
  verifier: SignatureVerifier,
  event: K,
): Promise<SignatureVerifierEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within 10 s`)), 10_000);
    verifier.once(event, (payload) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
}

/**
 * Signature worker threads of this process as the OS sees them (Node gives each thread its
 * Worker's `name`, "quarry-signature", cut to the kernel's 15 characters): independent of the
 * verifier's bookkeeping. A new thread takes its name as it starts, so increases are awaited
 * (bounded). Counting every OS thread was flaky: libuv's pool and V8's platform threads come and
 * go on their own.
 */
const osThreads = () =>
  readdirSync("/proc/self/task").filter((tid) => {
    try {
      return readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim() === "quarry-signatur";
    } catch {
      return false; // the thread exited while we listed
    }
  }).length;

describe("verifyEncodedTransfers (the function every worker runs)", () => {
  it("answers 1 for valid and 0 for tampered transfers, matching verifySignature", () => {
    const txs = [valid[0]!, tamper(valid[1]!, "signature", 3), valid[2]!, tamper(valid[3]!, "amount", 0)];
    const packed = new Uint8Array(txs.length * 145);
    for (const [i, tx] of txs.entries()) packed.set(encodeTransaction(tx), i * 145);
    expect([...verifyEncodedTransfers(packed, txs.length)]).toEqual(txs.map((tx) => (inline(tx) ? 1 : 0)));
    expect([...verifyEncodedTransfers(packed, txs.length)]).toEqual([1, 0, 1, 0]);
  });

  it("rejects a buffer whose length is not count * 145 (RangeError)", () => {
    expect(() => verifyEncodedTransfers(new Uint8Array(144), 1)).toThrow(RangeError);
    expect(() => verifyEncodedTransfers(new Uint8Array(290), 1)).toThrow(RangeError);
  });
});

describe("signatureWorkerUrl", () => {
  it("maps a TypeScript source module to the compiled worker in dist/, and a built one to its sibling", () => {
    expect(signatureWorkerUrl("file:///repo/src/chain/signature-verifier.ts").href).toBe(
      "file:///repo/dist/src/chain/signature-worker.js",
    );
    expect(signatureWorkerUrl("file:///repo/dist/src/chain/signature-verifier.js").href).toBe(
      "file:///repo/dist/src/chain/signature-worker.js",
    );
  });
});

describe("SignatureVerifier with worker threads", () => {
  let verifier: SignatureVerifier;
  beforeAll(async () => {
    verifier = new SignatureVerifier({ threads: 2, cacheSize: 10_000, idleStopMs: 0 });
    await verifier.start();
  });
  afterAll(async () => {
    await verifier.stop();
  });

  it("runs on workers (the build in dist/ is present)", () => {
    expect(verifier.mode).toBe("workers");
    expect(verifier.threadIds).toHaveLength(2);
  });

  it("matches inline verifySignature on mixed batches of valid and tampered transfers", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(arbTx, fc.constant<Transaction>(coinbase)), { maxLength: 150 }),
        async (txs) => {
          const got = await verifier.verifyTransactions(txs);
          expect(got).toEqual(txs.map((tx) => (tx.type === TxType.Transfer ? inline(tx) : true)));
          for (const tx of txs) {
            if (tx.type === TxType.Transfer) expect(verifier.isVerified(idOf(tx))).toBe(inline(tx));
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("caches positive results only: a verified tx hits the cache, a bad one is never cached", async () => {
    // Built here: the property test above may already have verified any tx of `valid`.
    const good = transfer(keys[3]!, to, 7n, 9_000n);
    const bad = tamper(transfer(keys[4]!, to, 7n, 9_001n), "signature", 17);
    expect(verifier.isVerified(idOf(good))).toBe(false);
    expect(await verifier.verifyTransactions([good, bad])).toEqual([true, false]);
    expect(verifier.isVerified(idOf(good))).toBe(true);
    expect(verifier.isVerified(idOf(bad))).toBe(false);
    // Still the right answers when served from the cache.
    expect(await verifier.verifyTransactions([bad, good])).toEqual([false, true]);
  });

  it("never reports a tampered tx verified after its valid twin was cached", async () => {
    const twin = valid[160]!;
    expect(await verifier.verifyTransactions([twin])).toEqual([true]);
    for (const what of ["signature", "amount", "recipient", "publicKey", "network"] as const) {
      const tampered = tamper(twin, what, 5);
      expect(idOf(tampered)).not.toBe(idOf(twin));
      expect(await verifier.verifyTransactions([tampered])).toEqual([false]);
      expect(verifier.isVerified(idOf(tampered))).toBe(false);
    }
    expect(verifier.isVerified(idOf(twin))).toBe(true);
  });

  it("answers false for a transfer that cannot be encoded (wrong-sized signature)", async () => {
    const short = { ...valid[2]!, signature: valid[2]!.signature.subarray(0, 63) };
    expect(await verifier.verifyTransactions([short, valid[2]!])).toEqual([false, true]);
  });

  it("answers both copies of a duplicated tx and spreads a large batch over every worker", async () => {
    const batch = valid.slice(0, 130);
    const got = await verifier.verifyTransactions([...batch, ...batch]);
    expect(got).toEqual(new Array(260).fill(true));
    expect(batch.length).toBeGreaterThan(SIGNATURE_CHUNK_SIZE * 2);
  });

  it("prefetch returns at once; settle awaits it; then isVerified answers from the cache", async () => {
    const fresh = Array.from({ length: 100 }, (_, i) => transfer(keys[i % 8]!, to, 5n, 1000n + BigInt(i)));
    const bad = tamper(fresh[50]!, "recipient", 9);
    const ids = [...fresh, bad].map(idOf);
    verifier.prefetch([...fresh, bad, coinbase]);
    await verifier.settle(ids);
    expect(ids.map((id) => verifier.isVerified(id))).toEqual([...new Array(100).fill(true), false]);
    // settle on ids nobody is verifying resolves at once.
    await verifier.settle(["00".repeat(32)]);
  });

  it("verifyTransactions joins a prefetch already in flight instead of verifying again", async () => {
    const fresh = Array.from({ length: 70 }, (_, i) => transfer(keys[i % 8]!, to, 6n, 2000n + BigInt(i)));
    verifier.prefetch(fresh);
    expect(await verifier.verifyTransactions(fresh)).toEqual(new Array(70).fill(true));
    expect(fresh.every((tx) => verifier.isVerified(idOf(tx)))).toBe(true);
  });
});

describe("SignatureVerifier lifecycle", () => {
  const started: SignatureVerifier[] = [];
  // Each test counts this process's signature threads from zero: the threads of the verifiers
  // stopped before it (an earlier test, the block above) are joined a moment after they exit.
  const noSignatureThreads = () =>
    waitFor(() => osThreads() === 0, 10_000, "signature threads of earlier verifiers to end");
  beforeEach(async () => {
    await noSignatureThreads();
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((v) => v.stop()));
    await noSignatureThreads();
  });

  it("stop() terminates every worker thread, awaits their exit and is idempotent; start after stop works", async () => {
    const before = osThreads();
    const verifier = new SignatureVerifier({ threads: 2, idleStopMs: 0 });
    started.push(verifier);
    await verifier.start();
    await verifier.start(); // idempotent
    await waitFor(() => osThreads() === before + 2, 10_000, "two named signature threads");
    expect(await verifier.verifyTransactions(valid.slice(0, 10))).toEqual(new Array(10).fill(true));

    await Promise.all([verifier.stop(), verifier.stop()]);
    await verifier.stop();
    // 'exit' fires when each worker's isolate is gone; its OS thread is joined a moment later.
    await waitFor(() => osThreads() === before, 10_000, "the signature threads to end");
    expect(verifier.mode).toBe("inline");
    expect(verifier.threadIds).toEqual([]);

    await verifier.start();
    expect(verifier.mode).toBe("workers");
    await waitFor(() => osThreads() === before + 2, 10_000, "two named signature threads");
    const got = await verifier.verifyTransactions([valid[20]!, tamper(valid[21]!, "signature", 1)]);
    expect(got).toEqual([true, false]);
    await verifier.stop();
    await waitFor(() => osThreads() === before, 10_000, "the signature threads to end");
  });

  it("stop() fails chunks still in flight with STOPPED", async () => {
    const verifier = new SignatureVerifier({ threads: 1 });
    started.push(verifier);
    await verifier.start();
    const pending = verifier.verifyTransactions(valid.slice(30, 60));
    const stopping = verifier.stop();
    await expect(pending).rejects.toMatchObject({ code: SignatureVerifierErrorCode.STOPPED });
    await stopping;
  });

  it("on demand (the default): no worker until first use, stopped after idleStopMs, started again by the next use", async () => {
    const before = osThreads();
    const verifier = new SignatureVerifier({ threads: 2, idleStopMs: 150 });
    started.push(verifier);
    await verifier.start();
    expect(verifier.mode).toBe("workers");
    expect(verifier.threadIds).toEqual([]);
    expect(osThreads()).toBe(before);

    for (const round of [0, 1]) {
      const startedEvent = nextEvent(verifier, "workersStarted");
      const txs = [valid[100 + round]!, tamper(valid[110 + round]!, "signature", 2), valid[120 + round]!];
      const answer = verifier.verifyTransactions(txs);
      expect(await startedEvent).toEqual({ threads: 2 });
      expect(verifier.threadIds).toHaveLength(2);
      await waitFor(() => osThreads() === before + 2, 10_000, "two named signature threads");
      const stoppedEvent = nextEvent(verifier, "workersStopped");
      expect(await answer).toEqual([true, false, true]);
      // Idle for 150 ms after the last chunk: the workers exit on their own.
      expect(await stoppedEvent).toEqual({ reason: "idle" });
      expect(verifier.threadIds).toEqual([]);
      // 'exit' fires when the worker's isolate is gone; its OS thread is joined a moment later.
      await waitFor(() => osThreads() === before, 10_000, "the signature threads to end");
      expect(verifier.mode).toBe("workers");
    }

    // prefetch starts them as well; work keeps them up; stop() still ends them.
    const startedEvent = nextEvent(verifier, "workersStarted");
    verifier.prefetch([valid[130]!]);
    await startedEvent;
    await verifier.settle([idOf(valid[130]!)]);
    expect(verifier.isVerified(idOf(valid[130]!))).toBe(true);
    const stoppedEvent = nextEvent(verifier, "workersStopped");
    await verifier.stop();
    expect(await stoppedEvent).toEqual({ reason: "stop" });
    await waitFor(() => osThreads() === before, 10_000, "the signature threads to end");
  });

  it("threads = 0 verifies inline, with the same answers and the same cache", async () => {
    const verifier = new SignatureVerifier({ threads: 0 });
    started.push(verifier);
    await verifier.start();
    expect(verifier.mode).toBe("inline");
    const txs = [valid[40]!, tamper(valid[41]!, "amount", 3), coinbase];
    expect(await verifier.verifyTransactions(txs)).toEqual([true, false, true]);
    expect(verifier.isVerified(idOf(valid[40]!))).toBe(true);
    // prefetch has no other core to use inline: it does nothing and settle resolves.
    verifier.prefetch([valid[42]!]);
    await verifier.settle([idOf(valid[42]!)]);
    expect(verifier.isVerified(idOf(valid[42]!))).toBe(false);
  });

  it("verifies inline before start()", async () => {
    const verifier = new SignatureVerifier({ threads: 2 });
    expect(verifier.mode).toBe("inline");
    expect(await verifier.verifyTransactions([valid[43]!])).toEqual([true]);
  });

  it("rejects bad options and inputs at the boundary", () => {
    expect(() => new SignatureVerifier({ threads: -1 })).toThrow(RangeError);
    expect(() => new SignatureVerifier({ threads: 1.5 })).toThrow(RangeError);
    expect(() => new SignatureVerifier({ cacheSize: 0 })).toThrow(RangeError);
    expect(() => new SignatureVerifier({ idleStopMs: -1 })).toThrow(RangeError);
    expect(() => new SignatureVerifier({ idleStopMs: 0.5 })).toThrow(RangeError);
    const verifier = new SignatureVerifier({ threads: 0 });
    expect(() => verifier.isVerified(42 as unknown as string)).toThrow(TypeError);
    expect(() => verifier.prefetch("x" as unknown as TransferTx[])).toThrow(TypeError);
  });
});
