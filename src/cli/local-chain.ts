import { join } from "node:path";
import { Chain } from "../chain/index.js";
import type { NetworkParams } from "../consensus/index.js";
import type { Lifecycle } from "../node/index.js";
import {
  CHAIN_STORE_DIR,
  ChainStore,
  type DatadirState,
  prepareDatadir,
  StoreError,
  StoreErrorCode,
} from "../store/index.js";
import { CliError } from "./command.js";

/**
 * Checks a datadir before an offline command opens its stores (store/datadir.ts): a missing or
 * damaged chain store is refused; `create` lets a command that writes (mining, import) start a
 * new datadir, as `quarry start` does. Read-only commands pass `create: false`.
 */
export async function prepareLocalDatadir(
  datadir: string,
  params: NetworkParams,
  opts: LocalDatadirOptions,
): Promise<void> {
  try {
    await prepareUnconverted(datadir, params, opts);
  } catch (err) {
    throw lockedToCli(err);
  }
}

/** prepareLocalDatadir with its store errors as they are (a locked store is StoreErrorCode.LOCKED). */
async function prepareUnconverted(datadir: string, params: NetworkParams, opts: LocalDatadirOptions) {
  const { state }: { state: DatadirState } = await prepareDatadir({
    datadir,
    network: params.name,
    create: opts.create,
    checkCaches: opts.create,
  });
  if (state === "created") opts.note?.(`created a new ${params.name} datadir in ${datadir}`);
  if (state === "adopted") opts.note?.(`adopted the existing chain store in ${datadir}: wrote datadir.json`);
}

export interface LocalDatadirOptions {
  /** true: a new datadir gets a chain store (commands that write); false: refuse */
  create: boolean;
  /** where to say that a datadir was created or adopted (stderr) */
  note?: (line: string) => void;
}

export interface LocalChain {
  chain: Chain;
  store: ChainStore;
  close: () => Promise<void>;
}

/** Opens the chain of a data dir for an offline command; store errors become one-line CLI errors. */
export async function openLocalChain(
  datadir: string,
  params: NetworkParams,
  opts: LocalDatadirOptions,
): Promise<LocalChain> {
  const opened = await openLocalChainUnlessLocked(datadir, params, opts);
  if ("locked" in opened) throw lockedToCli(opened.locked);
  return opened;
}

/**
 * `openLocalChain`, except that a store locked by a running node answers `{ locked }` (the caller may
 * go through that node's API instead). Other store errors become one-line CLI errors.
 */
export async function openLocalChainUnlessLocked(
  datadir: string,
  params: NetworkParams,
  opts: LocalDatadirOptions,
): Promise<LocalChain | { locked: StoreError }> {
  let store: ChainStore | undefined;
  try {
    // the datadir check opens the store too: either may meet the running node's lock. (The store
    // is made after it: a LevelDB handle opens itself once constructed.)
    await prepareUnconverted(datadir, params, opts);
    store = new ChainStore({ location: join(datadir, CHAIN_STORE_DIR), network: params.name });
    await store.open();
  } catch (err) {
    if (err instanceof StoreError && err.code === StoreErrorCode.LOCKED) return { locked: err };
    throw lockedToCli(err);
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
 * node is running on this datadir) or a damaged one becomes a one-line CLI error. Call
 * `prepareLocalDatadir` first: the services open the chain store and never create one.
 */
export async function startOffline(lifecycle: Lifecycle): Promise<void> {
  try {
    await lifecycle.start();
  } catch (err) {
    const cli = lockedToCli(err);
    if (cli !== err) throw cli;
    if (err instanceof StoreError) throw new CliError(`${err.message} [${err.code}]`, 3, "CLI_FAILED");
    throw err;
  }
}

function lockedToCli(err: unknown): unknown {
  if (err instanceof StoreError && err.code === StoreErrorCode.LOCKED) {
    return new CliError(`${err.message}: stop the running node first (or use its API)`);
  }
  return err;
}
