import type { NetworkName } from "../../consensus/index.js";

/** The five sync protocols, per network so nodes of different networks never talk sync. */
export interface SyncProtocolIds {
  status: string;
  locator: string;
  headers: string;
  blocksByRange: string;
  blocksByHash: string;
}

export function syncProtocolIds(network: NetworkName): SyncProtocolIds {
  return {
    status: `/quarry/${network}/status/1`,
    locator: `/quarry/${network}/locator/1`,
    headers: `/quarry/${network}/headers/1`,
    blocksByRange: `/quarry/${network}/blocks-by-range/1`,
    blocksByHash: `/quarry/${network}/blocks-by-hash/1`,
  };
}
