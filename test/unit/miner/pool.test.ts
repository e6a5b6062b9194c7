import { readdirSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { checkProofOfWork, compactToTarget } from "../../../src/consensus/pow.js";
import {
  MinerError,
  MinerErrorCode,
  type MinerKernel,
  MinerPool,
  type MinerPoolEvents,
} from "../../../src/miner/index.js";
import { type BlockHeader, headerHash } from "../../../src/primitives/index.js";
import { niceOf, procStatFields } from "../../helpers/proc-stat.js";
import { waitFor } from "../../helpers/wait.js";

// These tests run real worker threads from dist/src/miner/worker.js (`npm test` builds first).

const REGTEST_BITS = 0x207fffff;
const HARDER_BITS = 0x1f00ffff;
const NEVER_BITS = 0x1b00ffff; // ~2^-48 per hash: no test run finds one
const POW_LIMIT = compactToTarget(REGTEST_BITS).target;

const template: BlockHeader = {
  version: 1,
  prevHash: new Uint8Array(32).fill(0x11),
  merkleRoot: new Uint8Array(32).fill(0x22),
  stateRoot: new Uint8Array(32).fill(0x33),
  time: 1_700_000_000,
  bits: HARDER_BITS,
  nonce: 0n,
};

/** Reject if `promise` has not settled within `ms` (no test waits on a sleep). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function nextEvent<K extends keyof MinerPoolEvents & string>(
  pool: MinerPool,
  event: K,
): Promise<MinerPoolEvents[K]> {
  return new Promise((resolve) => pool.once(event, resolve));
}

function countResources(kinds: string[]): number {
  return process.getActiveResourcesInfo().filter((r) => kinds.includes(r)).length;
}

/** Nice values of this process's threads named `name` (Linux /proc). */
function threadNiceValues(name: string): number[] {
  const out: number[] = [];
  for (const task of readdirSync("/proc/self/task")) {
    try {
      if (readFileSync(`/proc/self/task/${task}/comm`, "utf8").trim() !== name) continue;
      out.push(niceOf(procStatFields(`/proc/self/task/${task}/stat`)));
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

const pools: MinerPool[] = [];
function newPool(threads: number, kernel: MinerKernel = "auto"): MinerPool {
  const pool = new MinerPool({ threads, kernel });
  pools.push(pool);
  return pool;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.stop()));
});

describe("MinerPool", () => {
  it.each([
    ["regtest", REGTEST_BITS, "auto"],
    ["0x1f00ffff", HARDER_BITS, "auto"],
    ["0x1f00ffff, JS kernel", HARDER_BITS, "js"],
    ["0x1f00ffff, WebAssembly SIMD kernel", HARDER_BITS, "wasm"],
  ] as const)("mines a header that passes the consensus PoW check (%s)", async (_name, bits, kernel) => {
    const pool = newPool(2, kernel);
    await pool.start();
    const header = { ...template, bits };
    const found = nextEvent(pool, "found");
    const solved = await within(pool.mine(header), 10_000, "mine");
    expect(solved).toBeDefined();
    expect({ ...solved!, nonce: 0n }).toEqual(header);
    const hash = headerHash(solved!);
    expect(() => checkProofOfWork(hash, bits, POW_LIMIT)).not.toThrow();
    expect((await found).header).toEqual(solved);
  });

  it("hashes at the lowest CPU priority (nice 19), and only its own threads do: the node's keep theirs", async () => {
    const before = threadNiceValues("MainThread");
    const pool = newPool(2);
    await pool.start();
    const nice = await waitFor(
      () => {
        const values = threadNiceValues("quarry-miner");
        return values.length >= 2 && values.every((v) => v === 19) ? values : undefined;
      },
      5_000,
      "both miner threads at nice 19",
    );
    expect(nice.length).toBeGreaterThanOrEqual(2);
    expect(threadNiceValues("MainThread")).toEqual(before);
  });

  it("template refresh: a second mine() resolves the first with undefined and mines the new header", async () => {
    const pool = newPool(2);
    await pool.start();
    const first = pool.mine({ ...template, bits: NEVER_BITS });
    const refreshed = { ...template, time: template.time + 1 };
    const second = pool.mine(refreshed);
    await expect(within(first, 2_000, "first mine")).resolves.toBeUndefined();
    const solved = await within(second, 10_000, "second mine");
    expect(solved?.time).toBe(refreshed.time);
    expect(() => checkProofOfWork(headerHash(solved!), refreshed.bits, POW_LIMIT)).not.toThrow();
  });

  it("a refresh of an unchanged header never searches a nonce range twice; a new header starts at 0", async () => {
    const pool = newPool(2);
    await pool.start();
    const ranges: MinerPoolEvents["range"][] = [];
    pool.on("range", (r) => ranges.push(r));
    const header = { ...template, bits: NEVER_BITS };
    const searchedBy = (jobId: number) => ranges.filter((r) => r.jobId === jobId).map((r) => r.nonceHigh);
    const jobs: number[] = [];
    for (let refresh = 0; refresh < 3; refresh++) {
      const controller = new AbortController();
      const pending = pool.mine({ ...header, nonce: BigInt(refresh) }, controller.signal);
      // Abort only once this job is demonstrably hashing (as the producer's refresh timer does).
      await within(nextEvent(pool, "hashrate"), 5_000, "hashrate event");
      controller.abort();
      await expect(within(pending, 2_000, "refreshed mine")).resolves.toBeUndefined();
      jobs.push(ranges.at(-1)!.jobId);
    }
    const searched = jobs.map(searchedBy);
    for (const highs of searched) expect(highs.length).toBeGreaterThanOrEqual(2);
    const all = searched.flat();
    expect(new Set(all).size).toBe(all.length);
    for (const r of ranges) expect([r.start, r.end]).toEqual([0, 2 ** 32]);
    // A different header is a different hash space: it starts from the first range again.
    const other = pool.mine({ ...header, time: header.time + 1 });
    expect(ranges.at(-1)!.nonceHigh).toBe(1);
    expect(ranges.at(-2)!.nonceHigh).toBe(0);
    await pool.stop();
    await expect(other).resolves.toBeUndefined();
  });

  it("abort: mine() resolves undefined when its signal aborts, or at once if already aborted", async () => {
    const pool = newPool(1);
    await pool.start();
    const controller = new AbortController();
    const pending = pool.mine({ ...template, bits: NEVER_BITS }, controller.signal);
    // Abort only once the worker is demonstrably hashing.
    await within(nextEvent(pool, "hashrate"), 5_000, "hashrate event");
    expect(pool.hashrate).toBeGreaterThan(0);
    controller.abort();
    await expect(within(pending, 2_000, "aborted mine")).resolves.toBeUndefined();
    await expect(pool.mine(template, AbortSignal.abort())).resolves.toBeUndefined();
    // The pool still mines after an abort.
    expect(await within(pool.mine(template), 10_000, "mine after abort")).toBeDefined();
  });

  it("stop() terminates every worker (each emits exit), resolves the pending mine, and is idempotent", async () => {
    const resourceKinds = ["Worker", "MessagePort"];
    const baseline = countResources(resourceKinds);
    const pool = newPool(2);
    const exits: number[] = [];
    pool.on("worker-exit", ({ threadId }) => exits.push(threadId));
    const online: number[] = [];
    pool.on("worker-online", ({ threadId }) => online.push(threadId));
    await pool.start();
    await pool.start(); // idempotent: no extra workers
    expect(pool.workerCount).toBe(2);
    expect(online).toHaveLength(2);
    expect(countResources(resourceKinds)).toBeGreaterThan(baseline);

    const pending = pool.mine({ ...template, bits: NEVER_BITS });
    await pool.stop();
    await expect(pending).resolves.toBeUndefined();
    expect(pool.workerCount).toBe(0);
    expect(exits.sort()).toEqual(online.sort());
    expect(countResources(resourceKinds)).toBe(baseline);
    await pool.stop(); // idempotent
    expect(exits).toHaveLength(2);
    await expect(pool.mine(template)).rejects.toMatchObject({ code: MinerErrorCode.NOT_RUNNING });
  });

  it("start() after stop() spawns fresh workers that mine", async () => {
    const pool = newPool(1);
    await pool.start();
    await pool.stop();
    await pool.start();
    expect(pool.workerCount).toBe(1);
    const solved = await within(pool.mine(template), 10_000, "mine after restart");
    expect(() => checkProofOfWork(headerHash(solved!), template.bits, POW_LIMIT)).not.toThrow();
    await pool.stop();
    expect(pool.workerCount).toBe(0);
  });

  it("concurrent stop() calls share one shutdown", async () => {
    const pool = newPool(2);
    await pool.start();
    await Promise.all([pool.stop(), pool.stop(), pool.stop()]);
    expect(pool.workerCount).toBe(0);
  });

  it("rejects mine() before start with MINER_NOT_RUNNING and unusable bits with MINER_BAD_TARGET", async () => {
    const pool = newPool(1);
    const notRunning = pool.mine(template);
    await expect(notRunning).rejects.toBeInstanceOf(MinerError);
    await expect(notRunning).rejects.toMatchObject({ code: MinerErrorCode.NOT_RUNNING });
    await pool.start();
    await expect(pool.mine({ ...template, bits: 0 })).rejects.toMatchObject({
      code: MinerErrorCode.BAD_TARGET,
    });
    await expect(pool.mine({ ...template, bits: 0x04923456 })).rejects.toMatchObject({
      code: MinerErrorCode.BAD_TARGET,
    });
    await expect(pool.mine({ ...template, time: -1 })).rejects.toBeInstanceOf(RangeError);
  });

  it("rejects a thread count below 1 with RangeError", () => {
    expect(() => new MinerPool({ threads: 0 })).toThrow(RangeError);
  });
});
