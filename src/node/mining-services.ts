import type { Chain } from "../chain/index.js";
import type { Mempool } from "../mempool/index.js";
import { MinerPool } from "../miner/index.js";
import type { Logger } from "../util/index.js";
import { BlockProducer } from "./block-producer.js";
import type { LifecycleStep } from "./lifecycle.js";

export interface MiningServicesOptions {
  /** 20-byte account id paid by the coinbase (resolveMinerRecipient) */
  recipient: Uint8Array;
  threads: number;
  /** stop after this many blocks (offline mining); undefined = until stopped */
  maxBlocks?: number;
  /**
   * false: the producer stays idle until `producer.start()` is called (the simulation mines exact
   * block counts); default true
   */
  startProducer?: boolean;
}

export interface MiningServicesDeps {
  chain: Chain;
  mempool: Mempool;
  log: Logger;
}

export interface MiningServices {
  readonly miner: MinerPool;
  readonly producer: BlockProducer;
  /** start order; stop runs in reverse */
  readonly steps: readonly LifecycleStep[];
}

/**
 * The worker-thread miner and the block producer on top of a chain and its mempool, with the
 * template refreshed on every new tip and every new transaction. Used by `createNode` (`--mine`)
 * and by `quarry mine --offline`.
 */
export function createMiningServices(opts: MiningServicesOptions, deps: MiningServicesDeps): MiningServices {
  const { chain, mempool, log } = deps;
  const params = chain.networkParams;
  // miner: worker threads searching nonces
  const miner = new MinerPool({ threads: opts.threads }, { log });
  // producer: needs the chain (templates, import), the mempool (transactions) and the miner
  const producer = new BlockProducer(
    {
      recipient: opts.recipient,
      refreshMs: Math.max(2_000, params.targetSpacingSeconds * 1000),
      ...(opts.maxBlocks === undefined ? {} : { maxBlocks: opts.maxBlocks }),
    },
    {
      chain,
      pool: miner,
      selectTransactions: (maxTxs, maxBytes) => mempool.selectForBlock(maxTxs, maxBytes),
      log,
    },
  );
  chain.on("blockConnected", () => producer.refresh());
  // A halted chain stores nothing: mining stops, and starts again when the chain resumes.
  let started = false;
  chain.on("halted", () => {
    if (producer.running) void producer.stop();
  });
  chain.on("resumed", () => {
    if (started) producer.start();
  });
  mempool.on("txAdded", () => producer.refresh());
  return {
    miner,
    producer,
    steps: [
      ["miner", () => miner.start(), () => miner.stop()],
      [
        "producer",
        async () => {
          if (!(opts.startProducer ?? true)) return;
          started = true;
          if (!chain.halted) producer.start();
        },
        () => {
          started = false;
          return producer.stop();
        },
      ],
    ],
  };
}
