import { prepareBlock, type TemplateChain } from "../miner/index.js";
import type { Block, BlockHeader, TransferTx } from "../primitives/index.js";
import { toHex } from "../primitives/index.js";
import { LruCache } from "../util/index.js";

/** Templates for external miners (getBlockTemplate), with long polling on tip and mempool changes. */

export interface BlockTemplatesOptions {
  /** templates kept (per long-poll id and recipient) */
  cacheSize?: number;
  /** templates handed out that a solved header alone can still be submitted for */
  issuedKept?: number;
  /** a long poll answers a mempool-only change once it has waited this long */
  mempoolWakeMs?: number;
}

/** What changed: the tip (a block connected or disconnected) or only the mempool. */
export type TemplateChange = "tip" | "mempool";

/** bitcoind answers a mempool-only change after 60 s; blocks here come every few seconds to minutes. */
export const DEFAULT_MEMPOOL_WAKE_MS = 5_000;

export interface BlockTemplatesDeps {
  chain: TemplateChain;
  /** the transactions to include, best first (the mempool's template selection) */
  selectTransactions: (maxTxs: number, maxBytes: number) => TransferTx[];
}

/** A template built for one recipient at one long-poll id. */
export interface BuiltTemplate {
  block: Block;
  longpollId: string;
}

/** Bytes the producer leaves free in a block besides the transfers (header, coinbase, slack). */
const BLOCK_OVERHEAD_BYTES = 1024;

/**
 * Builds templates (the miner's prepareBlock on the tip and the mempool's selection), caches them
 * by long-poll id and recipient so concurrent miners share one build, and lets a caller wait for
 * the next change. The long-poll id is `<tip hash>:<change counter>`; the composition root calls
 * `noteChange("tip")` on every block connected and every reorg (which reports each disconnect), and `noteChange("mempool")` on every
 * mempool addition or removal.
 */
export class BlockTemplates {
  private changes = 0;
  private readonly waiters = new Set<(kind: TemplateChange) => void>();
  private readonly cache = new Map<string, Promise<BuiltTemplate>>();
  private readonly cacheSize: number;
  private readonly mempoolWakeMs: number;
  /** templates handed out, by the header fields a miner may not change (see `issuedKey`) */
  private readonly issued: LruCache<string, Block>;
  private stopped = false;

  constructor(
    opts: BlockTemplatesOptions,
    private readonly deps: BlockTemplatesDeps,
  ) {
    this.cacheSize = opts.cacheSize ?? 16;
    this.mempoolWakeMs = opts.mempoolWakeMs ?? DEFAULT_MEMPOOL_WAKE_MS;
    this.issued = new LruCache(opts.issuedKept ?? 64);
  }

  /** Long polls waiting for a change now. */
  get waiting(): number {
    return this.waiters.size;
  }

  /** The current long-poll id: it changes whenever a template would differ. */
  get longpollId(): string {
    return `${this.deps.chain.tip.hashHex}:${this.changes}`;
  }

  /** A block connected or disconnected (`tip`), or the mempool changed: long polls may answer. */
  noteChange(kind: TemplateChange): void {
    this.changes++;
    this.cache.clear();
    for (const wake of [...this.waiters]) wake(kind);
  }

  /**
   * Resolves once the long-poll id differs from `longpollId` (at once if it already does): at a tip
   * change at once, at a mempool change once the call has waited `mempoolWakeMs` (so a busy mempool
   * does not make every miner rebuild a template per transaction). Also resolves after `maxWaitMs`,
   * or when the service stops. Resolves with whether the id changed.
   */
  waitForChange(longpollId: string, maxWaitMs: number): Promise<boolean> {
    if (this.stopped || longpollId !== this.longpollId)
      return Promise.resolve(longpollId !== this.longpollId);
    const startedMs = performance.now();
    return new Promise((resolve) => {
      let mempoolTimer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        clearTimeout(mempoolTimer);
        this.waiters.delete(onChange);
        resolve(longpollId !== this.longpollId);
      };
      const onChange = (kind: TemplateChange) => {
        const waitedMs = performance.now() - startedMs;
        if (kind !== "mempool" || waitedMs >= this.mempoolWakeMs) done();
        else mempoolTimer ??= setTimeout(done, this.mempoolWakeMs - waitedMs);
      };
      const timer = setTimeout(done, maxWaitMs);
      this.waiters.add(onChange);
    });
  }

  /** The template for `recipient` at the current long-poll id (built once, then shared). */
  template(recipient: Uint8Array): Promise<BuiltTemplate> {
    const longpollId = this.longpollId;
    const key = `${longpollId}/${toHex(recipient)}`;
    let built = this.cache.get(key);
    if (!built) {
      const params = this.deps.chain.networkParams;
      const txs = this.deps.selectTransactions(
        params.maxBlockTxs - 1,
        params.maxBlockBytes - BLOCK_OVERHEAD_BYTES,
      );
      built = prepareBlock(this.deps.chain, recipient, txs).then((block) => {
        this.issued.set(issuedKey(block.header), block);
        return { block, longpollId };
      });
      built.catch(() => this.cache.delete(key));
      if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, built);
    }
    return built;
  }

  /**
   * The template a solved header belongs to: one handed out lately whose header equals it in every
   * field but the two a miner may change (nonce and time). The block is the template's
   * transactions under `header`.
   */
  blockFor(header: BlockHeader): Block | undefined {
    const template = this.issued.get(issuedKey(header));
    return template ? { header, txs: template.txs } : undefined;
  }

  /** Releases every long poll (the node is stopping). */
  stop(): void {
    this.stopped = true;
    for (const wake of [...this.waiters]) wake("tip");
  }
}

/** What a miner may not change in a template's header: version, parent, both roots, bits. */
function issuedKey(h: BlockHeader): string {
  return `${h.version}:${toHex(h.prevHash)}:${toHex(h.merkleRoot)}:${toHex(h.stateRoot)}:${h.bits}`;
}
