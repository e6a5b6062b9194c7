import { type Clock, systemClock } from "./clock.js";
import { LruCache } from "./lru.js";

export interface TokenBucketOptions {
  /** most tokens a key can hold (the burst) */
  burst: number;
  /** tokens added per second */
  perSecond: number;
  /** most keys tracked; the least recently seen are forgotten (they start full again) */
  maxKeys?: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

/**
 * Token buckets per key (one per peer): `take` spends one token or says the key is over its rate.
 * Buckets live in an LRU, so a flood of peer ids cannot grow memory; a forgotten key starts again
 * with a full bucket, which is no more than a new peer gets. The one rate limiter of the node.
 */
export class TokenBuckets {
  private readonly buckets: LruCache<string, Bucket>;

  constructor(
    private readonly opts: TokenBucketOptions,
    private readonly clock: Clock = systemClock,
  ) {
    if (!(opts.burst >= 1) || !(opts.perSecond > 0))
      throw new RangeError("burst must be ≥ 1 and perSecond > 0");
    this.buckets = new LruCache(opts.maxKeys ?? 10_000);
  }

  /** true when `key` had a token (and spends it); false when it is over its rate */
  take(key: string): boolean {
    const now = this.clock.nowMs();
    const b = this.buckets.get(key) ?? { tokens: this.opts.burst, atMs: now };
    // A clock that steps back refills nothing rather than draining the bucket.
    const elapsedMs = Math.max(0, now - b.atMs);
    const tokens = Math.min(this.opts.burst, b.tokens + (elapsedMs / 1000) * this.opts.perSecond);
    const ok = tokens >= 1;
    this.buckets.set(key, { tokens: ok ? tokens - 1 : tokens, atMs: Math.max(b.atMs, now) });
    return ok;
  }

  /** Forgets a key (e.g. a peer that disconnected). */
  forget(key: string): void {
    this.buckets.delete(key);
  }
}
