import { LruCache } from "../util/lru.js";

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/**
 * Per-peer token buckets: each peer may relay `burst` transactions at once and `perSecond`
 * sustained. Buckets live in an LRU, so a flood of peer ids cannot grow memory; a forgotten peer
 * starts again with a full bucket, which is no more than a new peer gets.
 */
export class PeerRateLimiter {
  private readonly buckets: LruCache<string, Bucket>;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    maxPeers: number,
  ) {
    this.buckets = new LruCache(maxPeers);
  }

  /** Takes one token for `peer`; false when its bucket is empty. */
  take(peer: string, nowMs: number): boolean {
    let bucket = this.buckets.get(peer);
    if (!bucket) {
      bucket = { tokens: this.burst, updatedMs: nowMs };
      this.buckets.set(peer, bucket);
    }
    // A clock that steps back refills nothing rather than going negative.
    const elapsed = Math.max(0, nowMs - bucket.updatedMs);
    bucket.tokens = Math.min(this.burst, bucket.tokens + (elapsed * this.perSecond) / 1000);
    bucket.updatedMs = Math.max(bucket.updatedMs, nowMs);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Forgets a peer (e.g. on disconnect). */
  forget(peer: string): void {
    this.buckets.delete(peer);
  }
}
