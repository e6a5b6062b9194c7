import { prepareBlock, type TemplateChain } from "../miner/block-template.js";
import type { Block } from "../primitives/block.js";
import { toHex } from "../primitives/bytes.js";
import type { BlockHeader } from "../primitives/header.js";
import type { TransferTx } from "../primitives/transaction.js";
import { LruCache } from "../util/lru.js";

/** Templates for external miners (getBlockTemplate), with long polling on tip and mempool changes. */

export interface BlockTemplatesOptions {
  /** templates kept (per long-poll id and recipient) */
  cacheSize?: number;
  /** templates handed out that a solved header alone can still be submitted for */
  issuedKept?: number;
}

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
 * `noteChange()` on every block connected or disconnected and every mempool addition or removal.
 */
export class BlockTemplates {
  private changes = 0;
  private readonly waiters = new Set<() => void>();
  private readonly cache = new Map<string, Promise<BuiltTemplate>>();
  private readonly cacheSize: number;
  /** templates handed out, by the header fields a miner may not change (see `issuedKey`) */
  private readonly issued: LruCache<string, Block>;
  private stopped = false;

  constructor(
    opts: BlockTemplatesOptions,
    private readonly deps: BlockTemplatesDeps,
  ) {
    this.cacheSize = opts.cacheSize ?? 16;
    this.issued = new LruCache(opts.issuedKept ?? 64);
  }

  /** The current long-poll id: it changes whenever a template would differ. */
  get longpollId(): string {
    return `${this.deps.chain.tip.hashHex}:${this.changes}`;
  }

  /** A block connected or disconnected, or the mempool changed: wake every long poll. */
  noteChange(): void {
    this.changes++;
    this.cache.clear();
    for (const wake of [...this.waiters]) wake();
  }

  /**
   * Resolves once the long-poll id differs from `longpollId` (at once if it already does), after
   * `maxWaitMs`, or when the service stops; resolves with whether it changed.
   */
  waitForChange(longpollId: string, maxWaitMs: number): Promise<boolean> {
    if (this.stopped || longpollId !== this.longpollId)
      return Promise.resolve(longpollId !== this.longpollId);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve(longpollId !== this.longpollId);
      };
      const timer = setTimeout(done, maxWaitMs);
      this.waiters.add(done);
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
    for (const wake of [...this.waiters]) wake();
  }
}

/** What a miner may not change in a template's header: version, parent, both roots, bits. */
function issuedKey(h: BlockHeader): string {
  return `${h.version}:${toHex(h.prevHash)}:${toHex(h.merkleRoot)}:${toHex(h.stateRoot)}:${h.bits}`;
}
