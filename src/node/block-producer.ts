import type { Chain } from "../chain/index.js";
import type { MinerPool } from "../miner/index.js";
import { prepareBlock, type TemplateChain } from "../miner/index.js";
import type { TransferTx } from "../primitives/index.js";
import { type Block, blockEnvelope } from "../primitives/index.js";
import { type Logger, silentLogger, TypedEmitter } from "../util/index.js";

export interface BlockProducerOptions {
  /** 20-byte account id paid by the coinbase */
  recipient: Uint8Array;
  /** rebuild the template at least this often (new time, new transactions) */
  refreshMs: number;
  /** stop after this many blocks (offline mining); undefined = until stopped */
  maxBlocks?: number;
}

export interface BlockProducerDeps {
  chain: TemplateChain & Pick<Chain, "processBlock">;
  pool: Pick<MinerPool, "mine" | "hashrate">;
  /** the transactions to include, best first (the mempool's template selection) */
  selectTransactions: (maxTxs: number, maxBytes: number) => TransferTx[];
  log?: Logger;
}

export interface BlockProducerEvents {
  /** a block this node mined extended its own chain (became the tip) */
  blockMined: { block: Block; bytes: Uint8Array; hash: string; height: number };
  /** the last block asked for (maxBlocks) was mined */
  done: { blocks: number };
}

/**
 * The mining loop: template from the tip and the mempool → nonce search in the worker pool →
 * import through the chain. `refresh()` (called by the root on a new tip or new transactions)
 * abandons the current search for a fresh template; so does the refresh timer, which keeps the
 * block time current.
 */
export class BlockProducer extends TypedEmitter<BlockProducerEvents> {
  private controller: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private refreshRequested = false;
  private wake: (() => void) | undefined;
  private mined = 0;
  private readonly log: Logger;

  constructor(
    private readonly opts: BlockProducerOptions,
    private readonly deps: BlockProducerDeps,
  ) {
    super();
    this.log = (deps.log ?? silentLogger).child({ module: "producer" });
  }

  get blocksMined(): number {
    return this.mined;
  }

  /** False from the moment a stop is asked for (a halt must not be reported as mining). */
  get running(): boolean {
    return this.loop !== undefined && this.controller?.signal.aborted === false;
  }

  /** Starts mining; a stop still winding down finishes first. */
  start(): void {
    if (this.running) return;
    const controller = new AbortController();
    const previous = this.loop ?? Promise.resolve();
    this.controller = controller;
    this.loop = previous
      .then(() => this.run(controller.signal))
      .catch((err: unknown) => {
        this.log.error({ err }, "mining loop failed");
      });
  }

  async stop(): Promise<void> {
    const loop = this.loop;
    this.controller?.abort();
    this.wake?.();
    await loop;
    if (this.loop !== loop) return; // started again while this stop was waiting
    this.loop = undefined;
    this.controller = undefined;
  }

  /** Abandon the current template and build a new one. */
  refresh(): void {
    this.refreshRequested = true;
    this.wake?.();
  }

  private async run(signal: AbortSignal): Promise<void> {
    const params = this.deps.chain.networkParams;
    while (!signal.aborted && (this.opts.maxBlocks === undefined || this.mined < this.opts.maxBlocks)) {
      this.refreshRequested = false;
      const txs = this.deps.selectTransactions(params.maxBlockTxs - 1, params.maxBlockBytes - 1024);
      const template = await prepareBlock(this.deps.chain, this.opts.recipient, txs);
      if (this.refreshRequested) continue; // the tip moved while the template was built
      const search = new AbortController();
      const stopSearch = () => search.abort();
      signal.addEventListener("abort", stopSearch, { once: true });
      const timer = setTimeout(() => this.refresh(), this.opts.refreshMs);
      this.wake = stopSearch;
      try {
        const solved = await this.deps.pool.mine(template.header, search.signal);
        if (!solved || signal.aborted) continue;
        const mined = blockEnvelope({ ...template, header: solved });
        const { block } = mined;
        let result: Awaited<ReturnType<Chain["processBlock"]>>;
        try {
          result = await this.deps.chain.processBlock(mined);
        } catch (err) {
          // Our own template failed validation: a bug, not a peer's fault. Log it and go on.
          this.log.error({ err }, "mined block was rejected by the chain");
          continue;
        }
        // Only a block that became our tip counts: "duplicate" (it arrived by another path first)
        // or "side-branch" (the tip moved while we hashed) added no work to our chain.
        if (result.status !== "connected") {
          this.log.info({ hash: result.hash, status: result.status }, "mined block did not extend the chain");
          continue;
        }
        this.mined++;
        this.log.info(
          {
            height: result.height,
            hash: result.hash,
            txs: block.txs.length - 1,
            hashrate: Math.round(this.deps.pool.hashrate),
          },
          "mined block",
        );
        this.emit("blockMined", {
          block,
          bytes: mined.bytes,
          hash: result.hash,
          height: result.height ?? -1,
        });
      } finally {
        clearTimeout(timer);
        signal.removeEventListener("abort", stopSearch);
        this.wake = undefined;
      }
    }
    if (!signal.aborted) this.emit("done", { blocks: this.mined });
  }
}
