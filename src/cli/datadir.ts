import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { DEFAULT_NETWORK, isNetworkName, NETWORK_NAMES, type NetworkName } from "../consensus/params.js";
import { CliError } from "./command.js";

export function parseNetworkName(value: string | undefined, env: NodeJS.ProcessEnv): NetworkName {
  const name = value ?? env.QUARRY_NETWORK ?? DEFAULT_NETWORK;
  if (!isNetworkName(name)) {
    throw new CliError(`unknown network '${name}'; use one of: ${NETWORK_NAMES.join(", ")}`);
  }
  return name;
}

/**
 * The node's data directory: `--datadir`, else `QUARRY_DATADIR`, else `~/.quarry/<network>`
 * (one directory per network, like geth's --datadir). It holds `keystore/`, `chain/` (LevelDB)
 * and `node-key` (the libp2p identity).
 */
export function resolveDatadir(
  flag: string | undefined,
  network: NetworkName,
  env: NodeJS.ProcessEnv,
): string {
  const dir = flag ?? env.QUARRY_DATADIR;
  return dir ? resolve(dir) : join(homedir(), ".quarry", network);
}
