import { checkBlockBody, checkHeader } from "../consensus/block-rules.js";
import { BlockError, BlockErrorCode } from "../consensus/errors.js";
import { genesisBlock } from "../consensus/genesis.js";
import { workFromBits } from "../consensus/pow.js";
import { blockEnvelope, type DecodedBlock } from "../primitives/block.js";
import { StoreBatch } from "../store/chain-store.js";
import { type BlockIndexEntry, BlockStatus } from "../store/records.js";
import type { LruCache } from "../util/lru.js";
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

/**
 * Header and body checks of a block whose parent is known; returns its index entry (not yet
 * stored or indexed). A provably bad block is remembered (see rejectNewBlock) and the BlockError
 * rethrown.
 */
export async function validateNewBlock(
  ctx: IntakeContext,
  decoded: DecodedBlock,
  parent: BlockIndexEntry,
  nowSeconds: number,
): Promise<BlockIndexEntry> {
  const { block, hash, hashHex } = decoded;
  const height = parent.height + 1;
  const entry: BlockIndexEntry = {
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
  try {
    checkHeader(
      block.header,
      hash,
      {
        parentHash: parent.hash,
        medianTimePast: ctx.index.medianTimePast(parent),
        expectedBits: ctx.index.childBits(parent),
        nowSeconds,
      },
      ctx.params,
    );
    await verifySignaturesAhead(ctx, decoded);
    const verifier = ctx.signatures;
    checkBlockBody(
      block,
      height,
      ctx.params,
      verifier ? (id) => verifier.isVerified(id) : undefined,
      decoded.txIds,
    );
  } catch (err) {
    if (err instanceof BlockError) await rejectNewBlock(ctx, entry, err);
    throw err;
  }
  return entry;
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

async function rejectNewBlock(ctx: IntakeContext, entry: BlockIndexEntry, err: BlockError): Promise<void> {
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
