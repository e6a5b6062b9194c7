import { scrypt } from "node:crypto";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Keystore } from "../src/keystore/index.js";
import { tempDir } from "../test/helpers/temp-dir.js";
import type { BenchResult, BenchSuite } from "./harness.js";

const PASSWORD = new TextEncoder().encode("bench password");
const RUNS = 3;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Bare scrypt N=2^18 r=8 p=1 through node:crypto: the floor an unlock cannot beat. */
function rawScryptSeconds(): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    scrypt(PASSWORD, new Uint8Array(32), 32, { N: 2 ** 18, r: 8, p: 1, maxmem: 300 * 2 ** 20 }, (err) =>
      err ? reject(err) : resolve((performance.now() - start) / 1000),
    );
  });
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Unlock time of a key file with the default cost (scrypt N=2^18, r=8, p=1): read, parse, derive,
 * MAC, decrypt, public-key check. Also the worst event-loop stall during the unlocks, which shows
 * the KDF runs off the main thread, next to the stall of an idle event loop over the same time (on
 * a busy machine the operating system's scheduling alone stalls an idle loop), and the event loop's
 * busy time per unlock (its own work, whatever the machine's load).
 */
export const keystoreSuite: BenchSuite = {
  name: "keystore",
  async run(): Promise<BenchResult[]> {
    const dir = tempDir("quarry-bench-keystore-");
    try {
      const keystore = new Keystore({
        dir: join(dir.path, "keystore"),
        network: "regtest",
        addressPrefix: "qrt",
      });
      await keystore.create({ name: "default", password: PASSWORD });
      await keystore.create({ name: "light", password: PASSWORD, light: true });

      const unlock = async (name: string): Promise<number> => {
        const start = performance.now();
        (await keystore.unlock(name, PASSWORD)).fill(0);
        return (performance.now() - start) / 1000;
      };
      const defaultTimes: number[] = [];
      const lightTimes: number[] = [];
      // Warm up (worker start, first-call compilation) outside the measurement.
      await unlock("light");
      const stall = monitorEventLoopDelay({ resolution: 5 });
      const elu = performance.eventLoopUtilization();
      const unlocksStart = performance.now();
      stall.enable();
      for (let i = 0; i < RUNS; i++) defaultTimes.push(await unlock("default"));
      stall.disable();
      const busyMs = performance.eventLoopUtilization(elu).active / RUNS;
      const unlocksMs = performance.now() - unlocksStart;
      for (let i = 0; i < RUNS; i++) lightTimes.push(await unlock("light"));
      const idleStall = monitorEventLoopDelay({ resolution: 5 });
      idleStall.enable();
      await delay(unlocksMs);
      idleStall.disable();
      const raw = median([await rawScryptSeconds(), await rawScryptSeconds(), await rawScryptSeconds()]);

      return [
        {
          name: "unlock, default scrypt N=2^18 r=8 p=1 (median of 3)",
          value: median(defaultTimes),
          unit: "s",
          target: 1.5,
          lowerIsBetter: true,
          limit: raw,
          note: "limit = bare node:crypto scrypt with the same parameters",
        },
        {
          name: "unlock, --light scrypt N=2^12 (median of 3)",
          value: median(lightTimes),
          unit: "s",
          lowerIsBetter: true,
        },
        {
          name: "event-loop max stall during default unlocks",
          value: stall.max / 1e6,
          unit: "ms",
          target: 20,
          lowerIsBetter: true,
          note: `scrypt runs on a worker thread; an idle event loop over the same time: ${(idleStall.max / 1e6).toFixed(1)} ms (scheduling noise)`,
        },
        {
          name: "event-loop busy time per default unlock",
          value: busyMs,
          unit: "ms",
          lowerIsBetter: true,
          note: "eventLoopUtilization().active: the main thread's own work, robust to machine load",
        },
      ];
    } finally {
      dir.cleanup();
    }
  },
};
