import { type DecodedBlock, decodeBlockEnvelope } from "../primitives/index.js";
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
 * duplicate -> ignore, orphan -> ignore + `orphanBlock` event. The chain checks header and proof
 * of work before anything else and stores a block only when it is fully valid, so gossipsub
 * relays only blocks that were imported.
 */
export function blockGossipHandler(chain: BlockProcessor): GossipHandler {
  return async (data) => {
    const block = decodeBlockEnvelope(data);
    const result = await chain.processBlock(block);
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
