import { afterEach, describe, expect, it } from "vitest";
import {
  WorkerPool,
  type WorkerPoolHandlers,
  type WorkerSlot,
  workerScriptUrl,
} from "../../../src/util/worker-pool.js";

// Real worker threads running small fixture scripts (test/fixtures/*.mjs).

const POOL_WORKER = new URL("../../fixtures/pool-worker.mjs", import.meta.url);
const FAILING_WORKER = new URL("../../fixtures/failing-worker.mjs", import.meta.url);

type Req = { n: number } | { crash: true };
type Res = { n: number };
interface State {
  answers: number[];
}
interface Exit {
  threadId: number;
  exitCode: number;
  error: string | undefined;
  owned: boolean;
}

const pools: WorkerPool<State, Req, Res>[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.terminateAll()));
});

function newPool(url: URL, threads: number, readyMessage = true) {
  const exits: Exit[] = [];
  const answered: (() => void)[] = [];
  const handlers: WorkerPoolHandlers<State, Res> = {
    message: (slot, msg) => {
      slot.state.answers.push(msg.n);
      answered.shift()?.();
    },
    exit: (slot, { exitCode, error, owned }) =>
      exits.push({ threadId: slot.threadId, exitCode, error: error?.message, owned }),
  };
  const pool = new WorkerPool<State, Req, Res>(
    {
      url,
      name: "test-pool",
      threads,
      createState: () => ({ answers: [] }),
      ...(readyMessage ? { isReadyMessage: (m: unknown) => (m as { ready?: boolean }).ready === true } : {}),
    },
    handlers,
  );
  pools.push(pool);
  const ask = (slot: WorkerSlot<State>, n: number) =>
    new Promise<void>((resolve) => {
      answered.push(resolve);
      pool.post(slot, { n });
    });
  return { pool, exits, ask };
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe("workerScriptUrl", () => {
  it("maps a TypeScript source module to the compiled worker in dist/, and a built one to its sibling", () => {
    expect(workerScriptUrl("file:///repo/src/miner/pool.ts", "worker.js").href).toBe(
      "file:///repo/dist/src/miner/worker.js",
    );
    expect(workerScriptUrl("file:///repo/dist/src/miner/pool.js", "worker.js").href).toBe(
      "file:///repo/dist/src/miner/worker.js",
    );
  });
});

describe("WorkerPool", () => {
  it("start() spawns `threads` workers, each loaded (by its ready message) and answering", async () => {
    const { pool, ask } = newPool(POOL_WORKER, 2);
    await within(pool.start(), 5_000, "start");
    expect(pool.slots).toHaveLength(2);
    expect(pool.liveWorkers).toBe(2);
    for (const slot of pool.slots) {
      expect(slot.ready).toBe(true);
      await within(ask(slot, 41), 5_000, "answer");
      expect(slot.state.answers).toEqual([42]);
    }
  });

  it("loaded at the 'online' event when no ready message is configured; fill() spawns on demand without waiting", async () => {
    const { pool } = newPool(POOL_WORKER, 3, false);
    pool.fill();
    expect(pool.slots).toHaveLength(3);
    pool.fill(); // already full
    expect(pool.slots).toHaveLength(3);
    await within(Promise.all(pool.slots.map((s) => s.loaded)), 5_000, "loaded");
    expect(pool.slots.every((s) => s.ready)).toBe(true);
  });

  it("a worker that dies with an uncaught error exits as owned, with its error; replace() puts a working one in its place", async () => {
    const { pool, exits, ask } = newPool(POOL_WORKER, 1);
    await pool.start();
    const crashed = pool.slots[0]!;
    pool.post(crashed, { crash: true });
    await within(crashed.exited, 5_000, "crash exit");
    expect(exits).toEqual([
      { threadId: crashed.threadId, exitCode: 1, error: "worker crashed on request", owned: true },
    ]);
    const fresh = pool.replace(crashed)!;
    expect(pool.slots).toEqual([fresh]);
    expect(fresh.threadId).not.toBe(crashed.threadId);
    await within(fresh.loaded, 5_000, "replacement loaded");
    await within(ask(fresh, 1), 5_000, "replacement answer");
    expect(fresh.state.answers).toEqual([2]);
  });

  it("terminateAll() lets go of every worker first (their exits are not owned) and waits for each exit", async () => {
    const { pool, exits } = newPool(POOL_WORKER, 2);
    await pool.start();
    const ids = pool.slots.map((s) => s.threadId).sort();
    await pool.terminateAll();
    expect(pool.slots).toHaveLength(0);
    expect(pool.liveWorkers).toBe(0);
    expect(exits.map((e) => e.threadId).sort()).toEqual(ids);
    expect(exits.every((e) => !e.owned)).toBe(true);
    await pool.terminateAll(); // idempotent
  });

  it("start() rejects when a worker fails to load, and leaves no worker running", async () => {
    const { pool } = newPool(FAILING_WORKER, 2);
    await expect(within(pool.start(), 5_000, "failed start")).rejects.toThrow(
      "this worker fails while loading",
    );
    expect(pool.slots).toHaveLength(0);
    expect(pool.liveWorkers).toBe(0);
  });

  it("drop() lets go of one worker without a replacement; threads must be an integer ≥ 0 (RangeError)", async () => {
    const { pool } = newPool(POOL_WORKER, 2);
    await pool.start();
    const [first, second] = pool.slots;
    pool.drop(first!);
    expect(pool.slots).toEqual([second]);
    void first!.worker.terminate();
    await first!.exited;
    expect(() => newPool(POOL_WORKER, -1)).toThrow(RangeError);
    expect(() => newPool(POOL_WORKER, 1.5)).toThrow(RangeError);
  });
});
