import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Chain } from "../../../src/chain/chain.js";
import { REGTEST } from "../../../src/consensus/params.js";
import { DiskSpaceMonitor } from "../../../src/node/disk-space.js";
import { blockEnvelope } from "../../../src/primitives/index.js";
import { ChainStore } from "../../../src/store/chain-store.js";
import { ChainBuilder } from "../../helpers/chain-builder.js";
import { FAR_AHEAD_CLOCK } from "../../helpers/open-chain.js";
import { tempDir } from "../../helpers/temp-dir.js";

const MiB = 1024 * 1024;

let dir: ReturnType<typeof tempDir>;
let store: ChainStore;
let chain: Chain;
let free: number;

function monitor(minFreeBytes: number): DiskSpaceMonitor {
  return new DiskSpaceMonitor(
    { path: dir.path, minFreeBytes, intervalMs: 60_000 },
    { chain, freeBytes: async () => free },
  );
}

beforeEach(async () => {
  dir = tempDir();
  store = new ChainStore({ location: join(dir.path, "chain"), network: REGTEST.name, create: true });
  await store.open();
  chain = new Chain({ params: REGTEST }, { store, clock: FAR_AHEAD_CLOCK });
  await chain.open();
});

afterEach(async () => {
  await store.close();
  dir.cleanup();
});

describe("the free-space monitor (--min-free-space)", () => {
  it("STORE_DISK_LOW: under the minimum the chain halts and refuses blocks (STORE_HALTED)", async () => {
    free = 50 * MiB;
    await monitor(100 * MiB).check();
    expect(chain.halted?.code).toBe("STORE_DISK_LOW");
    expect(chain.halted?.reason).toMatch(/50 MiB, below --min-free-space 100 MiB/);
    const block = await ChainBuilder.create().mine();
    await expect(chain.processBlock(blockEnvelope(block))).rejects.toMatchObject({ code: "STORE_HALTED" });
  });

  it("with room again the chain resumes (a probe write succeeds) and stores blocks", async () => {
    free = 50 * MiB;
    const disk = monitor(100 * MiB);
    await disk.check();
    free = 500 * MiB;
    await disk.check();
    expect(chain.halted).toBeUndefined();
    const block = await ChainBuilder.create().mine();
    expect((await chain.processBlock(blockEnvelope(block))).status).toBe("connected");
  });

  it("a corruption halt (STORE_CORRUPT) is not resumed by free space", async () => {
    chain.halt("STORE_CORRUPT", "tx index entry damaged");
    free = 500 * MiB;
    await monitor(100 * MiB).check();
    expect(chain.halted?.code).toBe("STORE_CORRUPT");
  });

  it("between the minimum and twice it: a warning, no halt", async () => {
    free = 150 * MiB;
    await monitor(100 * MiB).check();
    expect(chain.halted).toBeUndefined();
  });
});
