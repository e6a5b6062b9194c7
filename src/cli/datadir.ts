import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { DEFAULT_NETWORK, isNetworkName, NETWORK_NAMES, type NetworkName } from "../consensus/index.js";
import { DATADIR_MARKER_FILE, readDatadirMarker } from "../store/index.js";
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
 * (one directory per network, like geth's --datadir). Layout: docs/ARCHITECTURE.md, "The data dir".
 */
export function resolveDatadir(
  flag: string | undefined,
  network: NetworkName,
  env: NodeJS.ProcessEnv,
): string {
  const dir = flag ?? env.QUARRY_DATADIR;
  return dir ? resolve(dir) : join(homedir(), ".quarry", network);
}

/** Where a command's network came from; `default` means nothing named one (devnet assumed). */
export type NetworkSource = "--network" | "QUARRY_NETWORK" | typeof DATADIR_MARKER_FILE | "default";

export interface DatadirChoice {
  network: NetworkName;
  datadir: string;
  networkSource: NetworkSource;
  /** true when the datadir came from --datadir or QUARRY_DATADIR, not from the network's default */
  datadirGiven: boolean;
}

/**
 * The network and datadir of a command: `--network` (or QUARRY_NETWORK), else the datadir's
 * `datadir.json`, else devnet. A network named explicitly that differs from datadir.json is a
 * one-line error naming both.
 */
export function resolveNetworkAndDatadir(
  values: { network?: string | undefined; datadir?: string | undefined },
  env: NodeJS.ProcessEnv,
): DatadirChoice {
  const named = values.network ?? env.QUARRY_NETWORK;
  const explicit = named === undefined ? undefined : parseNetworkName(named, env);
  const source: NetworkSource =
    values.network !== undefined ? "--network" : named !== undefined ? "QUARRY_NETWORK" : "default";
  const datadirGiven = (values.datadir ?? env.QUARRY_DATADIR) !== undefined;
  const datadir = resolveDatadir(values.datadir, explicit ?? DEFAULT_NETWORK, env);
  const marker = readDatadirMarker(datadir);
  if (marker === undefined)
    return { network: explicit ?? DEFAULT_NETWORK, datadir, networkSource: source, datadirGiven };
  if (explicit !== undefined && explicit !== marker.network) {
    throw new CliError(
      `${source} says '${explicit}' but ${join(datadir, DATADIR_MARKER_FILE)} says '${marker.network}'; drop ${source} or use another --datadir`,
    );
  }
  return {
    network: marker.network,
    datadir,
    networkSource: explicit ? source : DATADIR_MARKER_FILE,
    datadirGiven,
  };
}

/**
 * Reconciles the network chosen locally with the one the node reports. A network named by a flag,
 * the environment or datadir.json must match it; with none named, the node's is taken (and the
 * default datadir moves to that network's, unless a datadir was given).
 */
export function networkFromNode(
  choice: DatadirChoice,
  nodeNetwork: string,
  nodeUrl: string,
  env: NodeJS.ProcessEnv,
): DatadirChoice {
  if (!isNetworkName(nodeNetwork)) {
    throw new CliError(`the node at ${nodeUrl} reports an unknown network '${nodeNetwork}'`, 1, "CLI_FAILED");
  }
  const network = nodeNetwork;
  if (network === choice.network) return choice;
  if (choice.networkSource === DATADIR_MARKER_FILE) {
    throw new CliError(
      `${join(choice.datadir, DATADIR_MARKER_FILE)} says '${choice.network}' but the node at ${nodeUrl} runs '${network}'; give the --datadir of that node, or the --api of a ${choice.network} node`,
    );
  }
  if (choice.networkSource !== "default") {
    throw new CliError(
      `${choice.networkSource} says '${choice.network}' but the node at ${nodeUrl} runs '${network}'; drop ${choice.networkSource} or talk to another node`,
    );
  }
  const datadir = choice.datadirGiven ? choice.datadir : resolveDatadir(undefined, network, env);
  return { ...choice, network, datadir, networkSource: "default" };
}
