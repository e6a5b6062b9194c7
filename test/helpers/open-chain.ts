import { join } from "node:path";
import { Chain } from "../../src/chain/chain.js";
import type { OrphanPoolOptions } from "../../src/chain/orphan-pool.js";
import { type NetworkParams, REGTEST } from "../../src/consensus/params.js";
import { ChainStore } from "../../src/store/chain-store.js";

export interface OpenedChain {
  chain: Chain;
  store: ChainStore;
  close: () => Promise<void>;
}

/** A chain over a real LevelDB store in `dir`. The clock defaults to far ahead of regtest genesis. */
export async function openChain(
  dir: string,
  opts: { params?: NetworkParams; clock?: () => number; orphanPool?: OrphanPoolOptions } = {},
): Promise<OpenedChain> {
  const params = opts.params ?? REGTEST;
  const store = new ChainStore({ location: join(dir, "chain"), network: params.name });
  await store.open();
  const chain = new Chain(
    { params, ...(opts.orphanPool ? { orphanPool: opts.orphanPool } : {}) },
    { store, clock: opts.clock ?? (() => 2_000_000_000) },
  );
  try {
    await chain.open();
  } catch (err) {
    await store.close();
    throw err;
  }
  return { chain, store, close: () => store.close() };
}
