import { readdirSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { Chain } from "../../../src/chain/index.js";
import { REGTEST } from "../../../src/consensus/params.js";
import {
  copyChainStore,
  importPackage,
  openPackage,
  openScratchChain,
  PackageError,
  PackageErrorCode,
  signPackage,
} from "../../../src/package/index.js";
import { type Block, blockHash, encodeBlock, toHex } from "../../../src/primitives/index.js";
import type { Clock } from "../../../src/util/clock.js";
import { ChainBuilder, testKey } from "../../helpers/chain-builder.js";
import { type OpenedChain, openChain } from "../../helpers/open-chain.js";
import { tempDir } from "../../helpers/temp-dir.js";

/**
 * importPackage over real LevelDB stores: idempotent, all-or-nothing (a bad block anywhere leaves
 * the store exactly as it was), and a package with more work reorganises the chain.
 */

const SIGNER = testKey(50);
const CLOCK: Clock = { nowMs: () => 2_000_000_000_000 };
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups.length = 0;
});

function packageOf(blocks: Block[], fromHeight: number) {
  return openPackage(
    signPackage(SIGNER.seed, REGTEST.networkId, fromHeight, blocks.map(encodeBlock), blocks.map(blockHash)),
    REGTEST.networkId,
  );
}

/** Opens the store in `existing` (or a new temp dir) the way the CLI does: scratch copy first. */
async function setup(
  existing?: string,
): Promise<{ dir: string; local: OpenedChain; deps: Parameters<typeof importPackage>[1] }> {
  let path = existing;
  if (!path) {
    const dir = tempDir("quarry-import-");
    cleanups.push(dir.cleanup);
    path = dir.path;
  }
  const scratchDir = await copyChainStore(path);
  const local = await openChain(path, { clock: CLOCK });
  cleanups.push(() => local.close());
  return {
    dir: path,
    local,
    deps: {
      chain: local.chain,
      openScratch: () =>
        openScratchChain(
          scratchDir,
          REGTEST,
          (store) => new Chain({ params: REGTEST }, { store, clock: CLOCK }),
        ),
    },
  };
}

describe("importPackage", () => {
  it("imports every block, then skips them all the second time (idempotent)", async () => {
    const builder = ChainBuilder.create();
    const blocks = await builder.mineMany(8);
    const { local, deps } = await setup();
    const result = await importPackage(packageOf(blocks, 1), deps);
    expect(result).toMatchObject({ imported: 8, skipped: 0, tipAfter: { height: 8 } });
    expect(local.chain.tip.hashHex).toBe(toHex(blockHash(builder.tip)));
    const again = await importPackage(packageOf(blocks, 1), deps);
    expect(again).toMatchObject({ imported: 0, skipped: 8, tipAfter: { height: 8 } });
  });

  it("PACKAGE_INVALID_BLOCK: a bad block at the end leaves the store exactly as it was", async () => {
    const builder = ChainBuilder.create();
    const good = await builder.mineMany(5);
    // Proves its work, is correctly linked and signed, but pays itself too much.
    const bad = await builder.mine({ coinbaseAmount: 10n ** 15n, mutate: () => {} });
    const { local, deps, dir } = await setup();
    const before = local.chain.tip.hashHex;
    let error: unknown;
    try {
      await importPackage(packageOf([...good, bad], 1), deps);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PackageError);
    const type = (error as PackageError).type;
    expect(type.code).toBe(PackageErrorCode.INVALID_BLOCK);
    if (type.code === PackageErrorCode.INVALID_BLOCK) {
      expect(type.index).toBe(5);
      expect(type.blockCode).not.toBe("");
    }
    // Nothing of the valid prefix was stored either, and the scratch copy is gone.
    expect(local.chain.tip.hashHex).toBe(before);
    expect(local.chain.height).toBe(0);
    for (const b of good) expect(local.chain.getEntry(toHex(blockHash(b)))).toBeUndefined();
    expect(readdirSync(dir).filter((f) => f.startsWith("import-scratch-"))).toEqual([]);
  });

  it("PACKAGE_UNKNOWN_PARENT and PACKAGE_BROKEN_SEQUENCE before any work", async () => {
    const builder = ChainBuilder.create();
    const blocks = await builder.mineMany(4);
    const { deps } = await setup();
    await expect(importPackage(packageOf(blocks.slice(2), 3), deps)).rejects.toMatchObject({
      type: { code: PackageErrorCode.UNKNOWN_PARENT },
    });
    await expect(importPackage(packageOf(blocks, 2), deps)).rejects.toMatchObject({
      type: { code: PackageErrorCode.BROKEN_SEQUENCE },
    });
  });

  it("a package with more work reorganises the chain and reports it", async () => {
    const builder = ChainBuilder.create();
    const common = await builder.mineMany(2);
    const other = builder.fork(2);
    const mine = await builder.mineMany(2, { miner: testKey(51).address });
    const theirs = await other.mineMany(5, { miner: testKey(52).address });
    const first = await setup();
    await importPackage(packageOf([...common, ...mine], 1), first.deps);
    expect(first.local.chain.height).toBe(4);
    await first.local.close();
    const { local, deps } = await setup(first.dir);
    const result = await importPackage(packageOf([...common, ...theirs], 1), deps);
    expect(result).toMatchObject({ imported: 5, skipped: 2, tipAfter: { height: 7 } });
    expect(result.reorgs).toHaveLength(1);
    expect(result.reorgs[0]).toMatchObject({ depth: 2, forkPoint: { height: 2 } });
    expect(local.chain.tip.hashHex).toBe(toHex(blockHash(theirs[4]!)));
  });
});
