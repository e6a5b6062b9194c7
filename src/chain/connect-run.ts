import { BlockError } from "../consensus/index.js";
import type { DecodedBlock } from "../primitives/index.js";
import { equalBytes } from "../primitives/index.js";
import type { BlockIndexEntry, StoreBatch } from "../store/index.js";
import type { AcceptResult } from "./chain.js";
import { commitConnect, markInvalid, prepareConnect } from "./connect.js";
import {
  checkNewBlock,
  type IntakeContext,
  isRejection,
  newBlockEntry,
  rejectNewBlock,
} from "./new-block.js";
import { activateBestChain } from "./reorg.js";

/** One block's outcome in a run: its accept result, or what it threw. */
export type BlockOutcome = { ok: true; result: AcceptResult } | { ok: false; error: unknown };

/** What a run needs from the chain besides the intake context. */
export interface RunDeps {
  ctx: IntakeContext;
  nowSeconds(): number;
  /** the one-block path (Chain.acceptUnlessHalted): blocks a run does not pipeline */
  acceptOne(block: DecodedBlock, provenWork: bigint): Promise<AcceptResult>;
  /** the chain's halt on a store failure (returns the error) */
  haltOn(err: unknown): unknown;
  /** true while the chain is halted */
  halted(): boolean;
  /** orphans that waited for a connected block (Chain.acceptOrphansOf) */
  acceptOrphansOf(hashHex: string): Promise<void>;
  /** each block's outcome as it is known (metrics) */
  observe?(outcome: BlockOutcome): void;
}

/** A connect batch being written: the block joins the index when the write lands. */
interface InFlight {
  entry: BlockIndexEntry;
  block: DecodedBlock;
  written: Promise<void>;
}

/**
 * Imports consecutive blocks (a sync batch, a block package) in order and stops at the first one
 * that fails; returns the outcome of each block it got to. Blocks that extend the tip are
 * pipelined: block n+1's stateless checks (header, low-work rule, signatures, body) run while block
 * n's connect batch is written, so the CPU work of one block overlaps the disk write of the one
 * before. Nothing else changes: the state transition of n+1 reads the store only after n's batch
 * landed, the index and `blockConnected` follow each write (never run ahead of the disk), a
 * rejection is recorded only after the write before it landed, and writes stay strictly one after
 * the other, so a crash leaves a prefix of the run. Any other block (known, orphan, side branch)
 * waits for the write in flight and goes through the one-block path.
 */
export async function connectRun(
  deps: RunDeps,
  blocks: readonly DecodedBlock[],
  provenWork: bigint,
): Promise<BlockOutcome[]> {
  const { ctx } = deps;
  const outcomes: BlockOutcome[] = [];
  const connected: string[] = [];
  let inFlight: InFlight | undefined;
  const record = (outcome: BlockOutcome): void => {
    outcomes.push(outcome);
    deps.observe?.(outcome);
  };
  /** Waits for the write in flight and commits it; false (recorded) when the write failed. */
  const land = async (): Promise<boolean> => {
    const pending = inFlight;
    if (!pending) return true;
    inFlight = undefined;
    try {
      await pending.written;
    } catch (err) {
      record({ ok: false, error: deps.haltOn(err) });
      return false;
    }
    commitConnect(ctx, pending.entry, pending.block, true);
    connected.push(pending.entry.hashHex);
    record({
      ok: true,
      result: { status: "connected", hash: pending.entry.hashHex, height: pending.entry.height },
    });
    return true;
  };

  /** The one-block path (refused while halted); false when the block failed and the run stops. */
  const acceptOne = async (block: DecodedBlock): Promise<boolean> => {
    try {
      record({ ok: true, result: await deps.acceptOne(block, provenWork) });
      return true;
    } catch (err) {
      record({ ok: false, error: err });
      return false;
    }
  };

  try {
    for (const block of blocks) {
      const head = inFlight?.entry ?? ctx.index.tip;
      if (deps.halted() || !pipelines(ctx, block, head)) {
        if (!(await land()) || !(await acceptOne(block))) break;
        continue;
      }
      const entry = newBlockEntry(ctx, block, head);
      let checkError: unknown;
      try {
        await checkNewBlock(ctx, entry, block, head, {
          nowSeconds: deps.nowSeconds(),
          provenWork,
          parentIsTip: true,
        });
      } catch (err) {
        checkError = err;
      }
      if (!(await land())) break;
      if (deps.halted()) {
        // Halted as the write before landed (e.g. the disk-space watch): the one-block path
        // refuses the block (STORE_HALTED) and the run stops.
        await acceptOne(block);
        break;
      }
      if (checkError !== undefined) {
        if (isRejection(checkError)) await rejectNewBlock(ctx, entry, checkError).catch(deps.haltOn);
        record({ ok: false, error: checkError });
        break;
      }
      // The entry was made before the write in flight joined the index: take the next arrival number.
      entry.sequence = ctx.index.nextSequence;
      let batch: StoreBatch;
      try {
        batch = await prepareConnect(ctx, entry, block, true);
      } catch (err) {
        if (!(err instanceof BlockError)) throw err;
        await markInvalid(ctx, entry, err.type.code, block);
        record({ ok: false, error: err });
        break;
      }
      const written = ctx.store.write(batch);
      // Awaited by land(); until then a failure must not surface as an unhandled rejection.
      written.catch(() => undefined);
      inFlight = { entry, block, written };
    }
    await land();
  } catch (err) {
    // A store read or write failed outside the per-block paths: let the write in flight finish
    // (its outcome is recorded), then report the failure as the run's last outcome.
    await land().catch(() => undefined);
    record({ ok: false, error: deps.haltOn(err) });
  }
  if (connected.length > 0 && !deps.halted()) {
    try {
      await activateBestChain(ctx);
    } catch (err) {
      deps.haltOn(err);
    }
    for (const hash of connected) {
      if (deps.halted()) break;
      await deps.acceptOrphansOf(hash);
    }
  }
  return outcomes;
}

/** True when `block` is new and extends `head` (the tip, or the block whose write is in flight). */
function pipelines(ctx: IntakeContext, block: DecodedBlock, head: BlockIndexEntry): boolean {
  return (
    equalBytes(block.block.header.prevHash, head.hash) &&
    ctx.index.get(block.hashHex) === undefined &&
    !ctx.recentlyRejected.has(block.hashHex)
  );
}
