import type { PeerId } from "@libp2p/interface";
import { equalBytes } from "../../primitives/index.js";
import { decodeStatus, encodeStatus, MAX_REQUEST_FRAME, type StatusMessage } from "../codec.js";
import { SyncError, SyncErrorCode } from "../errors.js";
import { type RequestHandler, type RequestOptions, sendRequest } from "../reqresp.js";
import type { SyncChain, SyncLibp2p } from "../types.js";

/** Our side of the handshake: network, genesis, tip, height, cumulative work. */
export function localStatus(chain: SyncChain): StatusMessage {
  const tip = chain.tip;
  const genesis = chain.entryAtHeight(0);
  if (!genesis) throw new Error("chain has no genesis");
  return {
    network: chain.networkParams.name,
    genesisHash: genesis.hash,
    tipHash: tip.hash,
    height: tip.height,
    chainWork: tip.chainWork,
  };
}

/** Throws SYNC_WRONG_NETWORK unless both sides run the same network from the same genesis. */
export function checkSameNetwork(local: StatusMessage, remote: StatusMessage): void {
  if (remote.network !== local.network || !equalBytes(remote.genesisHash, local.genesisHash)) {
    throw new SyncError(SyncErrorCode.WRONG_NETWORK, `peer runs ${remote.network} with another genesis`);
  }
}

/**
 * Server: the request carries the requester's status, the answer ours (both sides learn in one
 * round trip). `onStatus` sees the requester's status first; it may throw SYNC_WRONG_NETWORK.
 */
export function statusHandler(
  chain: SyncChain,
  onStatus: (peer: PeerId, status: StatusMessage) => void,
): RequestHandler {
  return async (request, peer) => {
    const remote = decodeStatus(request);
    onStatus(peer, remote);
    await chain.settled();
    return encodeStatus(localStatus(chain));
  };
}

/** Client: sends our status, returns the peer's (not yet checked for network). */
export async function requestStatus(
  libp2p: SyncLibp2p,
  peer: PeerId,
  protocol: string,
  chain: SyncChain,
  opts: Omit<RequestOptions, "maxResponseBytes">,
): Promise<StatusMessage> {
  const payload = await sendRequest(libp2p, peer, protocol, encodeStatus(localStatus(chain)), {
    ...opts,
    maxResponseBytes: MAX_REQUEST_FRAME,
  });
  try {
    return decodeStatus(payload);
  } catch (err) {
    throw new SyncError(SyncErrorCode.MALFORMED, (err as Error).message);
  }
}
