import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { waitFor } from "../../helpers/wait.js";

/** The tests' one wait helper: bounded, and its failure says what it waited for and saw. */
describe("waitFor (test/helpers/wait.ts)", () => {
  it("resolves with the check's first value other than undefined or false", async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { calls } : undefined), 5_000, "three calls", {
      intervalMs: 1,
    });
    expect(value).toEqual({ calls: 3 });
  });

  it("times out naming what it waited for, the last observation and the last error", async () => {
    let n = 0;
    const waited = waitFor(
      (note) => {
        note({ n: ++n });
        if (n % 2 === 0) throw new Error("node not up yet");
        return false;
      },
      50,
      "the impossible",
      { intervalMs: 5 },
    );
    await expect(waited).rejects.toThrow(
      /^timed out after 50 ms waiting for the impossible; last seen: \{"n":\d+\}; last error: node not up yet$/,
    );
  });

  it("re-checks at once on a wakeOn event instead of waiting for the interval", async () => {
    const events = new EventEmitter();
    let ready = false;
    const started = performance.now();
    const waited = waitFor(() => ready, 10_000, "the ready event", {
      intervalMs: 60_000,
      wakeOn: (wake) => {
        events.on("ready", wake);
        return () => events.off("ready", wake);
      },
    });
    ready = true;
    events.emit("ready");
    await waited;
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(events.listenerCount("ready")).toBe(0);
  });
});
