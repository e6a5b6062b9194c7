/**
 * The one source of wall-clock time. Services that read the time take a `Clock` in their deps
 * (tests pass a fixed or stepping clock); consensus never reads it and gets `nowSeconds` passed in.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
}

/** Whole seconds since the Unix epoch, as block headers count time. */
export function nowSeconds(clock: Clock): number {
  return Math.floor(clock.nowMs() / 1000);
}

export const systemClock: Clock = { nowMs: () => Date.now() };

/** A clock tests move by hand. */
export interface ManualClock extends Clock {
  advanceMs(ms: number): void;
  setMs(ms: number): void;
}

export function manualClock(startMs = 0): ManualClock {
  let now = startMs;
  return {
    nowMs: () => now,
    advanceMs: (ms: number) => {
      now += ms;
    },
    setMs: (ms: number) => {
      now = ms;
    },
  };
}
