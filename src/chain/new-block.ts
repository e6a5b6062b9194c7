import {
  BlockError,
  BlockErrorCode,
  checkBlockBody,
  checkHeader,
  checkProofOfWork,
  genesisBlock,
  powLimit,
  workFromBits,
} from "../consensus/index.js";
import {
  type BlockHeader,
  blockEnvelope,
  type DecodedBlock,
  equalBytes,
  headerHash,
  toHex,
} from "../primitives/index.js";
import { type BlockIndexEntry, BlockStatus, StoreBatch } from "../store/index.js";
import type { LruCache } from "../util/index.js";
import type { ChainContext } from "./connect.js";
import { type SignatureVerifier, SignatureVerifierError } from "./signature-verifier.js";

/** What checking a new block needs besides the chain context. */
export interface IntakeContext extends ChainContext {
  /** blocks rejected without being stored, so a re-send is refused without work */
  recentlyRejected: LruCache<string, string>;
  signatures: SignatureVerifier | undefined;
}

// Failures that say nothing about the block id itself (the body may have been swapped in transit,
// or the work was never verified): never persisted as invalid, so a correct copy can still arrive.
const NOT_PERSISTED = new Set<string>([
  BlockErrorCode.BAD_MERKLE_ROOT,
  BlockErrorCode.HIGH_HASH,
  BlockErrorCode.BAD_BITS,
  BlockErrorCode.BAD_DIFFICULTY,
  BlockErrorCode.BAD_VERSION,
  BlockErrorCode.BAD_PREV,
  BlockErrorCode.TIME_TOO_NEW,
]);

/** The index entry a new block with this parent gets (not yet stored or indexed). */
export function newBlockEntry(
  ctx: ChainContext,
  decoded: DecodedBlock,
  parent: BlockIndexEntry,
): BlockIndexEntry {
  const { block, hash, hashHex } = decoded;
  const height = parent.height + 1;
  return {
    hash,
    hashHex,
    header: block.header,
    height,
    chainWork: parent.chainWork + workFromBits(block.header.bits),
    status: BlockStatus.Data,
    invalidCode: "",
    sequence: ctx.index.nextSequence,
    block1Time: height === 1 ? block.header.time : parent.block1Time,
  };
}

/**
 * Header checks, the low-work rule (`checkBranchWork`, with the work the caller proves for the
 * branch) and body checks of a block whose parent is known; returns its index entry (not yet
 * stored or indexed). A provably bad block is remembered (see rejectNewBlock) and the BlockError
 * rethrown.
 */
export async function validateNewBlock(
  ctx: IntakeContext,
  decoded: DecodedBlock,
  parent: BlockIndexEntry,
  nowSeconds: number,
  provenWork = 0n,
): Promise<BlockIndexEntry> {
  const entry = newBlockEntry(ctx, decoded, parent);
  try {
    await checkNewBlock(ctx, entry, decoded, parent, {
      nowSeconds,
      provenWork,
      parentIsTip: parent === ctx.index.tip,
    });
  } catch (err) {
    if (isRejection(err)) await rejectNewBlock(ctx, entry, err);
    throw err;
  }
  return entry;
}

/** What checkNewBlock needs besides the block and its parent. */
export interface NewBlockCheck {
  nowSeconds: number;
  /** chain work the caller proves for the block's branch (provenBranchWork) */
  provenWork: bigint;
  /** the parent is the tip, or will be once the write in flight lands (the minimum-work rule) */
  parentIsTip: boolean;
}

/**
 * validateNewBlock's checks without any side effect: throws the BlockError and leaves recording
 * it (rejectNewBlock, for `isRejection` errors) to the caller. Reads only the parent's committed
 * ancestors, so it may run while the parent's own connect batch is still being written.
 */
export async function checkNewBlock(
  ctx: IntakeContext,
  entry: BlockIndexEntry,
  decoded: DecodedBlock,
  parent: BlockIndexEntry,
  check: NewBlockCheck,
): Promise<void> {
  const { block, hash } = decoded;
  checkHeader(
    block.header,
    hash,
    {
      parentHash: parent.hash,
      medianTimePast: ctx.index.medianTimePast(parent),
      expectedBits: ctx.index.childBits(parent),
      nowSeconds: check.nowSeconds,
    },
    ctx.params,
  );
  // The header is sound (its work is real): whether its branch can matter at all is decided
  // before the costlier body checks, and a low-work block is neither stored nor remembered.
  checkBranchWork(ctx, parent, entry.chainWork, check.provenWork, check.parentIsTip);
  await verifySignaturesAhead(ctx, decoded);
  const verifier = ctx.signatures;
  checkBlockBody(
    block,
    entry.height,
    ctx.params,
    verifier ? (id) => verifier.isVerified(id) : undefined,
    decoded.txIds,
  );
}

/** A checkNewBlock failure that rejectNewBlock records (all but the low-work rule's). */
export function isRejection(err: unknown): err is BlockError {
  return err instanceof BlockError && err.type.code !== BlockErrorCode.LOW_WORK;
}

/** Fills the signature cache for a block; failures fall back to inline checks in the rules. */
async function verifySignaturesAhead(ctx: IntakeContext, decoded: DecodedBlock): Promise<void> {
  if (!ctx.signatures || decoded.block.txs.length < 2) return;
  try {
    await ctx.signatures.verifyTransactions(decoded.block.txs, decoded.txIds);
  } catch (err) {
    if (!(err instanceof SignatureVerifierError)) throw err;
    ctx.log.warn({ err }, "signature workers failed; verifying inline");
  }
}

/** Logs and emits a rejected block; a provably bad one is remembered as invalid for good. */
export async function rejectNewBlock(
  ctx: IntakeContext,
  entry: BlockIndexEntry,
  err: BlockError,
): Promise<void> {
  const code = err.type.code;
  ctx.log.warn({ hash: entry.hashHex, height: entry.height, code }, "rejected block");
  ctx.emit("invalidBlock", { hash: entry.hashHex, code });
  if (err.action === "ignore") return;
  if (NOT_PERSISTED.has(code)) {
    ctx.recentlyRejected.set(entry.hashHex, code);
    return;
  }
  // The header met its proof of work and the block is provably bad: remember it for good.
  entry.status = BlockStatus.Invalid;
  entry.invalidCode = code;
  await ctx.store.write(new StoreBatch().putIndex(entry));
  ctx.index.add(entry);
}

/**
 * The anti-DoS work rule (policy; thresholds in params.ts): a block is stored only when its
 * branch could matter. `branchWork` is the most work the caller can prove for the block's branch
 * (its own chain work, or more from later headers it holds: `provenBranchWork`). Throws BlockError
 * LOW_WORK with action `ignore`: nothing is stored or remembered (the block is not invalid).
 */
export function checkBranchWork(
  ctx: ChainContext,
  parent: BlockIndexEntry,
  chainWork: bigint,
  branchWork: bigint,
  parentIsTip = parent === ctx.index.tip,
): void {
  const tip = ctx.index.tip;
  const work = branchWork > chainWork ? branchWork : chainWork;
  if (trailsTip(ctx, work)) {
    throw new BlockError(
      { code: BlockErrorCode.LOW_WORK },
      `branch work ${work} trails the tip's ${tip.chainWork} by more than ${ctx.params.lowWorkMarginBlocks} blocks`,
      "ignore",
    );
  }
  if (!parentIsTip && work < ctx.params.minimumChainWork) {
    throw new BlockError(
      { code: BlockErrorCode.LOW_WORK },
      `side branch work ${work} is below the network's minimum chain work`,
      "ignore",
    );
  }
}

/** True when `work` is below tip work − lowWorkMarginBlocks × (one block's work at the tip's target). */
export function trailsTip(ctx: ChainContext, work: bigint): boolean {
  const tip = ctx.index.tip;
  const margin = BigInt(ctx.params.lowWorkMarginBlocks) * workFromBits(tip.header.bits);
  return work + margin < tip.chainWork;
}

/**
 * The chain work a run of consecutive headers proves for its branch: the first one's parent's
 * chain work plus the work of each header that links to the one before and meets its own target
 * (its bits are checked against ASERT only when the block is processed: a header claiming an easier
 * or harder target than allowed fails there). 0n when the first parent is unknown.
 */
export function provenBranchWork(ctx: ChainContext, headers: readonly BlockHeader[]): bigint {
  const first = headers[0];
  const parent = first ? ctx.index.get(toHex(first.prevHash)) : undefined;
  if (!parent) return 0n;
  const limit = powLimit(ctx.params);
  let work = parent.chainWork;
  let prevHash = parent.hash;
  for (const header of headers) {
    if (!equalBytes(header.prevHash, prevHash)) break;
    const hash = headerHash(header);
    try {
      checkProofOfWork(hash, header.bits, limit);
    } catch (err) {
      if (err instanceof BlockError) break;
      throw err;
    }
    work += workFromBits(header.bits);
    prevHash = hash;
  }
  return work;
}

/** Writes the network's genesis block into an empty store as the main chain. */
export async function writeGenesis(ctx: ChainContext): Promise<void> {
  const genesis = blockEnvelope(genesisBlock(ctx.params));
  const { hash, block } = genesis;
  const entry: BlockIndexEntry = {
    hash,
    hashHex: genesis.hashHex,
    header: block.header,
    height: 0,
    chainWork: workFromBits(block.header.bits),
    status: BlockStatus.Valid,
    invalidCode: "",
    sequence: 0,
    block1Time: 0,
  };
  await ctx.store.write(
    new StoreBatch()
      .putBlock(genesis)
      .putIndex(entry)
      .putUndo(hash, { accounts: [] })
      .putMainChain(0, hash)
      .putTip(hash),
  );
  ctx.index.add(entry);
}
