import { join } from "node:path";
import type { AddressIndexMode } from "../../src/chain/address-index.js";
import { Chain } from "../../src/chain/chain.js";
import type { OrphanPoolOptions } from "../../src/chain/orphan-pool.js";
import { SignatureVerifier } from "../../src/chain/signature-verifier.js";
import { type NetworkParams, REGTEST } from "../../src/consensus/params.js";
import { ChainStore } from "../../src/store/chain-store.js";
import type { Clock } from "../../src/util/clock.js";

export interface OpenedChain {
  chain: Chain;
  store: ChainStore;
  close: () => Promise<void>;
}

export interface OpenChainOptions {
  params?: NetworkParams;
  clock?: Clock;
  orphanPool?: OrphanPoolOptions;
  /** verify signatures in worker threads (as the node does) instead of inline */
  signatureWorkers?: boolean;
  /** the address index at open (default "follow": what the store has) */
  addressIndex?: AddressIndexMode;
}

/** A chain over a real LevelDB store in `dir`. The clock defaults to far ahead of regtest genesis. */
export const FAR_AHEAD_CLOCK: Clock = { nowMs: () => 2_000_000_000_000 };

export async function openChain(dir: string, opts: OpenChainOptions = {}): Promise<OpenedChain> {
  const params = opts.params ?? REGTEST;
  const store = new ChainStore({ location: join(dir, "chain"), network: params.name, create: true });
  const signatures = opts.signatureWorkers ? new SignatureVerifier({}) : undefined;
  await signatures?.start();
  await store.open();
  const chain = new Chain(
    {
      params,
      ...(opts.orphanPool ? { orphanPool: opts.orphanPool } : {}),
      ...(opts.addressIndex ? { addressIndex: opts.addressIndex } : {}),
    },
    { store, clock: opts.clock ?? FAR_AHEAD_CLOCK, ...(signatures ? { signatures } : {}) },
  );
  const close = async () => {
    await store.close();
    await signatures?.stop();
  };
  try {
    await chain.open();
  } catch (err) {
    await close();
    throw err;
  }
  return { chain, store, close };
}
