import { type Clock, systemClock } from "../util/clock.js";
import { LruCache } from "../util/lru.js";

export interface TokenBucketOptions {
  /** most tokens a key can hold (the burst) */
  burst: number;
  /** tokens added per second */
  perSecond: number;
  /** most keys tracked; the least recently seen are forgotten (they start full again) */
  maxKeys?: number;
}

/** Token buckets per key (one per peer): `take` spends one token or says the key is over its rate. */
export class TokenBuckets {
  private readonly buckets: LruCache<string, { tokens: number; atMs: number }>;

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
    const tokens = Math.min(this.opts.burst, b.tokens + ((now - b.atMs) / 1000) * this.opts.perSecond);
    const ok = tokens >= 1;
    this.buckets.set(key, { tokens: ok ? tokens - 1 : tokens, atMs: now });
    return ok;
  }
}
