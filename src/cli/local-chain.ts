import { join } from "node:path";
import { Chain } from "../chain/chain.js";
import type { NetworkParams } from "../consensus/params.js";
import type { Lifecycle } from "../node/lifecycle.js";
import { ChainStore } from "../store/chain-store.js";
import { StoreError, StoreErrorCode } from "../store/errors.js";
import { CliError } from "./command.js";

/** Opens the chain of a data dir for an offline command; store errors become one-line CLI errors. */
export async function openLocalChain(
  datadir: string,
  params: NetworkParams,
): Promise<{ chain: Chain; store: ChainStore; close: () => Promise<void> }> {
  const store = new ChainStore({ location: join(datadir, "chain"), network: params.name });
  try {
    await store.open();
  } catch (err) {
    if (err instanceof StoreError && err.code === StoreErrorCode.LOCKED) {
      throw new CliError(`${err.message}: stop the running node first (or use its API)`);
    }
    throw err;
  }
  const chain = new Chain({ params }, { store });
  try {
    await chain.open();
  } catch (err) {
    await store.close();
    if (err instanceof StoreError) throw new CliError(`${err.message} [${err.code}]`, 3, "CLI_FAILED");
    throw err;
  }
  return { chain, store, close: () => store.close() };
}

/**
 * Starts the services of an offline command (node/chain-services and friends); a locked store (a
 * node is running on this datadir) or a damaged one becomes a one-line CLI error.
 */
export async function startOffline(lifecycle: Lifecycle): Promise<void> {
  try {
    await lifecycle.start();
  } catch (err) {
    if (err instanceof StoreError && err.code === StoreErrorCode.LOCKED) {
      throw new CliError(`${err.message}: stop the running node first (or use its API)`);
    }
    if (err instanceof StoreError) throw new CliError(`${err.message} [${err.code}]`, 3, "CLI_FAILED");
    throw err;
  }
}
