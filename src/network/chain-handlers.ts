import { type DecodedBlock, decodeBlockEnvelope } from "../primitives/index.js";
import { StoreError, StoreErrorCode } from "../store/index.js";
import type { GossipHandler } from "./gossip.js";
import type { GossipVerdictInput } from "./verdict.js";

/** The slice of the chain a block gossip handler needs (`Chain` satisfies it). */
export interface BlockProcessor {
  processBlock(
    block: DecodedBlock,
    opts?: { onValid?: () => void },
  ): Promise<{
    status: "connected" | "side-branch" | "orphan" | "duplicate";
    hash: string;
    missingAncestor?: string;
  }>;
}

type ProcessResult = Awaited<ReturnType<BlockProcessor["processBlock"]>>;

/**
 * The standard block handler: decode (CodecError on malformed bytes), import through the chain
 * (BlockError on invalid blocks), and answer as soon as the relay decision is known:
 * - a block that extends our tip: accept (relay) the moment the chain knows it is valid (every
 *   check passed, state root included), while its connect batch is still being written
 *   (docs/NETWORK.md, "Relay once valid"). Nothing is relayed that we would not connect; only a
 *   store failure can follow, and that halts the chain (not the peer's fault);
 * - otherwise, once the import is done: connected or side-branch -> accept, duplicate ->
 *   duplicate, orphan -> orphan + `orphanBlock` event, refused by a halted chain -> ignore
 *   (STORE_HALTED, not logged again).
 */
export function blockGossipHandler(chain: BlockProcessor): GossipHandler {
  return async (data) => {
    const block = decodeBlockEnvelope(data);
    return new Promise<GossipVerdictInput>((resolve, reject) => {
      const onValid = () => resolve({ result: "accept" });
      chain.processBlock(block, { onValid }).then(
        (result) => resolve(verdictOf(result)),
        // after onValid these settle nothing: the store failure is the chain's to log (it halts)
        (err: unknown) =>
          halted(err) ? resolve({ result: "ignore", code: StoreErrorCode.HALTED }) : reject(err),
      );
    });
  };
}

// A halted chain refuses every block; the chain logged why once, and it is not the peer's fault.
function halted(err: unknown): boolean {
  return err instanceof StoreError && err.type.code === StoreErrorCode.HALTED;
}

function verdictOf(result: ProcessResult): GossipVerdictInput {
  switch (result.status) {
    case "connected":
    case "side-branch":
      return { result: "accept" };
    case "duplicate":
      return { result: "duplicate" };
    case "orphan":
      return { result: "orphan", hash: result.hash, missingAncestor: result.missingAncestor ?? "" };
  }
}
