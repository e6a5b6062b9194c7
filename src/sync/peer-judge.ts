/**
 * Judges sync peers by what they deliver, not by what they claim. Each failure since a peer last
 * delivered (a request past its deadline, a round it anchored that raised our work by nothing)
 * is a strike: the peer is left out of sync for `baseMs · 2^(strikes−1)` (at most `maxMs`), and
 * the caller charges it more from the second strike on, so a peer that keeps failing ends banned.
 * Failures during a backoff (requests that were in flight together) are one strike.
 * A delivery (a batch that imported) clears its strikes. Strikes outlive a disconnect (a liar
 * that reconnects keeps its backoff) and are kept for at most `maxPeers` peers, the oldest
 * forgotten first.
 */
export class PeerJudge {
  private readonly strikes = new Map<string, { count: number; untilMs: number }>();

  constructor(private readonly opts: { baseMs: number; maxMs: number; maxPeers: number }) {}

  /**
   * One more failure of `peer` at `nowMs`: returns its strikes in a row, when it may serve again,
   * and whether this failure counted. Failures while it is backed off already (its other requests
   * in flight failing with it) do not count again.
   */
  strike(peer: string, nowMs: number): { count: number; untilMs: number; counted: boolean } {
    const current = this.strikes.get(peer);
    if (current && nowMs < current.untilMs) return { ...current, counted: false };
    const count = (current?.count ?? 0) + 1;
    const backoff = Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** Math.min(count - 1, 30));
    const entry = { count, untilMs: nowMs + backoff };
    this.strikes.delete(peer);
    this.strikes.set(peer, entry);
    if (this.strikes.size > this.opts.maxPeers) {
      const oldest = this.strikes.keys().next().value;
      if (oldest !== undefined) this.strikes.delete(oldest);
    }
    return { ...entry, counted: true };
  }

  /** `peer` delivered: its strikes are cleared. */
  delivered(peer: string): void {
    this.strikes.delete(peer);
  }

  /** Until when `peer` is left out of sync (0: it is not). */
  backedOffUntil(peer: string): number {
    return this.strikes.get(peer)?.untilMs ?? 0;
  }

  /** Strikes in a row of `peer`. */
  count(peer: string): number {
    return this.strikes.get(peer)?.count ?? 0;
  }
}
