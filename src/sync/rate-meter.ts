/** Blocks per second over a sliding window; time is injected so tests control it. */
export class RateMeter {
  private readonly samples: { at: number; count: number }[] = [];
  private since = 0;

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Starts measuring from now (a new sync round). */
  reset(): void {
    this.samples.length = 0;
    this.since = this.now();
  }

  record(count: number): void {
    this.samples.push({ at: this.now(), count });
  }

  perSecond(): number {
    const now = this.now();
    while (this.samples.length > 0 && now - this.samples[0]!.at > this.windowMs) this.samples.shift();
    const total = this.samples.reduce((sum, s) => sum + s.count, 0);
    if (total === 0) return 0;
    const span = Math.max(now - Math.max(this.since, now - this.windowMs), 1);
    return (total * 1000) / span;
  }
}
