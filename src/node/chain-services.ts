import { join } from "node:path";
import type { ReorgEvent } from "../chain/index.js";
import { type AddressIndexMode, Chain, type ChainMetrics, SignatureVerifier } from "../chain/index.js";
import type { NetworkParams } from "../consensus/index.js";
import { LevelMempoolStore, Mempool } from "../mempool/index.js";
import { ChainStore } from "../store/index.js";
import type { Clock, Logger } from "../util/index.js";
import type { LifecycleStep } from "./lifecycle.js";

export interface ChainServicesOptions {
  datadir: string;
  params: NetworkParams;
  /** the address index at open (ChainOptions.addressIndex); default "follow" */
  addressIndex?: AddressIndexMode;
}

export interface ChainServicesDeps {
  log: Logger;
  metrics?: ChainMetrics;
  /** wall clock for the services that read the time (their default: systemClock) */
  clock?: Clock;
}

/** The datadir's chain and mempool, wired together: what every node, online or offline, runs. */
export interface ChainServices {
  readonly store: ChainStore;
  readonly signatures: SignatureVerifier;
  readonly chain: Chain;
  readonly mempool: Mempool;
  /** the mempool's LevelDB at <datadir>/mempool (backups copy it) */
  readonly mempoolStore: LevelMempoolStore;
  /** start order; stop runs in reverse */
  readonly steps: readonly LifecycleStep[];
}

/**
 * Creates the store, signature verifier, chain and mempool of a datadir, and wires the mempool to
 * the chain's tip changes (connected blocks drop their transactions; a reorg's losing branch
 * returns its transfers). Used by `createNode` and by the offline commands (`mine --offline`,
 * `import-blocks`), so all of them build the same chain the same way. No I/O until the steps run.
 */
export function createChainServices(opts: ChainServicesOptions, deps: ChainServicesDeps): ChainServices {
  const { params, datadir } = opts;
  const log = deps.log;
  // store: LevelDB at <datadir>/chain
  const store = new ChainStore({ location: join(datadir, "chain"), network: params.name });
  // signatures: Ed25519 verification in worker threads, with a cache shared by mempool and chain
  const signatures = new SignatureVerifier({}, { log });
  // chain: needs the store and the signature verifier
  const chain = new Chain(
    { params, ...(opts.addressIndex ? { addressIndex: opts.addressIndex } : {}) },
    {
      store,
      signatures,
      log: log.child({ module: "chain" }),
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
      ...(deps.clock ? { clock: deps.clock } : {}),
    },
  );
  // mempool: needs the chain (tip accounts), the signature verifier (one cache of verified ids for
  // both: a relayed transfer is verified once) and its own LevelDB at <datadir>/mempool
  const mempoolStore = new LevelMempoolStore({ location: join(datadir, "mempool") });
  const mempool = new Mempool(
    {},
    {
      params,
      state: chain,
      signatures,
      store: mempoolStore,
      log,
      ...(deps.clock ? { clock: deps.clock } : {}),
    },
  );

  chain.on("blockConnected", ({ block, txIds }) => void mempool.onBlockConnected(block, txIds));
  chain.on("reorg", (report: ReorgEvent) => void mempool.onReorg(report));

  return {
    store,
    signatures,
    chain,
    mempool,
    mempoolStore,
    steps: [
      ["signatures", () => signatures.start(), () => signatures.stop()],
      ["store", () => store.open(), () => store.close()],
      ["chain", () => chain.open(), async () => {}],
      ["mempool", () => mempool.start(), () => mempool.stop()],
    ],
  };
}
