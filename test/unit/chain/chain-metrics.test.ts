import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Chain, type ChainMetrics } from "../../../src/chain/index.js";
import { REGTEST } from "../../../src/consensus/params.js";
import { prepareBlock } from "../../../src/miner/block-template.js";
import { blockEnvelope } from "../../../src/primitives/block.js";
import { ChainStore } from "../../../src/store/chain-store.js";
import { mineHeader } from "../../helpers/chain-builder.js";
import { FAR_AHEAD_CLOCK } from "../../helpers/open-chain.js";
import { tempDir } from "../../helpers/temp-dir.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("Chain metrics dependency", () => {
  it("observes every processBlock call once, with its outcome: connected, duplicate, error", async () => {
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const observed: { seconds: number; result: string }[] = [];
    const metrics: ChainMetrics = {
      observeBlockImport: (seconds, result) => observed.push({ seconds, result }),
    };
    const store = new ChainStore({ location: join(dir.path, "chain"), network: REGTEST.name, create: true });
    await store.open();
    cleanups.push(() => store.close());
    const chain = new Chain({ params: REGTEST }, { store, clock: FAR_AHEAD_CLOCK, metrics });
    await chain.open();

    const template = await prepareBlock(chain, new Uint8Array(20).fill(1), []);
    const block = blockEnvelope({ ...template, header: mineHeader(template.header) });
    await chain.processBlock(block);
    await chain.processBlock(block);
    const broken = blockEnvelope({
      ...template,
      header: mineHeader({ ...template.header, merkleRoot: new Uint8Array(32) }),
    });
    await expect(chain.processBlock(broken)).rejects.toThrow();

    expect(observed.map((o) => o.result)).toEqual(["connected", "duplicate", "error"]);
    for (const o of observed) expect(o.seconds).toBeGreaterThanOrEqual(0);
  });
});
