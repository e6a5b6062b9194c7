import { type DecodedBlock, decodeBlockEnvelope } from "../primitives/index.js";
import { StoreError, StoreErrorCode } from "../store/index.js";
import type { GossipHandler } from "./gossip.js";

/** The slice of the chain a block gossip handler needs (`Chain` satisfies it). */
export interface BlockProcessor {
  processBlock(block: DecodedBlock): Promise<{
    status: "connected" | "side-branch" | "orphan" | "duplicate";
    hash: string;
    missingAncestor?: string;
  }>;
}

/**
 * The standard block handler: decode (CodecError on malformed bytes), import through the chain
 * (BlockError on invalid blocks), and map the result: connected or side-branch -> accept (relay),
 * duplicate -> ignore, orphan -> ignore + `orphanBlock` event, refused by a halted chain -> ignore
 * (STORE_HALTED, not logged again). The chain checks header and proof
 * of work before anything else and stores a block only when it is fully valid, so gossipsub
 * relays only blocks that were imported.
 */
export function blockGossipHandler(chain: BlockProcessor): GossipHandler {
  return async (data) => {
    const block = decodeBlockEnvelope(data);
    let result: Awaited<ReturnType<BlockProcessor["processBlock"]>>;
    try {
      result = await chain.processBlock(block);
    } catch (err) {
      // A halted chain refuses every block; the chain logged why once, and it is not the peer's fault.
      if (err instanceof StoreError && err.type.code === StoreErrorCode.HALTED)
        return { result: "ignore", code: StoreErrorCode.HALTED };
      throw err;
    }
    switch (result.status) {
      case "connected":
      case "side-branch":
        return { result: "accept" };
      case "duplicate":
        return { result: "duplicate" };
      case "orphan":
        return { result: "orphan", hash: result.hash, missingAncestor: result.missingAncestor ?? "" };
    }
  };
}
