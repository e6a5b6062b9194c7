import { cp, mkdtemp, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Chain, ReorgEvent } from "../chain/index.js";
import type { NetworkParams } from "../consensus/index.js";
import { BlockError, BlockErrorCode } from "../consensus/index.js";
import { toHex } from "../primitives/index.js";
import { BlockStatus, ChainStore } from "../store/index.js";
import type { OpenedPackage } from "./block-package.js";
import { PackageError, PackageErrorCode } from "./errors.js";

/** The part of a Chain an import uses. */
export type PackageChain = Pick<Chain, "getEntry" | "processBlock" | "provenBranchWork" | "tip">;

/** A throw-away chain over a copy of the real store, for the validation pass. */
export interface ScratchChain {
  chain: PackageChain;
  close(): Promise<void>;
}

export interface ImportDeps {
  /** the real chain (open; nothing else may write to its store during the import) */
  chain: PackageChain & Pick<Chain, "on" | "off">;
  /** opens a chain over a copy of the real store as it is now */
  openScratch: () => Promise<ScratchChain>;
}

export interface ImportResult {
  /** blocks newly stored */
  imported: number;
  /** blocks already in the store (an import is idempotent) */
  skipped: number;
  tipBefore: { height: number; hash: string };
  tipAfter: { height: number; hash: string };
  /** main-chain switches the import caused */
  reorgs: ReorgEvent[];
}

/**
 * Imports a verified package all-or-nothing:
 * 1. plan: blocks already stored are skipped; the first new block's parent must be stored at the
 *    height the package says (`PACKAGE_UNKNOWN_PARENT`, `PACKAGE_BROKEN_SEQUENCE`);
 * 2. validate: every new block goes through `processBlock` on a scratch copy of the store; the first
 *    refusal throws `PACKAGE_INVALID_BLOCK` (with the chain's `blockCode`) and the real store is
 *    untouched;
 * 3. import: the same blocks, in the same order, into the real chain.
 * Step 3 repeats step 2 on an identical store, so it accepts the same blocks. A crash during step 3
 * leaves a prefix of the package stored; that prefix was fully validated, every block is one
 * atomic batch, and running the import again skips it and stores the rest.
 */
export async function importPackage(pkg: OpenedPackage, deps: ImportDeps): Promise<ImportResult> {
  const { chain } = deps;
  const tipBefore = { height: chain.tip.height, hash: chain.tip.hashHex };
  const first = pkg.blocks[0];
  if (!first) throw new RangeError("package holds no blocks");
  const parent = chain.getEntry(toHex(first.block.header.prevHash));
  if (!parent)
    throw new PackageError(
      { code: PackageErrorCode.UNKNOWN_PARENT },
      `the parent of the first block (${toHex(first.block.header.prevHash)}, height ${pkg.fromHeight - 1}) is not in this store: import the blocks before it first`,
    );
  if (parent.height + 1 !== pkg.fromHeight)
    throw new PackageError(
      { code: PackageErrorCode.BROKEN_SEQUENCE },
      `package says its first block is at height ${pkg.fromHeight}, its parent is at ${parent.height}`,
    );
  const fresh: number[] = [];
  for (let i = 0; i < pkg.blocks.length; i++) {
    const known = chain.getEntry(pkg.hashes[i]!);
    if (!known) fresh.push(i);
    else if (known.status === BlockStatus.Invalid || known.status === BlockStatus.InvalidChild)
      throw new PackageError(
        {
          code: PackageErrorCode.INVALID_BLOCK,
          index: i,
          hash: pkg.hashes[i]!,
          blockCode: BlockErrorCode.KNOWN_INVALID,
        },
        `block ${i} (${pkg.hashes[i]}) is stored as invalid (${known.invalidCode}); nothing was imported`,
      );
  }
  const skipped = pkg.blocks.length - fresh.length;
  if (fresh.length === 0) return { imported: 0, skipped, tipBefore, tipAfter: tipBefore, reorgs: [] };

  const scratch = await deps.openScratch();
  try {
    const provenWork = scratch.chain.provenBranchWork(fresh.map((i) => pkg.blocks[i]!.block.header));
    for (const i of fresh) await processOrRefuse(scratch.chain, pkg, i, provenWork);
  } finally {
    await scratch.close();
  }

  const reorgs: ReorgEvent[] = [];
  const onReorg = (e: ReorgEvent) => reorgs.push(e);
  chain.on("reorg", onReorg);
  try {
    const provenWork = chain.provenBranchWork(fresh.map((i) => pkg.blocks[i]!.block.header));
    for (const i of fresh) await processOrRefuse(chain, pkg, i, provenWork);
  } finally {
    chain.off("reorg", onReorg);
  }
  return {
    imported: fresh.length,
    skipped,
    tipBefore,
    tipAfter: { height: chain.tip.height, hash: chain.tip.hashHex },
    reorgs,
  };
}

/**
 * `provenWork`: what the package's new blocks prove for their branch, so a deep branch that
 * catches up within the package passes the chain's low-work rule (BLOCK_LOW_WORK refuses one
 * that does not: a package of a branch too far behind our tip to matter).
 */
async function processOrRefuse(
  chain: PackageChain,
  pkg: OpenedPackage,
  i: number,
  provenWork: bigint,
): Promise<void> {
  const hash = pkg.hashes[i]!;
  const refuse = (blockCode: string, why: string) =>
    new PackageError(
      { code: PackageErrorCode.INVALID_BLOCK, index: i, hash, blockCode },
      `block ${i} (height ${pkg.fromHeight + i}, ${hash}) refused: ${why} [${blockCode}]; nothing was imported`,
    );
  let status: string;
  try {
    status = (await chain.processBlock(pkg.blocks[i]!, { provenWork })).status;
  } catch (err) {
    if (err instanceof BlockError) throw refuse(err.code, err.message);
    throw err;
  }
  // The parent is stored, so an orphan result would mean the store changed under us.
  if (status === "orphan") throw refuse("ORPHAN", "its parent is missing");
}

/**
 * Opens a chain over a copy of `<datadir>/chain` in a temp dir under the datadir, removed on
 * close. Make the copy while no process has the store open (LevelDB may compact in the
 * background while open): the import command copies before it opens the real store.
 */
export async function copyChainStore(datadir: string): Promise<string> {
  const dir = await mkdtemp(join(datadir, "import-scratch-"));
  const source = join(datadir, "chain");
  const exists = await stat(source).then(
    () => true,
    () => false,
  );
  if (exists) await cp(source, join(dir, "chain"), { recursive: true });
  return dir;
}

/** Opens the scratch copy made by `copyChainStore`; `close` also deletes it. */
export async function openScratchChain(
  scratchDir: string,
  params: NetworkParams,
  makeChain: (store: ChainStore) => Chain,
): Promise<ScratchChain> {
  // A scratch copy is disposable: an empty one (the datadir had no store yet) is created.
  const store = new ChainStore({ location: join(scratchDir, "chain"), network: params.name, create: true });
  await store.open();
  const chain = makeChain(store);
  try {
    await chain.open();
  } catch (err) {
    await store.close();
    throw err;
  }
  return {
    chain,
    async close() {
      await store.close();
      await rm(scratchDir, { recursive: true, force: true });
    },
  };
}
