/** How `waitFor` re-checks its condition. */
export interface WaitOptions {
  /** re-check at least this often (default 20 ms) */
  intervalMs?: number;
  /**
   * Subscribes `wake` to events after which the condition may hold (a block connected, a sync
   * round ended); returns the unsubscribe function. The condition is then re-checked at once.
   */
  wakeOn?: (wake: () => void) => () => void;
}

/**
 * THE bounded wait of the tests: resolves with the first value of `check` other than undefined or
 * false, re-checking every `intervalMs` and on every `wakeOn` event; rejects after `timeoutMs` with
 * "timed out after N ms waiting for <what>", plus the last thing `check` passed to `note` and the
 * last error it threw (a check that throws is retried: a node still starting refuses connections).
 * A deadline on a condition, never a fixed sleep.
 */
export async function waitFor<T>(
  check: (note: (seen: unknown) => void) => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
  opts: WaitOptions = {},
): Promise<T> {
  const intervalMs = opts.intervalMs ?? 20;
  const deadline = performance.now() + timeoutMs;
  let seen: { value: unknown } | undefined;
  let lastError: unknown;
  // An event that fires while `check` runs is remembered, so the next check comes at once.
  let woken = false;
  let wake: () => void = () => {
    woken = true;
  };
  const unsubscribe = opts.wakeOn?.(() => wake()) ?? (() => undefined);
  try {
    for (;;) {
      woken = false;
      try {
        const value = await check((observed) => {
          seen = { value: observed };
        });
        if (value !== undefined && value !== false) return value;
      } catch (err) {
        lastError = err;
      }
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(timeoutMessage(timeoutMs, what, seen, lastError));
      if (woken) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(intervalMs, left));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = () => {
        woken = true;
      };
    }
  } finally {
    unsubscribe();
  }
}

function timeoutMessage(
  timeoutMs: number,
  what: string,
  seen: { value: unknown } | undefined,
  lastError: unknown,
): string {
  let message = `timed out after ${timeoutMs} ms waiting for ${what}`;
  if (seen)
    message += `; last seen: ${JSON.stringify(seen.value, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))}`;
  if (lastError !== undefined) {
    message += `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
  }
  return message;
}
