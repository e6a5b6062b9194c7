import { readFile, rename, rm, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { Chain, SignatureVerifier } from "../chain/index.js";
import type { NetworkParams } from "../consensus/index.js";
import { genesisBlock } from "../consensus/index.js";
import { blockHash, type DecodedBlock, decodeBlockEnvelope, equalBytes, toHex } from "../primitives/index.js";
import { ChainStore } from "../store/index.js";
import { fsyncDir, type Logger, silentLogger, ValidationError, writeFileAtomic } from "../util/index.js";
import { MaintenanceError, MaintenanceErrorCode } from "./errors.js";

/** The fresh store is built here, next to the chain, and renamed into place when complete. */
export const REINDEX_DIR = "chain.reindex";
/** Written once the fresh store is complete and closed: from then on only the swap is left. */
export const REINDEX_DONE_FILE = "chain.reindex-done";
/** Blocks whose signatures are verified ahead (worker threads) while earlier ones connect. */
const SIGNATURE_LOOKAHEAD = 32;

export interface ReindexOptions {
  datadir: string;
  params: NetworkParams;
  /** wall clock, for the name the damaged store is moved to */
  now?: () => Date;
}

export interface ReindexDeps {
  log?: Logger;
  /** after each imported block: how many are done of how many */
  onProgress?: (done: number, total: number) => void;
  /** once every readable block is known, before the import */
  onRead?: (blocks: number) => void;
}

export interface ReindexReport {
  /** stored block bodies that decoded and matched their key's hash */
  blocksRead: number;
  /** blocks the fresh chain accepted (main chain and side branches, genesis not counted) */
  imported: number;
  /** stored bodies that did not decode or did not match their hash */
  unreadable: number;
  /** readable blocks whose ancestry does not reach genesis through readable blocks */
  unconnected: number;
  /** readable blocks the chain's rules refused */
  rejected: number;
  tip: { hash: string; height: number };
  /** where the old store was moved */
  damagedDir: string | undefined;
  seconds: number;
}

/** What the first pass keeps per block: its parent, to order the import. */
interface BlockLink {
  parentHex: string;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Rebuilds the block index, main chain, accounts, state tree and transaction index of a datadir
 * from the block bodies its chain store still yields (like bitcoind -reindex-chainstate): the
 * main chain by height as far as the height index still leads, then every other stored body in
 * height order, each through `Chain.processBlock` into a FRESH store in `<datadir>/chain.reindex`,
 * so every rule is checked again. Only when that store is complete is it swapped in: the old
 * store moves to `chain.damaged-<time>`, the new one to `chain`.
 *
 * A kill at any moment leaves the old store in place (with a half-built `chain.reindex`, which a
 * re-run deletes), or the completed new store marked by `chain.reindex-done` (a re-run finishes
 * the swap), or the swapped store.
 */
export async function reindexChain(opts: ReindexOptions, deps: ReindexDeps = {}): Promise<ReindexReport> {
  const started = performance.now();
  const log = deps.log ?? silentLogger;
  const { datadir, params } = opts;
  const chainDir = join(datadir, "chain");
  const freshDir = join(datadir, REINDEX_DIR);
  const doneFile = join(datadir, REINDEX_DONE_FILE);

  // A previous run that completed its store but was killed during the swap: finish the swap.
  if ((await exists(doneFile)) && (await exists(freshDir))) {
    const previous = JSON.parse(await readFile(doneFile, "utf8")) as ReindexReport;
    const damagedDir = await swapIn(datadir, opts.now?.() ?? new Date());
    log.info({ damagedDir }, "finished the swap of a completed reindex");
    return { ...previous, damagedDir, seconds: (performance.now() - started) / 1000 };
  }
  await rm(doneFile, { force: true });
  if (!(await exists(chainDir)))
    throw new MaintenanceError(MaintenanceErrorCode.NO_STORE, `${datadir} has no chain store to reindex`);
  await rm(freshDir, { recursive: true, force: true });

  const old = new ChainStore({ location: chainDir, network: params.name });
  await old.open();
  const links = new Map<string, BlockLink>();
  let unreadable = 0;
  const mainOrder: string[] = [];
  try {
    for await (const { hash, bytes } of old.blockEntries()) {
      try {
        const decoded = decodeBlockEnvelope(bytes);
        if (!equalBytes(decoded.hash, hash)) throw new RangeError("hash mismatch");
        links.set(decoded.hashHex, { parentHex: toHex(decoded.block.header.prevHash) });
      } catch {
        unreadable++;
      }
    }
    // The main chain as far as the height index still leads through readable, linked blocks.
    let previous: string | undefined;
    for (let height = 0; ; height++) {
      const hash = await old.getMainChainHash(height);
      const hex = hash ? toHex(hash) : undefined;
      const link = hex ? links.get(hex) : undefined;
      if (!hex || !link || (previous !== undefined && link.parentHex !== previous)) break;
      if (height > 0) mainOrder.push(hex);
      previous = hex;
    }
  } catch (err) {
    await old.close();
    throw err;
  }
  const { order, unconnected } = importOrder(links, mainOrder, params);
  deps.onRead?.(links.size);
  log.info(
    { blocksRead: links.size, unreadable, unconnected, toImport: order.length },
    "reindex: read stored blocks",
  );

  const fresh = new ChainStore({ location: freshDir, network: params.name, create: true });
  const signatures = new SignatureVerifier({}, { log });
  let imported = 0;
  let rejected = 0;
  let tip: { hash: string; height: number };
  try {
    await signatures.start();
    await fresh.open();
    const chain = new Chain({ params }, { store: fresh, signatures, log });
    await chain.open();
    const ahead: DecodedBlock[] = [];
    const readAt = async (i: number) => {
      const block = i < order.length ? await old.getBlock(order[i]!.hash) : undefined;
      if (block) ahead.push(block);
    };
    for (let i = 0; i < Math.min(SIGNATURE_LOOKAHEAD, order.length); i++) await readAt(i);
    chain.prefetchSignatures(ahead);
    for (let i = 0; i < order.length; i++) {
      const block = ahead.shift();
      if (!block) break;
      const before = ahead.length;
      await readAt(i + SIGNATURE_LOOKAHEAD);
      if (ahead.length > before) chain.prefetchSignatures(ahead.slice(before));
      try {
        const result = await chain.processBlock(block);
        if (result.status === "connected" || result.status === "side-branch") imported++;
        else rejected++;
      } catch (err) {
        // A block the rules refuse is counted; anything else (the fresh store failing) stops the run.
        if (!(err instanceof ValidationError)) throw err;
        rejected++;
        log.warn({ err, hash: order[i]!.hex }, "reindex: block refused");
      }
      deps.onProgress?.(i + 1, order.length);
    }
    tip = { hash: chain.tip.hashHex, height: chain.height };
  } finally {
    await fresh.close();
    await old.close();
    await signatures.stop();
  }
  await fsyncDir(freshDir);
  const report: ReindexReport = {
    blocksRead: links.size,
    imported,
    unreadable,
    unconnected,
    rejected,
    tip,
    damagedDir: undefined,
    seconds: 0,
  };
  await writeFileAtomic({ path: doneFile, data: JSON.stringify(report), mode: 0o600, overwrite: true });
  const damagedDir = await swapIn(datadir, opts.now?.() ?? new Date());
  return { ...report, damagedDir, seconds: (performance.now() - started) / 1000 };
}

/** Moves `chain` aside (if there) and the completed fresh store into its place, then drops the marker. */
async function swapIn(datadir: string, now: Date): Promise<string | undefined> {
  const chainDir = join(datadir, "chain");
  let damagedDir: string | undefined;
  if (await exists(chainDir)) {
    damagedDir = join(datadir, `chain.damaged-${now.toISOString().replace(/[:.]/g, "-")}`);
    await rename(chainDir, damagedDir);
  }
  await rename(join(datadir, REINDEX_DIR), chainDir);
  await fsyncDir(datadir);
  await unlink(join(datadir, REINDEX_DONE_FILE));
  await fsyncDir(datadir);
  return damagedDir;
}

/**
 * The import order: the main chain first (so a tie in work keeps the tip the store had), then the
 * other blocks whose ancestry reaches genesis, by height; the rest are unconnected.
 */
function importOrder(
  links: ReadonlyMap<string, BlockLink>,
  mainOrder: readonly string[],
  params: NetworkParams,
): { order: { hex: string; hash: Uint8Array }[]; unconnected: number } {
  const heights = new Map<string, number>();
  const genesisHex = toHex(blockHash(genesisBlock(params)));
  heights.set(genesisHex, 0);
  for (let i = 0; i < mainOrder.length; i++) heights.set(mainOrder[i]!, i + 1);
  const heightOf = (start: string): number | undefined => {
    const path: string[] = [];
    let hex: string | undefined = start;
    while (hex !== undefined && !heights.has(hex)) {
      path.push(hex);
      hex = links.get(hex)?.parentHex;
      if (path.length > links.size) return undefined; // a cycle cannot happen with real hashes
    }
    if (hex === undefined) return undefined;
    let h = heights.get(hex)!;
    for (let i = path.length - 1; i >= 0; i--) heights.set(path[i]!, ++h);
    return heights.get(start);
  };
  const main = new Set(mainOrder);
  const rest: { hex: string; height: number }[] = [];
  let unconnected = 0;
  for (const hex of links.keys()) {
    if (hex === genesisHex || main.has(hex)) continue;
    const height = heightOf(hex);
    if (height === undefined) unconnected++;
    else rest.push({ hex, height });
  }
  rest.sort((a, b) => a.height - b.height);
  const order = [...mainOrder, ...rest.map((r) => r.hex)].map((hex) => ({
    hex,
    hash: Buffer.from(hex, "hex"),
  }));
  return { order, unconnected };
}
